// Issue 13, F-OPS-6: a browser on a network that drops all UDP (a network
// namespace this test makes, on this machine only) joins a meeting and decodes
// the other participant's video over ICE-TCP, and the other receives its media
// the same way back.

import assert from "node:assert/strict";
import { test } from "node:test";
import { MEETING_PASSWORD, withMeetingEnv } from "../harness/meeting_env.js";
import { netnsUnavailable, selectedPaths, udpBlockedNamespace } from "../harness/netns.js";

test("a browser whose network drops UDP joins and exchanges video over ICE-TCP", { skip: netnsUnavailable() ?? false }, async (t) => {
  const netns = await udpBlockedNamespace();
  t.after(() => netns.remove());
  await withMeetingEnv(
    t,
    async ({ server, meeting, launch }) => {
      const origin = server.url;
      const alice = await launch("Alice", { secureOrigin: origin });
      const bob = await launch("Bob behind a firewall", { executablePath: netns.chromium, secureOrigin: origin });

      await alice.joinByNumber(server.url, meeting.number, MEETING_PASSWORD);
      const aliceId = await alice.waitJoined();
      await bob.joinByNumber(server.url, meeting.number, MEETING_PASSWORD);
      const bobId = await bob.waitJoined(30_000);

      const [before, after] = await bob.waitForMediaFrom(aliceId, 45_000);
      assert.ok(after.video.framesDecoded > before.video.framesDecoded, `Bob decodes Alice's video (${before.video.framesDecoded} -> ${after.video.framesDecoded})`);
      assert.ok(after.video.frameWidth > 0, "Bob's decoded video has a width");
      const [aliceBefore, aliceAfter] = await alice.waitForMediaFrom(bobId, 45_000);
      assert.ok(aliceAfter.video.framesDecoded > aliceBefore.video.framesDecoded, "Alice decodes Bob's video, sent over TCP");

      const bobPaths = await selectedPaths(bob);
      for (const role of ["publisherPc", "subscriberPc"]) {
        assert.equal(bobPaths[role]?.local, "tcp", `Bob's ${role} runs over TCP: ${JSON.stringify(bobPaths)}`);
        assert.equal(bobPaths[role]?.remote, "tcp", `Bob's ${role} reaches the SFU's TCP candidate: ${JSON.stringify(bobPaths)}`);
      }
      const alicePaths = await selectedPaths(alice);
      assert.equal(alicePaths.subscriberPc?.local, "udp", `Alice, whose network allows UDP, stays on UDP: ${JSON.stringify(alicePaths)}`);
      const connections = await server.metric("yunhui_sfu_ice_tcp_connections");
      assert.ok(connections >= 2, `Bob's two peer connections each hold a TCP connection (gauge: ${connections})`);
    },
    { serverHost: netns.hostIp },
  );
});
