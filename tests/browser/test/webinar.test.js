// F-WEBINAR-1, F-WEB-1, F-WEB-2: a webinar in real Chromium. The host
// schedules it; an attendee joins by link and sends nothing (no microphone,
// camera or share button; nothing published), sees the host but not the
// other attendee, and receives the host's media. Q&A: the attendee asks, the
// host answers privately then publicly; the other attendee sees the question
// only once answered publicly. "Allow to talk" gives the attendee a
// microphone and the host hears them; stopping it silences them at the SFU.
// The host makes the other attendee a panelist and back from the list.

import assert from "node:assert/strict";
import { test } from "node:test";
import { HOST, MEETING_PASSWORD, withMeetingEnv } from "../harness/meeting_env.js";

test("webinar: attendees send nothing, see only the panel, ask questions, and talk when allowed", async (t) => {
  await withMeetingEnv(
    t,
    async ({ server, host: hostAccount, launch }) => {
      const scheduled = await server.api(
        "POST",
        "/api/v1/schedules",
        {
          topic: "All hands 全员大会",
          start: "2030-05-07T09:30",
          duration_minutes: 60,
          time_zone: "Asia/Shanghai",
          password: MEETING_PASSWORD,
          options: { webinar: true },
        },
        hostAccount.token,
      );
      const joinUrl = scheduled.meeting.join_url;
      const host = await launch("Hana");
      await host.signIn(server.url, HOST);
      const hostId = await host.joinByLink(joinUrl);
      const alice = await launch("Alice");
      const aliceId = await alice.joinByLink(joinUrl);
      const bob = await launch("Bob");
      const bobId = await bob.joinByLink(joinUrl);

      // Roles and rosters.
      await host.page.waitForSelector(`[data-testid="participant-${bobId}"][data-role="attendee"]`, { timeout: 10_000 });
      await host.testid(`participant-${aliceId}`).waitFor();
      await alice.testid(`participant-${hostId}`).waitFor();
      assert.equal(await alice.testid(`participant-${bobId}`).count(), 0, "Alice does not see Bob");
      const namesBob = (f) =>
        (f.type === "participant_joined" && f.participant.id === bobId) ||
        (f.type === "participants_joined" && f.participants.some((p) => p.id === bobId));
      assert.ok(!alice.serverFrames.some(namesBob), "no frame about Bob reached Alice");

      // An attendee sends nothing and is offered nothing to send with.
      for (const control of ["toggle-audio", "toggle-video", "toggle-share"]) {
        assert.equal(await alice.testid(control).isVisible(), false, `Alice has no ${control}`);
      }
      assert.ok(await host.testid("toggle-audio").isVisible());
      await alice.waitForMediaFrom(hostId);
      assert.ok(!alice.serverFrames.some((f) => f.type === "publish_answer"), "Alice published nothing");

      // Q&A: Alice asks; the host answers her privately, then publicly.
      await alice.testid("tab-qa").click();
      await alice.testid("qa-input").fill("When is the launch? 何时发布？");
      await alice.testid("qa-ask").click();
      await host.testid("qa-open").waitFor({ timeout: 10_000 });
      await host.testid("tab-qa").click();
      const question = host.page.locator('[data-testid^="question-"][data-state="open"]');
      await question.waitFor({ timeout: 10_000 });
      const questionId = (await question.getAttribute("data-testid")).slice("question-".length);
      assert.equal(await question.getByTestId("question-text").innerText(), "When is the launch? 何时发布？");
      await host.testid(`answer-input-${questionId}`).fill("I will tell you after 会后告诉您");
      await host.testid(`answer-private-${questionId}`).click();
      await alice.page.waitForSelector(`[data-testid="question-${questionId}"][data-state="answered"]`, { timeout: 10_000 });
      await bob.testid("tab-qa").click();
      assert.equal(await bob.testid(`question-${questionId}`).count(), 0, "Bob does not see a privately answered question");
      await host.testid(`answer-input-${questionId}`).fill("In March 三月");
      await host.testid(`answer-public-${questionId}`).click();
      await bob.page.waitForSelector(`[data-testid="question-${questionId}"][data-public="true"]`, { timeout: 10_000 });
      const bobAnswers = await bob.testid(`question-${questionId}`).getByTestId("question-answer").allInnerTexts();
      assert.deepEqual(bobAnswers.map((a) => a.trim()), ["Hana: In March 三月"], "Bob reads the public answer only");
      assert.equal(await bob.testid(`answer-public-${questionId}`).count(), 0, "attendees do not answer");

      // Chat to the panel: the host reads it, Bob does not.
      await alice.testid("tab-chat").click();
      await alice.testid("chat-to").selectOption("@panel");
      await alice.testid("chat-input").fill("For the panel only 仅发给嘉宾");
      await alice.testid("chat-send").click();
      await host.page.waitForSelector('[data-testid="chat-message"][data-to-panel="true"]', { state: "attached", timeout: 10_000 });
      await alice.testid("chat-to").selectOption("");
      await alice.testid("chat-input").fill("Hello everyone 大家好");
      await alice.testid("chat-send").click();
      await bob.page.waitForFunction(() => document.body.innerText.includes("Hello everyone 大家好") || [...document.querySelectorAll('[data-testid="chat-text"]')].some((el) => el.textContent === "Hello everyone 大家好"), null, { timeout: 10_000 });
      assert.ok(!bob.serverFrames.some((f) => f.type === "chat" && f.message.to_panel), "no message to the panel reached Bob");

      // Allow to talk: Alice gets a microphone, publishes it alone, and the host hears her.
      await host.testid("tab-participants").click();
      await host.testid(`host-more-${aliceId}`).click();
      await host.testid(`host-allow_talk-${aliceId}`).click();
      await alice.testid("unmute-request").waitFor({ timeout: 10_000 });
      await alice.testid("unmute-request").getByRole("button", { name: /^Unmute/ }).click();
      await alice.page.waitForSelector('[data-testid="toggle-audio"][data-muted="false"]', { timeout: 10_000 });
      assert.equal(await alice.testid("toggle-video").isVisible(), false, "still no camera");
      await host.page.waitForSelector(`[data-testid="participant-${aliceId}"][data-audio-muted="false"]`, { timeout: 10_000 });
      await bob.testid(`participant-${aliceId}`).waitFor({ state: "attached", timeout: 10_000 });
      await host.waitForGrowth(aliceId, "audio");
      const offer = alice.serverFrames.find((f) => f.type === "publish_answer");
      assert.ok(offer && !/m=video/.test(offer.sdp), "Alice published audio only");

      // Stopped: her audio stops at the SFU though her microphone is still on.
      await host.testid(`host-more-${aliceId}`).click();
      await host.testid(`host-stop_talk-${aliceId}`).click();
      await host.waitForStill(aliceId, "audio");
      await alice.page.waitForSelector('[data-testid="toggle-audio"]', { state: "hidden", timeout: 10_000 });
      await bob.page.waitForFunction((id) => !document.querySelector(`[data-testid="participant-${id}"]`), aliceId, { timeout: 10_000 });

      // Bob made a panelist: everyone sees him, he gets his camera and the answer buttons; then back.
      await host.testid(`host-more-${bobId}`).click();
      await host.testid(`host-make_panelist-${bobId}`).click();
      await alice.page.waitForSelector(`[data-testid="participant-${bobId}"][data-role="panelist"]`, { state: "attached", timeout: 10_000 });
      await bob.testid(`participant-${aliceId}`).waitFor({ state: "attached", timeout: 10_000 });
      await bob.testid("toggle-video").waitFor({ timeout: 10_000 });
      await bob.testid("toggle-video").click();
      await bob.testid("toggle-audio").click();
      await host.waitForMediaFrom(bobId);
      await bob.testid("tab-qa").click();
      await bob.testid(`answer-public-${questionId}`).waitFor({ timeout: 10_000 });
      await host.testid(`host-more-${bobId}`).click();
      await host.testid(`host-make_attendee-${bobId}`).click();
      await alice.page.waitForFunction((id) => !document.querySelector(`[data-testid="participant-${id}"]`), bobId, { timeout: 10_000 });
      await bob.page.waitForSelector('[data-testid="toggle-video"]', { state: "hidden", timeout: 10_000 });
    },
    { createMeeting: false },
  );
});
