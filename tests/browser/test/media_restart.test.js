// Issue 13, F-OPS-6: a media path that dies while the signaling socket lives.
// Bob's browser runs in a network namespace (made by the test, on this machine
// only) whose UDP works at first: his media goes over UDP. Then the namespace
// starts dropping all UDP, as a firewall or a network change might, while TCP
// (and so his signaling socket) goes on. His page sees its connections go
// down, asks the server to restart its media (`restart_media`), and his new
// connections find the SFU's ICE-TCP candidate: video flows both ways again,
// over TCP, and nobody rejoined.

import assert from "node:assert/strict";
import { test } from "node:test";
import { HOST, withMeetingEnv } from "../harness/meeting_env.js";
import { netnsUnavailable, selectedPaths, shapedNamespace } from "../harness/netns.js";

test("a browser whose UDP dies mid-meeting restarts its media and goes on over ICE-TCP without rejoining", { skip: netnsUnavailable() ?? false }, async (t) => {
  const netns = await shapedNamespace();
  t.after(() => netns.remove());
  await withMeetingEnv(
    t,
    async ({ server, meeting, launch }) => {
      const hana = await launch("Hana", { secureOrigin: server.url });
      await hana.signIn(server.url, HOST);
      const hanaId = await hana.joinByLink(meeting.join_url);
      const bob = await launch("Bob on a network that changes", { executablePath: netns.chromium, secureOrigin: server.url });
      const bobId = await bob.joinByLink(meeting.join_url);
      await bob.waitForMediaFrom(hanaId, 45_000);
      await hana.waitForMediaFrom(bobId, 45_000);
      const before = await selectedPaths(bob);
      for (const role of ["publisherPc", "subscriberPc"]) {
        assert.equal(before[role]?.local, "udp", `Bob's ${role} starts on UDP: ${JSON.stringify(before)}`);
      }
      const firstPcId = await bob.page.evaluate(() => window.yunhui.subscriberPcId);
      const restartsBefore = (await server.metric("yunhui_signal_messages_total", { type: "restart_media" })) ?? 0;

      netns.blockUdp();
      const blockedAt = Date.now();

      await bob.eventually(
        "Bob's page asks for a media restart",
        () => bob.page.evaluate(() => window.yunhui.mediaRestartsAsked()),
        (asked) => asked >= 1,
        { timeoutMs: 40_000 },
      );
      const askedAfter = Date.now() - blockedAt;
      await bob.eventually(
        "Bob's subscriber connection is replaced",
        () => bob.page.evaluate(() => window.yunhui.subscriberPcId),
        (id) => id !== firstPcId,
      );
      const [bobBefore, bobAfter] = await bob.waitForMediaFrom(hanaId, 45_000);
      const resumedAfter = Date.now() - blockedAt;
      assert.ok(bobAfter.video.framesDecoded > bobBefore.video.framesDecoded, `Bob decodes Hana's video again (${bobBefore.video.framesDecoded} -> ${bobAfter.video.framesDecoded})`);
      const [hanaBefore, hanaAfter] = await hana.waitForMediaFrom(bobId, 45_000);
      assert.ok(hanaAfter.video.framesDecoded > hanaBefore.video.framesDecoded, "Hana decodes Bob's video again, published anew over TCP");

      const after = await selectedPaths(bob);
      for (const role of ["publisherPc", "subscriberPc"]) {
        assert.equal(after[role]?.local, "tcp", `Bob's new ${role} runs over TCP: ${JSON.stringify(after)}`);
      }
      const restarts = await server.metric("yunhui_signal_messages_total", { type: "restart_media" });
      assert.ok(restarts > restartsBefore, `the server received Bob's restart_media (${restartsBefore} -> ${restarts})`);

      // The meeting itself went on: same participant, nobody joined again.
      assert.equal(await bob.page.evaluate(() => window.yunhui.participantId), bobId, "Bob is still the same participant");
      assert.equal(await bob.page.evaluate(() => window.yunhui.state), "joined");
      const seenByHana = await hana.page.evaluate(() => window.yunhui.participants.map((p) => p.id));
      assert.deepEqual([...seenByHana].sort(), [hanaId, bobId].sort(), "Hana's list still holds Hana and Bob, once each");
      t.diagnostic(`restart asked ${askedAfter} ms and Hana's video decoded again ${resumedAfter} ms after UDP was blocked`);
    },
    { serverHost: netns.hostIp },
  );
});
