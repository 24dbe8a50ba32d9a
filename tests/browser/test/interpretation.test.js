// F-INT-1, F-WEB-1, F-WEB-2: simultaneous interpretation in real Chromium.
// An instant meeting with interpretation: the host, a Chinese speaker
// (Zhao), an interpreter (Ivy) and two listeners (Alice, Bob). The host
// makes Ivy an interpreter zh→en from the Interpretation tab; everyone sees
// her badge. Alice chooses English: she plays Ivy at full volume and the
// original (Zhao) at 0.2, measured after the gain by the page's analysers,
// and muting the original silences Zhao. Bob, on the original only,
// receives no audio track from Ivy at all (her video still reaches him).
// The host then replaces Ivy with Bob: Alice receives Bob's audio as the
// channel and Ivy's as the original.

import assert from "node:assert/strict";
import { test } from "node:test";
import { HOST, withMeetingEnv } from "../harness/meeting_env.js";

/** Waits until `listener` plays `channelVoice` louder than `originalVoice` (both heard) and returns the levels. */
async function channelOverOriginal(listener, channelVoice, originalVoice) {
  return listener.eventually(
    `playing ${channelVoice} (channel) louder than ${originalVoice} (original)`,
    () => listener.playedLevels(),
    (levels) => levels[channelVoice] > 0 && levels[originalVoice] > 0 && levels[channelVoice] > 2 * levels[originalVoice],
    { timeoutMs: 30_000 },
  );
}

