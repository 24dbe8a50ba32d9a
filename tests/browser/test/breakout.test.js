// F-BRK-1, F-WEB-1, F-WEB-2: breakout rooms in real Chromium. The host and
// three participants; the host creates two rooms with manual assignment
// from the Breakouts tab, puts Alice and Bob in the first and Carol in the
// second, and opens them. Each page shows only its room's tiles and
// receives audio only from its room (the host, alone in the main room,
// from nobody). The host visits the second room and is received there
// only; Alice asks for help and the host sees it; a broadcast reaches every
// room. The host sets a 3 s countdown and closes: the countdown shows while
// everyone is still in their room, then everyone is back in the main room,
// sees and receives everyone again. Opened again without moving anyone
// and with returning allowed, Alice joins her room herself ("Join my
// room") and returns; all of it on the same subscriber connections.

import assert from "node:assert/strict";
import { test } from "node:test";
import { HOST, withMeetingEnv } from "../harness/meeting_env.js";

/** The participant ids whose tiles `p` shows, sorted. */
function shownTiles(p) {
  return p.page.evaluate(() =>
    [...document.querySelectorAll('[data-testid^="tile-"]:not([hidden])')]
      .map((el) => el.getAttribute("data-participant-id"))
      .filter(Boolean)
      .sort(),
  );
}

const sorted = (ids) => [...ids].sort();
const same = (a, b) => JSON.stringify(a) === JSON.stringify(sorted(b));

/** Waits until `p` shows exactly `ids`' tiles and receives audio from exactly `from`. */
async function seesAndHears(p, ids, from) {
  await p.eventually(`showing the tiles of ${ids}`, () => shownTiles(p), (shown) => same(shown, ids));
  await p.eventually(`receiving audio from ${from}`, () => p.receivingFrom("audio"), (got) => same(got, from), { timeoutMs: 25_000 });
}

