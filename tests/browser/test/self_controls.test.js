// F-CTL-8: mute and camera off stop what the others receive, and tiles say so.

import assert from "node:assert/strict";
import { test } from "node:test";
import { withMeetingEnv } from "../harness/meeting_env.js";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const SETTLE_MS = 1000;
const GAP_MS = 2000;

/** Two samples GAP_MS apart, after a short settle. */
async function samplePair(receiver, publisherId) {
  await sleep(SETTLE_MS);
  const before = await receiver.inboundFrom(publisherId);
  await sleep(GAP_MS);
  return [before, await receiver.inboundFrom(publisherId)];
}

test("mute and camera off in one browser stop that media in the other", async (t) => {
  await withMeetingEnv(t, async ({ meeting, launch }) => {
    const alice = await launch("Alice");
    const bob = await launch("Bob");
    const aliceId = await alice.joinByLink(meeting.join_url);
    await bob.joinByLink(meeting.join_url);
    await bob.waitJoined();
    await bob.waitForMediaFrom(aliceId);
    const aliceTileAtBob = bob.testid(`tile-${aliceId}`);
    assert.equal(await aliceTileAtBob.getAttribute("data-audio-muted"), "false");
    assert.equal(await aliceTileAtBob.getAttribute("data-video-enabled"), "true");

    // Mute: Bob's tile for Alice says so and her audio stops arriving; video goes on.
    await alice.testid("toggle-audio").click();
    await bob.page.waitForSelector(`[data-testid="tile-${aliceId}"][data-audio-muted="true"]`, { timeout: 5000 });
    let [before, after] = await samplePair(bob, aliceId);
    assert.equal(after.audio.bytesReceived, before.audio.bytesReceived, "muted audio must not reach Bob");
    assert.ok(after.video.bytesReceived > before.video.bytesReceived, "video still flows while muted");
    assert.equal(await alice.testid(`tile-${aliceId}`).getAttribute("data-audio-muted"), "true", "Alice's own tile shows muted");

    // Camera off: the tile says so and video stops arriving.
    await alice.testid("toggle-video").click();
    await bob.page.waitForSelector(`[data-testid="tile-${aliceId}"][data-video-enabled="false"]`, { timeout: 5000 });
    [before, after] = await samplePair(bob, aliceId);
    assert.equal(after.video.bytesReceived, before.video.bytesReceived, "disabled video must not reach Bob");
    assert.equal(after.video.framesDecoded, before.video.framesDecoded, "no frames decoded while camera off");

    // Unmute and camera on: both flow again.
    await alice.testid("toggle-audio").click();
    await alice.testid("toggle-video").click();
    await bob.page.waitForSelector(
      `[data-testid="tile-${aliceId}"][data-audio-muted="false"][data-video-enabled="true"]`,
      { timeout: 5000 },
    );
    [before, after] = await samplePair(bob, aliceId);
    assert.ok(after.audio.bytesReceived > before.audio.bytesReceived, "audio flows again after unmute");
    assert.ok(after.video.framesDecoded > before.video.framesDecoded, "video decodes again after camera on");
  });
});
