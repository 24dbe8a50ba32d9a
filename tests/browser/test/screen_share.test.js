// F-CTL-6: a participant shares their screen (Chromium's fake capture): the
// screen replaces the camera on the same sender, the host's list and tile say
// who shares, the video keeps arriving, and nobody else may share meanwhile.

import assert from "node:assert/strict";
import { test } from "node:test";
import { HOST, withMeetingEnv } from "../harness/meeting_env.js";

/** Label of the track `p` currently sends as video ("screen:…" while sharing). */
function sentVideoLabel(p) {
  return p.page.evaluate(() => {
    const sender = window.yunhui.publisherPc.getSenders().find((s) => s.track?.kind === "video");
    return sender?.track?.label ?? null;
  });
}

test("screen sharing replaces the camera, is shown to the host, and is one at a time", async (t) => {
  await withMeetingEnv(t, async ({ server, meeting, launch }) => {
    const host = await launch("Hana");
    await host.signIn(server.url, HOST);
    await host.joinByLink(meeting.join_url);
    const alice = await launch("Alice");
    const aliceId = await alice.joinByLink(meeting.join_url);
    await host.waitForMediaFrom(aliceId);
    assert.doesNotMatch((await sentVideoLabel(alice)) ?? "", /^screen/, "the camera is sent before sharing");

    await alice.page.getByRole("button", { name: /Share screen/ }).click();
    await host.page.waitForSelector(`[data-testid="participant-${aliceId}"][data-sharing-screen="true"]`, { timeout: 10_000 });
    assert.equal(await host.testid(`tile-${aliceId}`).getAttribute("data-sharing-screen"), "true");
    assert.equal(await host.testid(`tile-${aliceId}`).getAttribute("data-size"), "main", "a shared screen is the main picture");
    assert.equal(await alice.testid(`tile-${aliceId}`).getAttribute("data-size"), "tile", "the sharer's own screen is not");
    assert.match((await sentVideoLabel(alice)) ?? "", /^screen/, "the screen replaced the camera");
    await host.waitForGrowth(aliceId, "video");
    assert.equal(await alice.testid("toggle-share").getAttribute("aria-pressed"), "true");

    // One sharer at a time: the host's attempt is refused with a notice.
    await host.testid("toggle-share").click();
    await host.testid("meeting-notice").filter({ hasText: /is sharing/ }).waitFor({ timeout: 5000 });
    assert.doesNotMatch((await sentVideoLabel(host)) ?? "", /^screen/, "the host still sends the camera");

    await alice.page.getByRole("button", { name: /Stop sharing/ }).click();
    await host.page.waitForSelector(`[data-testid="participant-${aliceId}"][data-sharing-screen="false"]`, { timeout: 10_000 });
    assert.equal(await host.testid(`tile-${aliceId}`).getAttribute("data-size"), "tile", "back in the gallery after sharing");
    assert.doesNotMatch((await sentVideoLabel(alice)) ?? "", /^screen/, "the camera is back");
    await host.waitForGrowth(aliceId, "video");
  });
});
