// F-CTL-4, F-WEB-2: a meeting with a waiting room. A guest waits on the
// waiting screen, the host sees them in the waiting list and admits them,
// and both see each other's video. A second guest is turned away and told
// so; after the host locks the meeting, trying again is refused as locked.
// A meeting that waits for its host lets a guest in when the host arrives.

import assert from "node:assert/strict";
import { test } from "node:test";
import { HOST, withMeetingEnv } from "../harness/meeting_env.js";

test("waiting room: admit one guest into the meeting, deny another; a locked meeting refuses joins", async (t) => {
  await withMeetingEnv(
    t,
    async ({ server, meeting, launch }) => {
      assert.equal(meeting.options.waiting_room, true, "the meeting was created with a waiting room");
      const host = await launch("Hana");
      await host.signIn(server.url, HOST);
      const hostId = await host.joinByLink(meeting.join_url);

      // The guest is put on hold and sees why.
      const gina = await launch("Gina 吉娜");
      await gina.askToJoinByLink(meeting.join_url);
      assert.equal(await gina.waitWaiting(), "waiting_room");
      const waitingScreen = gina.testid("waiting-room");
      assert.match(await waitingScreen.innerText(), /waiting room|等候室/i, "the screen names the waiting room");
      assert.match(await gina.testid("waiting-topic").innerText(), /E2E weekly sync/);
      assert.equal(await gina.testid("meeting-room").count(), 0, "not in the meeting yet");
      const ginaWaitingId = gina.serverFrames.find((f) => f.type === "waiting")?.participant_id;
      assert.ok(ginaWaitingId, "the server sent `waiting`");

      // The host sees her in the waiting list and admits her.
      const entry = host.testid(`waiting-${ginaWaitingId}`);
      await entry.waitFor({ timeout: 10_000 });
      assert.match(await entry.innerText(), /Gina/);
      await host.page.getByRole("button", { name: /Admit Gina/ }).click();

      const ginaId = await gina.waitJoined();
      assert.equal(ginaId, ginaWaitingId, "the waiting id becomes the participant id");
      await entry.waitFor({ state: "detached", timeout: 5000 });
      assert.equal(await host.testid("waiting-section").isVisible(), false, "nobody waits any more");
      await gina.waitForMediaFrom(hostId);
      await host.waitForMediaFrom(ginaId);

      // A second guest is turned away with a clear message.
      const dave = await launch("Dave");
      await dave.askToJoinByLink(meeting.join_url);
      await dave.waitWaiting();
      const daveWaitingId = dave.serverFrames.find((f) => f.type === "waiting")?.participant_id;
      await host.testid(`waiting-${daveWaitingId}`).waitFor({ timeout: 10_000 });
      await host.page.getByRole("button", { name: /Deny Dave/ }).click();
      const denied = dave.testid("entry-denied");
      await denied.waitFor({ timeout: 10_000 });
      assert.match(await denied.innerText(), /did not let you in/i);
      assert.equal(await dave.page.evaluate(() => window.yunhui.state), "denied");
      const errors = dave.serverFrames.filter((f) => f.type === "error").map((f) => f.code);
      assert.deepEqual(errors, ["entry_denied"]);
      assert.ok(!dave.serverFrames.some((f) => f.type === "joined"), "Dave never joined");
      assert.equal(await server.metric("yunhui_sfu_participants"), 2, "the SFU holds the host and Gina only");

      // The host locks the meeting: Dave's next try is refused as locked.
      await host.testid("security-toggle").click();
      await host.testid("option-locked").check();
      await host.testid("locked-badge").waitFor({ timeout: 5000 });
      await dave.askToJoinByLink(meeting.join_url);
      const error = dave.testid("join-error");
      await error.filter({ hasText: /\S/ }).waitFor({ timeout: 10_000 });
      assert.match(await error.innerText(), /locked/i, "the refusal says the meeting is locked");
      assert.equal(await dave.page.evaluate(() => window.yunhui.state), "join");

      // A meeting that does not start before its host: Dave waits for the
      // host, and enters by himself when the host arrives.
      const later = await server.api(
        "POST",
        "/api/v1/meetings",
        { topic: "Host first 主持人先入会", options: { join_before_host: false } },
        (await server.api("POST", "/api/v1/sessions", { login: HOST.email, password: HOST.password })).token,
      );
      await dave.askToJoinByLink(later.join_url);
      assert.equal(await dave.waitWaiting(), "waiting_for_host");
      assert.match(await dave.testid("waiting-title").innerText(), /waiting for the host/i);
      await host.testid("leave").click();
      await host.testid("meeting-left").waitFor({ timeout: 10_000 });
      await host.joinByLink(later.join_url);
      const daveId = await dave.waitJoined();
      await host.testid(`participant-${daveId}`).waitFor({ timeout: 10_000 });
    },
    { options: { waiting_room: true } },
  );
});
