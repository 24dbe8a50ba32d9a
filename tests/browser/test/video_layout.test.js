// F-CTL-8: the camera goes out in three simulcast layers, and each viewer
// receives the layer its layout needs. In gallery view with two people the
// other is a big tile (full layer); when the host spotlights the viewer, the
// host shrinks to a thumbnail and the SFU switches the viewer to the lowest
// layer, and back when the spotlight is removed; decoding goes on through
// every switch. While nobody needs the bigger layers, the publisher stops
// encoding them. Speaker view puts the other participant in the main picture.

import assert from "node:assert/strict";
import { test } from "node:test";
import { HOST, withMeetingEnv } from "../harness/meeting_env.js";
import { decodesAt, sentLayers } from "../harness/video.js";

async function subscriptions(p) {
  return p.page.evaluate(() => window.yunhui.videoSubscriptions);
}

test("each viewer receives the simulcast layer its layout needs; switches keep decoding", async (t) => {
  await withMeetingEnv(t, async ({ server, meeting, launch }) => {
    const hana = await launch("Hana");
    await hana.signIn(server.url, HOST);
    const hanaId = await hana.joinByLink(meeting.join_url);
    const bob = await launch("Bob");
    const bobId = await bob.joinByLink(meeting.join_url);
    await bob.waitForMediaFrom(hanaId);

    const layers = await sentLayers(hana);
    assert.ok(layers.q.width < layers.h.width && layers.h.width < layers.f.width, JSON.stringify(layers));

    // Gallery view, two tiles: Hana is a big tile at Bob, so the full layer.
    assert.deepEqual(await subscriptions(bob), [{ participant_id: hanaId, quality: "high" }]);
    await decodesAt(bob, hanaId, layers.f.width);

    // The host spotlights Bob: at Bob, Hana becomes a thumbnail under him.
    await hana.testid(`host-more-${bobId}`).click();
    await hana.testid(`host-spotlight-${bobId}`).click();
    await bob.page.waitForSelector(`[data-testid="tile-${hanaId}"][data-size="thumb"]`, { timeout: 10_000 });
    assert.deepEqual(await subscriptions(bob), [{ participant_id: hanaId, quality: "low" }]);
    await decodesAt(bob, hanaId, layers.q.width);
    // Only Bob watches Hana, as a thumbnail: Hana stops encoding the two
    // bigger layers (the server tells her the most anyone wants).
    await hana.page.waitForFunction(() => window.yunhui.publishQuality === "low", null, { timeout: 10_000 });
    await hana.page.waitForFunction(
      async () => {
        const active = {};
        (await window.yunhui.publisherPc.getStats()).forEach((s) => {
          if (s.type === "outbound-rtp" && s.kind === "video" && s.rid) active[s.rid] = s.active;
        });
        return active.q === true && active.h === false && active.f === false;
      },
      null,
      { timeout: 10_000, polling: 500 },
    );
    // Hana sees Bob in the main picture, at the full layer.
    assert.equal(await hana.testid(`tile-${bobId}`).getAttribute("data-size"), "main");
    await decodesAt(hana, bobId, (await sentLayers(bob)).f.width);

    // Spotlight removed: back to the full layer.
    await hana.testid(`host-more-${bobId}`).click();
    await hana.testid(`host-spotlight-${bobId}`).click();
    await bob.page.waitForSelector(`[data-testid="tile-${hanaId}"][data-size="tile"]`, { timeout: 10_000 });
    await hana.page.waitForFunction(() => window.yunhui.publishQuality === "high", null, { timeout: 10_000 });
    // The full layer is encoded again and reaches Bob.
    await decodesAt(bob, hanaId, layers.f.width);

    // Speaker view: Hana is the main picture, Bob's own tile a thumbnail.
    await bob.testid("layout-toggle").click();
    const layout = await bob.page.evaluate(() => window.yunhui.layout);
    assert.deepEqual(layout, { mode: "speaker", page: 0, pages: 1, main: hanaId, shown: [hanaId, bobId], roomMode: false });
    assert.equal(await bob.testid(`tile-${hanaId}`).getAttribute("data-size"), "main");
    assert.equal(await bob.testid(`tile-${bobId}`).getAttribute("data-size"), "thumb");
    assert.deepEqual(await subscriptions(bob), [{ participant_id: hanaId, quality: "high" }]);
    assert.equal(await bob.testid("gallery-page").isVisible(), false, "one page needs no pager");
  });
});
