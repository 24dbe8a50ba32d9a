// Issue 11 (F-OPS-2): the server holding a meeting goes away — killed, as a
// crashed process or a lost pod — and comes back. The pages say they are
// reconnecting, join again on their own, keep the microphone as the user
// left it, and media flows again; nobody clicks anything.

import assert from "node:assert/strict";
import { test } from "node:test";
import { withMeetingEnv } from "../harness/meeting_env.js";

/** Waits until `p` is in the meeting again under a new participant id. */
async function rejoined(p, before) {
  await p.page.waitForFunction(
    (old) => window.yunhui?.state === "joined" && !!window.yunhui.participantId && window.yunhui.participantId !== old,
    before,
    { timeout: 60_000 },
  );
  return p.page.evaluate(() => window.yunhui.participantId);
}

test("pages join again on their own after the server went away, and media flows again", async (t) => {
  await withMeetingEnv(t, async ({ server, meeting, launch }) => {
    const alice = await launch("Alice");
    const bob = await launch("Bob");
    const aliceId = await alice.joinByLink(meeting.join_url);
    const bobId = await bob.joinByLink(meeting.join_url);
    await bob.waitForMediaFrom(aliceId);
    await alice.waitForMediaFrom(bobId);
    // Alice mutes before the outage.
    await alice.testid("toggle-audio").click();
    await bob.page.waitForSelector(`[data-testid="tile-${aliceId}"][data-audio-muted="true"]`, { timeout: 5000 });

    await server.crash();
    for (const p of [alice, bob]) {
      await p.testid("meeting-reconnecting").waitFor({ timeout: 10_000 });
      assert.equal(await p.page.evaluate(() => window.yunhui.state), "reconnecting", `${p.name} reconnects`);
    }
    await server.restart();

    const newAlice = await rejoined(alice, aliceId);
    const newBob = await rejoined(bob, bobId);
    // Media both ways again: Bob's audio and video at Alice, Alice's video at
    // Bob (her microphone stays muted, as she left it).
    await alice.waitForMediaFrom(newBob);
    await bob.waitForGrowth(newAlice, "video");
    await bob.page.waitForSelector(`[data-testid="tile-${newAlice}"][data-audio-muted="true"]`, { timeout: 10_000 });
    assert.equal(await alice.testid(`tile-${newAlice}`).getAttribute("data-audio-muted"), "true", "Alice's own tile shows muted");
    // The old participants are gone from both lists.
    for (const p of [alice, bob]) {
      const ids = await p.page.evaluate(() => window.yunhui.participants.map((x) => x.id));
      assert.deepEqual(ids.sort(), [newAlice, newBob].sort(), `${p.name}'s participant list`);
    }
  });
});
