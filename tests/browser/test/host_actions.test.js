// F-CTL-2, F-WEB-2: the host's actions on one participant, in the browser:
// rename, spotlight, stop video and ask to start it (the participant
// decides), mute while self-unmute is allowed, make host, and remove (the
// new host removes the old one, who is told so; a removed guest cannot
// rejoin from the same browser).

import assert from "node:assert/strict";
import { test } from "node:test";
import { HOST, withMeetingEnv } from "../harness/meeting_env.js";

/** Clicks `action` in the host's "More" menu on `participantId`. */
async function moreMenu(p, participantId, action) {
  await p.testid(`host-more-${participantId}`).click();
  await p.testid(`host-${action}-${participantId}`).click();
}

test("host renames, spotlights, stops video and asks to start it, mutes, hands over host, and is removed by the new host", async (t) => {
  await withMeetingEnv(t, async ({ server, meeting, launch }) => {
    const hana = await launch("Hana");
    await hana.signIn(server.url, HOST);
    const hanaId = await hana.joinByLink(meeting.join_url);
    const bob = await launch("Bob");
    const bobId = await bob.joinByLink(meeting.join_url);
    await hana.waitForMediaFrom(bobId);

    // Rename: everyone sees the new name.
    await moreMenu(hana, bobId, "rename");
    await hana.testid("rename-participant-input").fill("Bobby 鲍比");
    await hana.testid("rename-participant-confirm").click();
    for (const p of [hana, bob]) {
      await p.testid(`participant-${bobId}`).getByTestId("participant-name").filter({ hasText: "Bobby 鲍比" }).waitFor({ timeout: 10_000 });
    }

    // Spotlight: Bob's tile is in focus for both.
    await moreMenu(hana, bobId, "spotlight");
    for (const p of [hana, bob]) {
      await p.page.waitForSelector(`[data-testid="tile-${bobId}"][data-spotlight="true"]`, { timeout: 10_000 });
      assert.equal(await p.testid(`tile-${hanaId}`).getAttribute("data-spotlight"), "false");
    }

    // Stop video: Bob's camera goes off and his video stops reaching Hana.
    await moreMenu(hana, bobId, "video");
    await bob.page.waitForSelector('[data-testid="toggle-video"][data-enabled="false"]', { timeout: 10_000 });
    await hana.waitForStill(bobId, "video", { quietMs: 2000 });

    // Ask to start video: Bob is asked and accepts; video flows again.
    assert.match(await hana.testid(`host-video-${bobId}`).textContent(), /Ask to start video/, "the menu offers to ask, not to stop");
    await moreMenu(hana, bobId, "video");
    const request = bob.testid("start-video-request");
    await request.waitFor({ timeout: 10_000 });
    await request.getByRole("button", { name: /Start video/ }).click();
    await hana.page.waitForSelector(`[data-testid="tile-${bobId}"][data-video-enabled="true"]`, { timeout: 10_000 });
    await hana.waitForGrowth(bobId, "video");

    // Mute one participant while self-unmute is allowed: Bob may unmute himself.
    await hana.page.getByRole("button", { name: /^Mute Bobby/ }).click();
    await bob.page.waitForSelector('[data-testid="toggle-audio"][data-muted="true"]', { timeout: 10_000 });
    assert.equal(await bob.testid("toggle-audio").isDisabled(), false, "self-unmute is allowed");
    await bob.testid("toggle-audio").click();
    await hana.page.waitForSelector(`[data-testid="tile-${bobId}"][data-audio-muted="false"]`, { timeout: 10_000 });

    // Make host: the roles swap, and so do the host controls.
    await moreMenu(hana, bobId, "make_host");
    await hana.testid("confirm-make-host-confirm").click();
    await bob.testid("host-panel").waitFor({ state: "visible", timeout: 10_000 });
    await hana.testid("host-panel").waitFor({ state: "hidden", timeout: 10_000 });
    assert.equal(await hana.testid("end-meeting").isVisible(), false, "Hana no longer ends the meeting for all");
    assert.equal(await hana.testid(`host-more-${bobId}`).count(), 0, "Hana no longer has host actions");

    // The new host removes Hana, who is told so.
    await moreMenu(bob, hanaId, "remove");
    await bob.testid("confirm-remove-confirm").click();
    const removed = hana.testid("meeting-removed");
    await removed.waitFor({ timeout: 10_000 });
    assert.match(await removed.innerText(), /removed you/i);
    assert.equal(await hana.page.evaluate(() => window.yunhui.state), "removed");
    await bob.testid(`participant-${hanaId}`).waitFor({ state: "detached", timeout: 10_000 });
    assert.equal(await server.waitForMetric("yunhui_sfu_participants", (v) => v === 1), 1, "the SFU let Hana go");

    // A removed guest cannot come back from the same browser.
    const cleo = await launch("Cleo");
    const cleoId = await cleo.joinByLink(meeting.join_url);
    await moreMenu(bob, cleoId, "remove");
    await bob.testid("confirm-remove-confirm").click();
    await cleo.testid("meeting-removed").waitFor({ timeout: 10_000 });
    await cleo.askToJoinByLink(meeting.join_url);
    const refusal = cleo.testid("join-error");
    await refusal.filter({ hasText: /\S/ }).waitFor({ timeout: 10_000 });
    assert.match(await refusal.innerText(), /did not let you in/i);
    assert.equal(await cleo.page.evaluate(() => window.yunhui.state), "join", "Cleo stays on the join page");
  });
});
