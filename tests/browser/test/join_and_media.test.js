// F-JOIN-1/2, F-WEB-1: one browser joins by link, one by number + password;
// each hears and sees the other; a wrong password is refused visibly.

import assert from "node:assert/strict";
import { test } from "node:test";
import { MEETING_PASSWORD, withMeetingEnv } from "../harness/meeting_env.js";

function assertGrowing(label, [before, after]) {
  assert.ok(after.audio.bytesReceived > before.audio.bytesReceived, `${label}: audio bytesReceived must grow (${before.audio.bytesReceived} -> ${after.audio.bytesReceived})`);
  assert.ok(after.video.bytesReceived > before.video.bytesReceived, `${label}: video bytesReceived must grow (${before.video.bytesReceived} -> ${after.video.bytesReceived})`);
  assert.ok(after.video.framesDecoded > before.video.framesDecoded, `${label}: video framesDecoded must grow (${before.video.framesDecoded} -> ${after.video.framesDecoded})`);
  assert.ok(after.video.frameWidth > 0, `${label}: decoded video must have a width`);
}

test("two browsers join by link and by number, exchange audio and video; a wrong password is refused", async (t) => {
  await withMeetingEnv(t, async ({ server, meeting, launch }) => {
    assert.match(meeting.join_url, /^http:\/\/127\.0\.0\.1:\d+\/j\/\d{9,11}\?k=/, "join_url points at this server");

    const alice = await launch("Alice");
    const bob = await launch("Bob 鲍勃");

    const aliceId = await alice.joinByLink(meeting.join_url);
    await bob.joinByNumber(server.url, meeting.number, MEETING_PASSWORD);
    const bobId = await bob.waitJoined();
    assert.notEqual(aliceId, bobId);

    // Participant lists reflect the server: each sees both.
    await alice.testid(`tile-${bobId}`).waitFor();
    await bob.testid(`tile-${aliceId}`).waitFor();
    for (const p of [alice, bob]) {
      const ids = (await p.page.evaluate(() => window.yunhui.participants.map((x) => x.id))).sort();
      assert.deepEqual(ids, [aliceId, bobId].sort(), `${p.name}'s participant list`);
    }
    assert.equal(await bob.testid(`participant-${aliceId}`).count(), 1, "Bob's participant list shows Alice");

    assertGrowing("Bob receiving Alice", await bob.waitForMediaFrom(aliceId));
    assertGrowing("Alice receiving Bob", await alice.waitForMediaFrom(bobId));

    // A third browser with a wrong password: a clear error, never `joined`.
    const mallory = await launch("Mallory");
    await mallory.joinByNumber(server.url, meeting.number, "0000");
    const error = mallory.testid("join-error");
    await error.filter({ hasText: /\S/ }).waitFor({ timeout: 10_000 });
    assert.match(await error.innerText(), /password|密码/i, "the error names the password");
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await mallory.page.evaluate(() => window.yunhui.state), "join", "still on the join page");
    assert.equal(await mallory.page.evaluate(() => window.yunhui.participantId ?? null), null);
    const types = mallory.serverFrames.map((f) => f.type);
    assert.ok(types.includes("error"), `server sent an error frame (got ${types})`);
    assert.ok(!types.includes("joined"), "server never sent `joined` to the wrong password");
    assert.equal(await mallory.testid("meeting-room").count(), 0);

    assert.equal(await server.metric("yunhui_sfu_participants"), 2, "the SFU holds exactly Alice and Bob");
    assert.equal(await alice.page.evaluate(() => window.yunhui.participants.length), 2);
  });
});