test("breakout rooms: rooms separate what is seen and heard; the host visits, is asked for help, broadcasts and closes with a countdown", async (t) => {
  await withMeetingEnv(t, async ({ server, meeting, launch }) => {
    const hana = await launch("Hana");
    await hana.signIn(server.url, HOST);
    const hanaId = await hana.joinByLink(meeting.join_url);
    const alice = await launch("Alice");
    const aliceId = await alice.joinByLink(meeting.join_url);
    const bob = await launch("Bob");
    const bobId = await bob.joinByLink(meeting.join_url);
    const carol = await launch("Carol");
    const carolId = await carol.joinByLink(meeting.join_url);
    const everyone = [hana, alice, bob, carol];
    const ids = [hanaId, aliceId, bobId, carolId];
    for (const p of everyone) await p.testid("toggle-video").click();

    // Everyone in the main room sees and hears everyone.
    for (const [i, p] of everyone.entries()) await seesAndHears(p, ids, ids.filter((_, j) => j !== i));
    const connections = {};
    for (const p of everyone) {
      connections[p.name] = await p.page.evaluate(() => {
        window.subscriberPcAtStart = window.yunhui.subscriberPc;
        return window.yunhui.subscriberPcId;
      });
      assert.ok(connections[p.name], `${p.name} has a subscriber connection id`);
    }

    // Only the host manages breakout rooms.
    assert.equal(await alice.testid("tab-breakouts").isVisible(), false);
    await hana.testid("tab-breakouts").click();
    await hana.testid("breakout-count").fill("2");
    await hana.testid("breakout-assignment").selectOption("manual");
    await hana.testid("breakout-create").click();
    const rooms = await hana.eventually(
      "two rooms created",
      () => hana.page.evaluate(() => window.yunhui.breakouts),
      (b) => b?.rooms.length === 2 && b.assignment === "manual" && !b.open,
    );
    const [first, second] = rooms.rooms.map((r) => r.id);
    await hana.testid(`breakout-room-${first}`).waitFor({ timeout: 10_000 });

    // Rename the second room, and assign by hand.
    await hana.testid(`breakout-rename-${second}`).click();
    await hana.testid("rename-breakout-input").fill("Design 设计");
    await hana.testid("rename-breakout-confirm").click();
    await hana.testid(`breakout-room-${second}`).getByTestId("breakout-room-title").filter({ hasText: "Design 设计" }).waitFor({ timeout: 10_000 });
    await hana.testid(`breakout-assign-${aliceId}`).selectOption(first);
    await hana.page.waitForSelector(`[data-testid="breakout-room-${first}"][data-assigned="1"]`, { timeout: 10_000 });
    await hana.testid(`breakout-assign-${bobId}`).selectOption(first);
    await hana.page.waitForSelector(`[data-testid="breakout-room-${first}"][data-assigned="2"]`, { timeout: 10_000 });
    await hana.testid(`breakout-assign-${carolId}`).selectOption(second);
    await hana.page.waitForSelector(`[data-testid="breakout-room-${second}"][data-assigned="1"]`, { timeout: 10_000 });
    assert.equal(await hana.testid(`breakout-assign-${hanaId}`).count(), 0, "the host is not assigned");
    // Nobody moved before opening.
    assert.equal(await alice.testid("breakout-banner").isVisible(), false, "no banner before the rooms open");

    // Open: everyone assigned moves into their room at once (auto move is the default).
    await hana.testid("breakouts-open").click();
    for (const [p, room] of [[alice, first], [bob, first], [carol, second]]) {
      await p.page.waitForSelector(`[data-testid="breakout-banner"][data-room="${room}"]`, { timeout: 10_000 });
    }
    assert.match(await carol.testid("breakout-room-name").textContent(), /Design 设计/);
    assert.equal(await alice.testid("breakout-return").count(), 0, "returning early was not allowed");
    assert.equal(await alice.testid("breakout-join-mine").count(), 0, "already in her room");
    await seesAndHears(alice, [aliceId, bobId], [bobId]);
    await seesAndHears(bob, [aliceId, bobId], [aliceId]);
    await seesAndHears(carol, [carolId], []);
    await seesAndHears(hana, [hanaId], []);
    await alice.eventually("Bob's sound, and nobody else's", () => alice.heardEnergy(), (e) => e[bobId] > 0 && !(e[carolId] > 0) && !(e[hanaId] > 0));

    // The host visits Carol's room: received there only.
    await hana.testid(`breakout-visit-${second}`).click();
    await hana.page.waitForSelector(`[data-testid="breakout-banner"][data-room="${second}"]`, { timeout: 10_000 });
    await seesAndHears(hana, [hanaId, carolId], [carolId]);
    await seesAndHears(carol, [hanaId, carolId], [hanaId]);
    await seesAndHears(alice, [aliceId, bobId], [bobId]);
    await carol.eventually("the host's sound in Design", () => carol.heardEnergy(), (e) => e[hanaId] > 0);

    // Alice asks for help; the host sees it, with her room.
    await alice.testid("breakout-ask-help").click();
    await hana.testid(`help-${aliceId}`).waitFor({ timeout: 10_000 });
    assert.match(await hana.testid(`help-${aliceId}`).textContent(), /Alice asks for help in Room 1/);
    assert.equal(await hana.testid("help-count").textContent(), "1", "the Breakouts tab counts the request");

    // A broadcast reaches every room.
    await hana.testid("breakout-broadcast-input").fill("Five minutes left 还剩五分钟");
    await hana.testid("breakout-broadcast-send").click();
    for (const p of [alice, bob, carol]) {
      await p.testid("breakout-broadcast-text").filter({ hasText: "Five minutes left 还剩五分钟" }).waitFor({ timeout: 10_000 });
    }

    // The host leaves Carol's room, sets a 3 s countdown and closes.
    await hana.testid("breakout-leave").click();
    await hana.page.waitForSelector('[data-testid="breakout-banner"][data-room="main"]', { state: "attached", timeout: 10_000 });
    await seesAndHears(carol, [carolId], []);
    await hana.testid("breakout-countdown-seconds").fill("3");
    await hana.testid("breakout-options-save").click();
    await hana.eventually("countdown set", () => hana.page.evaluate(() => window.yunhui.breakouts.options.countdown_seconds), (s) => s === 3);
    await hana.testid("breakouts-close").click();

    // The countdown shows while everyone is still in their room...
    const countdown = alice.page.locator('[data-testid="breakout-countdown"]:not([hidden])');
    await countdown.waitFor({ timeout: 5_000 });
    const seconds = Number(await countdown.getAttribute("data-seconds"));
    assert.ok(seconds >= 0 && seconds <= 3, `counting down from 3: ${seconds}`);
    assert.match(await countdown.textContent(), /Rooms close in 0:0[0-3]/);
    assert.equal(await alice.testid("breakout-banner").getAttribute("data-room"), first, "still in her room during the countdown");
    await carol.page.locator('[data-testid="breakout-countdown"]:not([hidden])').waitFor({ timeout: 5_000 });

    // ...then everyone is back in the main room, sees and hears everyone.
    for (const p of [alice, bob, carol]) {
      await p.page.waitForSelector('[data-testid="breakout-banner"][data-room="main"]', { state: "attached", timeout: 10_000 });
    }
    const closed = await hana.page.evaluate(() => window.yunhui.breakouts);
    assert.equal(closed.open, false);
    assert.equal(closed.closing_at_ms, undefined);
    for (const [i, p] of everyone.entries()) await seesAndHears(p, ids, ids.filter((_, j) => j !== i));

    // Opened again without moving anyone, returning allowed: Alice joins her room herself and returns.
    await hana.testid("breakout-auto-move").uncheck();
    await hana.testid("breakout-allow-return").check();
    await hana.testid("breakout-options-save").click();
    await hana.eventually(
      "options saved",
      () => hana.page.evaluate(() => window.yunhui.breakouts.options),
      (o) => o.auto_move === false && o.allow_return === true,
    );
    await hana.testid("breakouts-open").click();
    await alice.testid("breakout-join-mine").waitFor({ timeout: 10_000 });
    assert.equal(await alice.testid("breakout-banner").getAttribute("data-room"), "main", "not moved on opening");
    await alice.testid("breakout-join-mine").click();
    await alice.page.waitForSelector(`[data-testid="breakout-banner"][data-room="${first}"]`, { timeout: 10_000 });
    await seesAndHears(alice, [aliceId], []);
    await seesAndHears(bob, [hanaId, bobId, carolId], [hanaId, carolId]);
    await alice.testid("breakout-return").click();
    await alice.page.waitForSelector('[data-testid="breakout-banner"][data-room="main"]', { timeout: 10_000 });
    await seesAndHears(alice, ids, [hanaId, bobId, carolId]);
    await hana.testid("breakout-countdown-seconds").fill("0");
    await hana.testid("breakout-options-save").click();
    await hana.eventually("countdown off", () => hana.page.evaluate(() => window.yunhui.breakouts.options.countdown_seconds), (s) => s === 0);
    await hana.testid("breakouts-close").click();
    await hana.eventually("closed at once", () => hana.page.evaluate(() => window.yunhui.breakouts.open), (open) => open === false, { timeoutMs: 5_000 });

    // Tracks changed, the subscriber connections did not.
    for (const p of everyone) {
      const still = await p.page.evaluate(() => ({ id: window.yunhui.subscriberPcId, same: window.yunhui.subscriberPc === window.subscriberPcAtStart, state: window.yunhui.subscriberPc.connectionState }));
      assert.deepEqual(still, { id: connections[p.name], same: true, state: "connected" }, `${p.name}'s subscriber connection`);
    }
  });
});
