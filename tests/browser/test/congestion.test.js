// Issue 16: congestion control and loss repair on a subscriber's link. Bob
// watches Hana's simulcast camera from a network namespace (made by the test,
// on this machine only) whose downlink the test degrades:
// - a token bucket (`tc tbf`) below Hana's full layer: the SFU's estimate of
//   Bob's downlink (transport-wide congestion control feedback from his
//   browser) falls and Bob is moved to a lower layer within seconds, his
//   video still decoding and his audio still arriving; when the limit lifts
//   he is moved back up;
// - 5 % of the UDP reaching Bob dropped at random (iptables `statistic`):
//   his browser asks for the lost packets (NACK), the SFU resends them, and
//   the frames he decodes keep pace with those Hana sends.

import assert from "node:assert/strict";
import { test } from "node:test";
import { HOST, withMeetingEnv } from "../harness/meeting_env.js";
import { netnsUnavailable, shapedNamespace } from "../harness/netns.js";
import { decodesAt, decodesAtWidth, layerRates, sentLayers } from "../harness/video.js";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Hana (signed in, host) and Bob (a guest inside `netns`) in one meeting, Bob decoding Hana's full layer. */
async function hanaAndBob({ server, meeting, launch }, netns) {
  const hana = await launch("Hana", { secureOrigin: server.url });
  await hana.signIn(server.url, HOST);
  const hanaId = await hana.joinByLink(meeting.join_url);
  const bob = await launch("Bob on a poor link", { executablePath: netns.chromium, secureOrigin: server.url });
  await bob.joinByLink(meeting.join_url);
  await bob.waitForMediaFrom(hanaId, 45_000);
  const layers = await sentLayers(hana);
  await decodesAt(bob, hanaId, layers.f.width, 45_000);
  return { hana, hanaId, bob, layers };
}

/** Bob's inbound video from Hana: packets, losses, NACKs and frames. */
function inboundVideo(bob, hanaId) {
  return bob.page.evaluate(async (hanaId) => {
    const video = document.querySelector(`[data-testid="tile-${hanaId}"] video`);
    const ids = new Set(video.srcObject.getTracks().map((t) => t.id));
    for (const receiver of window.yunhui.subscriberPc.getReceivers()) {
      if (!ids.has(receiver.track.id) || receiver.track.kind !== "video") continue;
      let out = null;
      (await receiver.getStats()).forEach((s) => {
        if (s.type === "inbound-rtp") {
          out = {
            packetsReceived: s.packetsReceived ?? 0,
            packetsLost: s.packetsLost ?? 0,
            nackCount: s.nackCount ?? 0,
            framesDecoded: s.framesDecoded ?? 0,
            frameWidth: s.frameWidth ?? 0,
            at: Date.now(),
          };
        }
      });
      return out;
    }
    return null;
  }, hanaId);
}

test("a subscriber on a narrow downlink gets a lower layer, and the full one again when it widens", { skip: netnsUnavailable() ?? false }, async (t) => {
  const netns = await shapedNamespace();
  t.after(() => netns.remove());
  await withMeetingEnv(
    t,
    async (env) => {
      const { hana, hanaId, bob, layers } = await hanaAndBob(env, netns);
      const rates = await layerRates(hana);
      console.log(`Hana's layers: ${JSON.stringify(rates)}`);
      assert.equal(await env.server.metric("yunhui_sfu_bandwidth_limited_tracks"), 0, "nothing is limited on a wide link");

      // Below the full layer, above the lowest one with audio.
      const limit = Math.max(Math.round(rates.f.kbps / 2), rates.q.kbps + 150);
      assert.ok(limit < rates.f.kbps, `the limit (${limit} kbit/s) is below the full layer's rate: ${JSON.stringify(rates)}`);
      netns.limitDownlink(limit);
      const limitedAt = Date.now();
      const lower = await decodesAtWidth(bob, hanaId, (w) => w < layers.f.width, "a lower layer", 30_000);
      console.log(`at ${limit} kbit/s Bob decodes width ${lower} after ${Date.now() - limitedAt} ms`);
      assert.ok(
        (await env.server.metric("yunhui_sfu_bandwidth_limited_tracks")) >= 1,
        "the SFU holds Bob's copy of Hana's video back for his downlink",
      );
      // Audio goes on under the limit.
      await bob.waitForGrowth(hanaId, "audio", { gapMs: 1000, timeoutMs: 10_000 });

      netns.liftDownlinkLimit();
      const liftedAt = Date.now();
      await decodesAt(bob, hanaId, layers.f.width, 90_000);
      console.log(`limit lifted: Bob decodes the full layer again after ${Date.now() - liftedAt} ms`);
      assert.equal(await env.server.metric("yunhui_sfu_bandwidth_limited_tracks"), 0, "nothing is held back once the link is wide again");
      assert.ok((await env.server.metric("yunhui_sfu_bandwidth_limit_changes_total")) >= 2, "lowered, then lifted");
    },
    { serverHost: netns.hostIp },
  );
});

test("5 % random loss on a subscriber's downlink is repaired by retransmission", { skip: netnsUnavailable() ?? false }, async (t) => {
  const netns = await shapedNamespace();
  t.after(() => netns.remove());
  await withMeetingEnv(
    t,
    async (env) => {
      const { hana, hanaId, bob } = await hanaAndBob(env, netns);
      netns.dropIncoming(0.05);
      await sleep(2000);
      const before = await inboundVideo(bob, hanaId);
      const sentBefore = await sentLayers(hana);
      const droppedBefore = netns.droppedIncoming();
      await sleep(10_000);
      const after = await inboundVideo(bob, hanaId);
      const sentAfter = await sentLayers(hana);
      const dropped = netns.droppedIncoming() - droppedBefore;
      const rid = Object.keys(sentAfter).find((r) => sentAfter[r].width === after.frameWidth);
      assert.ok(rid, `Bob decodes one of Hana's layers: ${after.frameWidth} of ${JSON.stringify(sentAfter)}`);
      const sent = sentAfter[rid].framesSent - sentBefore[rid].framesSent;
      const decoded = after.framesDecoded - before.framesDecoded;
      const packets = after.packetsReceived - before.packetsReceived;
      const lost = after.packetsLost - before.packetsLost;
      const nacks = after.nackCount - before.nackCount;
      console.log(
        `10 s at 5 % loss: ${dropped} UDP packets dropped on Bob's link; Hana sent ${sent} frames of layer ${rid}, Bob decoded ${decoded}; ` +
          `${packets} video packets received, ${lost} left lost, ${nacks} NACKs`,
      );
      // The link lost media (video and audio, about 5 % of each).
      assert.ok(dropped >= packets * 0.02, `the link dropped packets: ${dropped} against ${packets} video packets received`);
      assert.ok(nacks > 0, `Bob's browser asked for lost packets: ${nacks} NACKs`);
      // What is still missing after the retransmissions is a small part of it.
      assert.ok(lost < packets * 0.01, `retransmissions filled the gaps: ${lost} of ${packets + lost} packets left lost`);
      assert.ok(decoded >= sent * 0.85, `decoding keeps pace: ${decoded} frames decoded of ${sent} sent`);
    },
    { serverHost: netns.hostIp },
  );
});
