// F-CTL-3, F-WEB-2: the host mutes everyone without allowing self-unmute. The
// participant's unmute control is disabled and their audio stops reaching the
// host (the SFU stops forwarding it); "Unmute all" asks, the participant
// accepts in a dialog, and the audio flows again.

import assert from "node:assert/strict";
import { test } from "node:test";
import { HOST, withMeetingEnv } from "../harness/meeting_env.js";

test("mute all without self-unmute disables the participant's unmute and stops their audio; unmute all asks first", async (t) => {
  await withMeetingEnv(t, async ({ server, meeting, launch }) => {
    const host = await launch("Hana");
    await host.signIn(server.url, HOST);
    const hostId = await host.joinByLink(meeting.join_url);
    const bob = await launch("Bob");
    const bobId = await bob.joinByLink(meeting.join_url);
    const roles = await host.page.evaluate(() => Object.fromEntries(window.yunhui.participants.map((p) => [p.id, p.role])));
    assert.deepEqual(roles, { [hostId]: "host", [bobId]: "participant" });
    await host.waitForMediaFrom(bobId);

    // Only the host has the host panel.
    assert.ok(await host.testid("host-panel").isVisible(), "the host sees the host panel");
    assert.equal(await bob.testid("host-panel").isVisible(), false, "a participant does not");

    // Mute all, self-unmute not allowed.
    const allowUnmute = host.testid("mute-all-allow-unmute");
    await allowUnmute.uncheck();
    await host.page.getByRole("button", { name: /Mute all/ }).click();

    const bobAudio = bob.testid("toggle-audio");
    await bob.page.waitForSelector('[data-testid="toggle-audio"][data-muted="true"]', { timeout: 10_000 });
    assert.ok(await bobAudio.isDisabled(), "Bob's unmute control is disabled");
    assert.match((await bobAudio.getAttribute("title")) ?? "", /host/i, "the disabled control says why");
    await host.page.waitForSelector(`[data-testid="participant-${bobId}"][data-audio-locked="true"]`, { timeout: 5000 });
    assert.equal(await host.testid(`tile-${bobId}`).getAttribute("data-audio-muted"), "true", "Bob's tile at the host shows muted");
    const hostSelf = await host.page.evaluate(() => window.yunhui.participants.find((p) => p.id === window.yunhui.participantId));
    assert.equal(hostSelf.audio_muted, false, "mute all leaves the host's own microphone alone");

    // Bob's audio no longer reaches the host; his video still does.
    const [quietFrom, quietTo] = await host.waitForStill(bobId, "audio", { quietMs: 2500 });
    assert.equal(quietTo.audio.bytesReceived, quietFrom.audio.bytesReceived, "muted audio must not reach the host");
    assert.ok(quietTo.video.bytesReceived > quietFrom.video.bytesReceived, "video still flows while muted");

    // Unmute all asks Bob; nothing is opened until he accepts.
    await host.page.getByRole("button", { name: /Unmute all/ }).click();
    const request = bob.testid("unmute-request");
    await request.waitFor({ timeout: 10_000 });
    assert.equal(await bobAudio.isDisabled(), false, "the host lifted the lock: Bob may unmute");
    assert.equal(await host.testid(`tile-${bobId}`).getAttribute("data-audio-muted"), "true", "still muted until Bob accepts");
    await request.getByRole("button", { name: /^Unmute/ }).click();
    await request.waitFor({ state: "detached", timeout: 5000 });

    await host.page.waitForSelector(`[data-testid="tile-${bobId}"][data-audio-muted="false"]`, { timeout: 10_000 });
    const [before, after] = await host.waitForGrowth(bobId, "audio", { gapMs: 1500 });
    assert.ok(after.audio.bytesReceived > before.audio.bytesReceived, "audio flows again after Bob accepted");
    assert.equal(await bob.testid("toggle-audio").getAttribute("data-muted"), "false");
  });
});
