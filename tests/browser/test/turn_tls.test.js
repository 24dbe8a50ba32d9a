// Issue 13, F-OPS-6: a browser on a network that lets only TCP out to the
// deployment's web port and its TURN-over-TLS port (a network namespace this
// test makes, on this machine only: all UDP dropped, TCP to the media port and
// to TURN's plain TCP port refused) joins a meeting and decodes the other
// participant's video through the SFU node's TURN server over TLS, and the
// other receives its media the same way back.
//
// `yunhui up` makes a self-signed certificate for TURN over TLS. Chromium
// checks a `turns:` server's certificate (the first check below: without
// trust, no relay candidate is gathered and no media flows), so Bob's browser
// is started with `--ignore-certificate-errors`: what a deployment gets from a
// certificate its clients trust (the Gateway's, on 443).

import assert from "node:assert/strict";
import { test } from "node:test";
import { MEETING_PASSWORD, withMeetingEnv } from "../harness/meeting_env.js";
import { netnsUnavailable, selectedPaths, udpBlockedNamespace } from "../harness/netns.js";

/** The types of the local candidates a page's publisher connection gathered. */
function gatheredTypes(participant) {
  return participant.page.evaluate(async () => {
    const stats = await window.yunhui.publisherPc.getStats();
    const types = [];
    stats.forEach((s) => {
      if (s.type === "local-candidate") types.push(`${s.candidateType}/${s.relayProtocol ?? s.protocol}`);
    });
    return types;
  });
}

test("a browser that only reaches TCP to the TURN TLS port joins and exchanges video through TURN/TLS", { skip: netnsUnavailable() ?? false }, async (t) => {
  const netns = await udpBlockedNamespace();
  t.after(() => netns.remove());
  await withMeetingEnv(
    t,
    async ({ server, meeting, launch }) => {
      const origin = server.url;
      netns.allowOnlyTcpTo([server.ports.http, server.ports.turnTls]);
      const alice = await launch("Alice", { secureOrigin: origin });
      const bob = await launch("Bob behind a proxy", {
        executablePath: netns.chromium,
        secureOrigin: origin,
        extraArgs: ["--ignore-certificate-errors"],
      });

      await alice.joinByNumber(server.url, meeting.number, MEETING_PASSWORD);
      const aliceId = await alice.waitJoined();
      await bob.joinByNumber(server.url, meeting.number, MEETING_PASSWORD);
      const bobId = await bob.waitJoined(30_000);

      const [before, after] = await bob.waitForMediaFrom(aliceId, 60_000);
      assert.ok(after.video.framesDecoded > before.video.framesDecoded, `Bob decodes Alice's video (${before.video.framesDecoded} -> ${after.video.framesDecoded})`);
      assert.ok(after.video.frameWidth > 0, "Bob's decoded video has a width");
      const [aliceBefore, aliceAfter] = await alice.waitForMediaFrom(bobId, 60_000);
      assert.ok(aliceAfter.video.framesDecoded > aliceBefore.video.framesDecoded, "Alice decodes Bob's video, relayed over TLS");

      const bobPaths = await selectedPaths(bob);
      for (const role of ["publisherPc", "subscriberPc"]) {
        assert.equal(bobPaths[role]?.type, "relay", `Bob's ${role} runs through TURN: ${JSON.stringify(bobPaths)}`);
        assert.equal(bobPaths[role]?.relayProtocol, "tls", `Bob's ${role} reaches TURN over TLS: ${JSON.stringify(bobPaths)}`);
      }
      const allocations = await server.metric("yunhui_sfu_turn_allocations");
      assert.ok(allocations >= 2, `Bob's two peer connections each hold an allocation (gauge: ${allocations})`);
      const relayed = await server.metric("yunhui_sfu_turn_relayed_bytes_total");
      assert.ok(relayed > 100_000, `media went through the relay (${relayed} bytes)`);
      // (Alice's browser does not trust the self-signed certificate, so her
      // attempts over TLS end in the handshake; nothing else is refused.)
      for (const reason of ["credentials", "peer", "allocation_limit"]) {
        const refused = await server.metric("yunhui_sfu_turn_refused_total", { reason });
        assert.equal(refused, 0, `no TURN request of the two browsers was refused for ${reason}`);
      }
    },
    { serverHost: netns.hostIp },
  );
});

test("without trusting the TURN server's certificate, the browser gets no TURN/TLS relay", { skip: netnsUnavailable() ?? false }, async (t) => {
  const netns = await udpBlockedNamespace();
  t.after(() => netns.remove());
  await withMeetingEnv(
    t,
    async ({ server, meeting, launch }) => {
      netns.allowOnlyTcpTo([server.ports.http, server.ports.turnTls]);
      const bob = await launch("Bob without trust", { executablePath: netns.chromium, secureOrigin: server.url });
      await bob.joinByNumber(server.url, meeting.number, MEETING_PASSWORD);
      await bob.waitJoined(30_000);
      // ICE gathering over TLS takes a few seconds at most when it works.
      await new Promise((r) => setTimeout(r, 8_000));
      const types = await gatheredTypes(bob);
      assert.ok(!types.some((t) => t.startsWith("relay")), `no relay candidate with an untrusted certificate: ${types.join(", ")}`);
      // It did reach the TLS port: the browser gave up in the handshake.
      const handshakes = await server.metric("yunhui_sfu_turn_refused_total", { reason: "tls_handshake" });
      assert.ok(handshakes >= 1, `the browser broke off the TLS handshake (${handshakes})`);
    },
    { serverHost: netns.hostIp },
  );
});