test("interpretation: the host assigns and replaces an interpreter; a listener of the channel hears it over the quieter original; others never receive it", async (t) => {
  await withMeetingEnv(
    t,
    async ({ server, meeting, launch }) => {
      const hana = await launch("Hana");
      await hana.signIn(server.url, HOST);
      const hanaId = await hana.joinByLink(meeting.join_url);
      const zhao = await launch("Zhao");
      const zhaoId = await zhao.joinByLink(meeting.join_url);
      const ivy = await launch("Ivy");
      const ivyId = await ivy.joinByLink(meeting.join_url);
      const alice = await launch("Alice");
      await alice.joinByLink(meeting.join_url);
      const bob = await launch("Bob");
      const bobId = await bob.joinByLink(meeting.join_url);
      const everyone = [hana, zhao, ivy, alice, bob];
      // Five encoders on two cores: cameras off (audio is what this test is about).
      for (const p of everyone) await p.testid("toggle-video").click();

      // Before anyone interprets, Ivy is part of the original: Bob receives her audio.
      await bob.eventually("Ivy's audio arrives as original", () => bob.receivingFrom("audio"), (ids) => ids.includes(ivyId));

      // The host makes Ivy an interpreter zh→en from the Interpretation tab.
      assert.equal(await alice.testid("interpreter-manager").isVisible(), false, "only hosts manage interpreters");
      await hana.testid("tab-interpretation").click();
      await hana.testid("interpreter-participant").selectOption(ivyId);
      await hana.testid("interpreter-from").selectOption("zh");
      await hana.testid("interpreter-to").selectOption("en");
      await hana.testid("interpreter-assign").click();
      await hana.page.waitForSelector(`[data-testid="participant-${ivyId}"][data-interpreter="zh-en"]`, { state: "attached", timeout: 10_000 });
      await hana.testid(`interpreter-${ivyId}`).waitFor({ timeout: 10_000 });
      for (const p of [alice, bob]) {
        await p.page.waitForSelector(`[data-testid="tile-${ivyId}"][data-interpreter="zh-en"]`, { state: "attached", timeout: 10_000 });
        assert.equal((await p.testid(`tile-${ivyId}`).getByTestId("interpreter-badge").textContent()).trim(), "Interpreter zh→en 传译");
        assert.match(await p.testid(`participant-${ivyId}`).getByTestId("interpreter-tag").textContent(), /zh→en/);
      }

      // Alice chooses the English channel.
      await alice.testid("tab-interpretation").click();
      await alice.page.waitForSelector('[data-testid="language-channel"] option[value="en"]', { state: "attached", timeout: 10_000 });
      await alice.testid("language-channel").selectOption("en");
      await alice.eventually("Ivy's channel audio arrives", () => alice.receivingFrom("audio"), (ids) => ids.includes(ivyId) && ids.includes(zhaoId));
      const levels = await channelOverOriginal(alice, ivyId, zhaoId);
      const gains = await alice.playbackGains();
      assert.equal(gains[ivyId], 1, "the channel plays at full volume");
      assert.equal(gains[zhaoId], 0.2, "the original plays at 0.2 under a channel");
      assert.equal(gains[hanaId], 0.2);
      console.log(`Alice plays Ivy at ${levels[ivyId].toFixed(4)}, Zhao at ${levels[zhaoId].toFixed(4)}`);

      // "Mute original": Zhao goes silent for Alice, Ivy plays on.
      await alice.testid("mute-original").check();
      await alice.eventually(
        "the original silenced",
        () => alice.playedLevels(),
        (l) => l[zhaoId] === 0 && l[ivyId] > 0,
        { timeoutMs: 10_000 },
      );
      assert.equal((await alice.playbackGains())[zhaoId], 0);
      await alice.testid("mute-original").uncheck();
      await channelOverOriginal(alice, ivyId, zhaoId);

      // Bob, on the original only, receives no audio from Ivy at all: her track is taken away.
      const bobAudio = await bob.eventually("Ivy's audio taken away", () => bob.receivingFrom("audio"), (ids) => !ids.includes(ivyId));
      assert.ok(bobAudio.includes(zhaoId) && bobAudio.includes(hanaId), `Bob still receives the original: ${bobAudio}`);
      assert.ok((await bob.receivingFrom("video")).includes(ivyId), "an interpreter's video reaches everyone");
      await new Promise((r) => setTimeout(r, 2000));
      assert.ok(!(await bob.receivingFrom("audio")).includes(ivyId), "and it stays away");
      // Bob plays nothing of Ivy, and the original (its level is the loudest block of the last 2 s, read again until a beep falls in it).
      await bob.eventually(
        "Bob playing the original and nothing of Ivy",
        () => bob.playedLevels(),
        (l) => l[ivyId] === undefined && l[zhaoId] > 0,
        { timeoutMs: 10_000 },
      );
      assert.equal((await bob.playbackGains())[zhaoId], 1, "without a channel the original plays at full volume");

      // The host replaces Ivy with Bob (the new interpreter first, then Ivy removed).
      await hana.testid("interpreter-participant").selectOption(bobId);
      await hana.testid("interpreter-from").selectOption("zh");
      await hana.testid("interpreter-to").selectOption("en");
      await hana.testid("interpreter-replaces").selectOption(ivyId);
      await hana.testid("interpreter-assign").click();
      await hana.page.waitForSelector(`[data-testid="participant-${bobId}"][data-interpreter="zh-en"]`, { state: "attached", timeout: 10_000 });
      await hana.page.waitForSelector(`[data-testid="participant-${ivyId}"][data-interpreter=""]`, { state: "attached", timeout: 10_000 });
      assert.equal(await hana.testid(`interpreter-${ivyId}`).count(), 0, "Ivy is no longer listed as an interpreter");

      // Alice, still on English, now gets Bob as the channel and Ivy as original.
      await alice.eventually("Bob's channel audio arrives", () => alice.receivingFrom("audio"), (ids) => ids.includes(bobId) && ids.includes(ivyId));
      assert.equal(await alice.page.evaluate(() => window.yunhui.languageChannel), "en");
      await channelOverOriginal(alice, bobId, ivyId);
      const after = await alice.playbackGains();
      assert.equal(after[bobId], 1);
      assert.equal(after[ivyId], 0.2);
      // Ivy, back on the original, receives Hana; the new interpreter's audio does not reach her (no channel).
      await ivy.eventually("Bob's audio taken away from Ivy", () => ivy.receivingFrom("audio"), (ids) => !ids.includes(bobId) && ids.includes(hanaId));
      await hana.eventually("Bob's audio taken away from the host", () => hana.receivingFrom("audio"), (ids) => !ids.includes(bobId));
    },
    { options: { interpretation: true } },
  );
});
