// F-CTL-9 (manual 3.7): a meeting-room terminal. With "Room mode" chosen on
// the join page the meeting opens in speaker view, the view is chosen from a
// list, and the host's recording buttons are gone. With 49 in the meeting
// its gallery shows 25 per screen, or all 49 tiles once set to 49. Its View
// tab also sets a custom view: the second participant moved
// first, one per screen, rotating every 5 s. The terminal then shows and
// receives only the participant on screen, and the screens go round.

import assert from "node:assert/strict";
import { test } from "node:test";
import { HOST, withMeetingEnv } from "../harness/meeting_env.js";

/** Participants joined beside the three browsers to fill the gallery to 49. */
const CROWD = 46;

/**
 * Runs in a page: `count` participants join meeting `number` over signaling
 * only (no media), and stay until `window.crowd`'s sockets close; resolves
 * their participant ids.
 */
function joinCrowd({ number, linkKey, count }) {
  window.crowd = [];
  return Promise.all(
    Array.from(
      { length: count },
      (_, i) =>
        new Promise((resolve, reject) => {
          const socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/v1/signal`);
          window.crowd.push(socket);
          socket.onmessage = (event) => {
            const message = JSON.parse(event.data);
            if (message.type === "hello") socket.send(JSON.stringify({ type: "join", meeting_number: number, display_name: `Guest ${i + 1}`, link_key: linkKey }));
            else if (message.type === "joined") resolve(message.participant_id);
            else if (message.type === "error") reject(new Error(`${message.code}: ${message.message}`));
          };
          socket.onerror = () => reject(new Error("a crowd socket failed"));
        }),
    ),
  );
}

async function layout(p) {
  return p.page.evaluate(() => window.yunhui.layout);
}

/** Waits until the terminal's screen shows exactly `ids`; returns when that happened. */
async function waitShown(p, ids, timeout = 15_000) {
  await p.page.waitForFunction((want) => JSON.stringify(window.yunhui.layout?.shown) === JSON.stringify(want), ids, { timeout });
  return Date.now();
}

test("room mode: speaker view first, no recording, a custom view in a fixed order that rotates", async (t) => {
  await withMeetingEnv(t, async ({ server, meeting, launch }) => {
    const ann = await launch("Ann");
    const annId = await ann.joinByLink(meeting.join_url);
    const bob = await launch("Bob");
    const bobId = await bob.joinByLink(meeting.join_url);

    // The terminal is signed in as the meeting's host account and chooses room mode.
    const room = await launch("Room 301 会议室");
    await room.signIn(server.url, HOST);
    await room.page.goto(meeting.join_url);
    await room.testid("room-mode").check();
    await room.testid("display-name").fill("Room 301 会议室");
    await room.testid("join-button").click();
    const roomId = await room.waitJoined();
    await room.testid(`tile-${bobId}`).waitFor({ timeout: 10_000 });

    let now = await layout(room);
    assert.equal(now.roomMode, true);
    assert.equal(now.mode, "speaker", "room mode opens in speaker view");
    assert.equal(await room.testid("layout-toggle").isVisible(), false, "the view is chosen from a list instead");
    assert.equal(await room.testid("layout-select").inputValue(), "speaker");
    await room.testid(`host-more-${annId}`).waitFor({ state: "attached" });
    assert.equal(await room.testid("recording-controls").isVisible(), false, "a terminal records nothing, even as host");

    // 46 more join (signaling only, from Ann's page): 49 in all. The gallery
    // shows 25 per screen, then, set to 49, all 49 tiles on one screen.
    const crowd = await ann.page.evaluate(joinCrowd, { number: meeting.number, linkKey: new URL(meeting.join_url).searchParams.get("k"), count: CROWD });
    assert.equal(crowd.length, CROWD);
    await room.page.waitForFunction((n) => window.yunhui.participants.length === n, CROWD + 3, { timeout: 20_000 });
    await room.testid("layout-select").selectOption("gallery");
    now = await layout(room);
    assert.deepEqual([now.mode, now.pages, now.shown.length], ["gallery", 2, 25]);
    await room.testid("tab-view").click();
    await room.testid("view-page-size").selectOption("49");
    now = await layout(room);
    assert.deepEqual([now.pages, now.shown.length], [1, 49]);
    assert.deepEqual([...now.shown].sort(), [annId, bobId, roomId, ...crowd].sort());
    const tiles = room.page.locator('[data-testid^="tile-"][data-size="tile"]');
    assert.equal(await tiles.count(), 49);
    assert.equal((await tiles.evaluateAll((all) => all.filter((el) => el.getBoundingClientRect().width > 0).length)), 49, "every tile is drawn");
    assert.equal(await room.testid("gallery").evaluate((el) => getComputedStyle(el).getPropertyValue("--columns").trim()), "7");
    await ann.page.evaluate(() => window.crowd.forEach((socket) => socket.close()));
    await room.page.waitForFunction(() => window.yunhui.layout.shown.length === 3, null, { timeout: 20_000 });

    // Custom view, one per screen: whoever comes second is moved first, and the screens rotate every 5 s.
    await room.testid("view-per-screen").selectOption("1");
    await room.testid("view-rotation").selectOption("0");
    await room.testid("layout-select").selectOption("custom");
    await room.page.waitForFunction(() => window.yunhui.layout?.mode === "custom" && window.yunhui.layout.shown.length === 1);
    const [first] = (await layout(room)).shown;
    assert.ok([annId, bobId].includes(first), "the terminal does not show itself");
    assert.equal(await room.testid(`view-order-${roomId}`).count(), 0, "nor list itself");
    const second = first === annId ? bobId : annId;
    await room.testid(`view-up-${second}`).click();
    await waitShown(room, [second]);
    assert.deepEqual(
      await room.page.evaluate(() => window.yunhui.videoSubscriptions),
      [{ participant_id: second, quality: "high" }],
      "only the participant on screen is received, in full",
    );
    assert.equal(await room.testid(`tile-${second}`).getAttribute("data-size"), "main");
    await room.waitForMediaFrom(second);

    await room.testid("view-rotation").selectOption("5");
    const firstShown = await waitShown(room, [first]);
    await room.page.waitForFunction(
      (id) => JSON.stringify(window.yunhui.videoSubscriptions) === JSON.stringify([{ participant_id: id, quality: "high" }]),
      first,
    );
    const secondAgain = await waitShown(room, [second]);
    const gap = (secondAgain - firstShown) / 1000;
    assert.ok(gap >= 3, `the screens rotate on their own, not at once (next screen after ${gap} s)`);

    // The terminal keeps its settings for the next meeting.
    const kept = await room.page.evaluate(() => JSON.parse(localStorage.getItem("yunhui.roomView")));
    assert.deepEqual(kept, { pageSize: 49, perScreen: 1, rotationSeconds: 5 });
  });
});
