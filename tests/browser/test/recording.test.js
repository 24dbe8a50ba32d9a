// F-REC-1, F-WEB-3: cloud recording from the meeting page and "My videos".
// The host records, pauses, resumes and stops from the footer; the other
// participant sees the indicator follow (recording, paused, gone). The two
// stretches are two videos in the host's "My videos": one plays in the
// page's <video>, one is renamed (kept after a reload), one is deleted.

import assert from "node:assert/strict";
import { test } from "node:test";
import { HOST, withMeetingEnv } from "../harness/meeting_env.js";

const TOPIC = "E2E weekly sync 周会";
/** Each recorded stretch lasts at least this long, so the file played has time to run. */
const STRETCH_MS = 4_000;
const WAIT = { timeout: 20_000 };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The file the recorder is writing now, over the Open API (null: none yet). */
async function fileBeingWritten(server, token) {
  const recordings = await server.api("GET", "/api/v1/recordings", undefined, token);
  return recordings.find((r) => r.state === "recording") ?? null;
}

/**
 * Waits until the file being recorded holds at least `minBytes`, read from
 * its media URL's `Content-Range`, so each stretch has seconds of media in
 * it without a fixed sleep.
 */
async function waitForRecordedBytes(server, token, minBytes, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let size = 0;
  while (Date.now() < deadline) {
    const writing = await fileBeingWritten(server, token);
    if (writing) {
      const response = await fetch(writing.media_url, { headers: { Range: "bytes=0-0" } });
      await response.arrayBuffer();
      size = Number(/\/(\d+)$/.exec(response.headers.get("content-range") ?? "")?.[1] ?? 0);
      if (size >= minBytes) return size;
    }
    await sleep(500);
  }
  throw new Error(`the recording being written holds ${size} bytes after ${timeoutMs} ms, wanted ${minBytes}`);
}

/** Waits until the host has `count` recordings and none is still being written. */
async function waitForFinishedRecordings(server, token, count, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let recordings = [];
  while (Date.now() < deadline) {
    recordings = await server.api("GET", "/api/v1/recordings", undefined, token);
    if (recordings.length === count && recordings.every((r) => r.state === "ready")) return recordings;
    await sleep(500);
  }
  throw new Error(`wanted ${count} finished recordings, have ${JSON.stringify(recordings.map((r) => [r.title, r.state]))}`);
}

/** Waits until `p`'s indicator shows `state` ("off": hidden). */
async function waitForIndicator(p, state) {
  const selector = `[data-testid="recording-indicator"][data-state="${state}"]`;
  await p.page.waitForSelector(selector, { state: state === "off" ? "hidden" : "visible", ...WAIT });
}

test("the host records, pauses, resumes and stops; everyone sees it; My videos plays, renames and deletes the two videos", async (t) => {
  await withMeetingEnv(t, async ({ server, host, meeting, launch }) => {
    const hana = await launch("Hana");
    await hana.signIn(server.url, HOST);
    await hana.joinByLink(meeting.join_url);
    const bob = await launch("Bob");
    const bobId = await bob.joinByLink(meeting.join_url);
    await hana.waitForMediaFrom(bobId);

    // Nobody records yet: no indicator; only the host has the Record button.
    await waitForIndicator(bob, "off");
    await hana.testid("record-start").waitFor({ state: "visible", ...WAIT });
    assert.equal(await bob.testid("record-start").isVisible(), false, "only the host records");

    // Start: both see "Recording".
    await hana.testid("record-start").click();
    for (const p of [hana, bob]) await waitForIndicator(p, "recording");
    assert.match(await bob.testid("recording-indicator").innerText(), /Recording/);
    assert.equal(await bob.testid("recording-indicator").getAttribute("role"), "status");
    let stretchStarted = Date.now();
    await waitForRecordedBytes(server, host.token, 40_000);
    await sleep(Math.max(0, STRETCH_MS - (Date.now() - stretchStarted)));

    // Pause: the indicator says so; the first file is closed.
    await hana.testid("record-pause").click();
    await waitForIndicator(bob, "paused");
    assert.match(await bob.testid("recording-indicator").innerText(), /Recording paused/);
    await hana.testid("record-resume").waitFor({ state: "visible", ...WAIT });
    assert.equal(await hana.testid("record-pause").isVisible(), false, "paused: Resume instead of Pause");

    // Resume into a second file, then stop: the indicator goes away.
    await hana.testid("record-resume").click();
    await waitForIndicator(bob, "recording");
    stretchStarted = Date.now();
    await waitForRecordedBytes(server, host.token, 40_000);
    await sleep(Math.max(0, STRETCH_MS - (Date.now() - stretchStarted)));
    await hana.testid("record-stop").click();
    for (const p of [hana, bob]) await waitForIndicator(p, "off");
    await hana.testid("record-start").waitFor({ state: "visible", ...WAIT });
    const finished = await waitForFinishedRecordings(server, host.token, 2);
    for (const r of finished) {
      assert.ok(r.duration_ms >= STRETCH_MS - 1000, `${r.title} lasts ${r.duration_ms} ms`);
    }

    // My videos, from My meetings: two videos, newest first, titled by the topic.
    await hana.testid("leave").click();
    await hana.page.waitForFunction(() => window.yunhui?.state === "left", null, WAIT);
    await hana.page.goto(`${server.url}/meetings`);
    await hana.testid("my-videos").click();
    await hana.testid("videos-page").waitFor(WAIT);
    const items = hana.testid("video-item");
    await hana.page.waitForFunction(() => document.querySelectorAll('[data-testid="video-item"]').length === 2, null, WAIT);
    assert.deepEqual(await hana.testid("video-title").allInnerTexts(), [`${TOPIC} (2)`, TOPIC]);
    assert.match(await items.first().getByTestId("video-state").innerText(), /Ready/);
    const href = await items.first().getByTestId("video-download").getAttribute("href");
    assert.match(href ?? "", /download=1/, "Download links the attachment");

    // Play the newest: it loads and its time runs.
    await items.first().getByTestId("video-play").click();
    await hana.page.waitForFunction(
      () => {
        const video = document.querySelector('[data-testid="video-player"]');
        return video && video.readyState >= 2 && video.duration > 0 && video.currentTime > 0.3;
      },
      null,
      { timeout: 30_000 },
    );
    const startedAt = await hana.page.evaluate(() => document.querySelector('[data-testid="video-player"]').currentTime);
    await hana.page.waitForFunction(
      (from) => document.querySelector('[data-testid="video-player"]').currentTime > from + 0.5,
      startedAt,
      { timeout: 30_000 },
    );
    assert.equal(await hana.testid("video-player-title").innerText(), `${TOPIC} (2)`);

    // Rename the older one; the new title is the server's after a reload.
    await items.nth(1).getByTestId("video-rename").click();
    await hana.testid("rename-video-input").fill("Quarterly review 季度回顾");
    await hana.testid("rename-video-confirm").click();
    await hana.testid("video-title").filter({ hasText: "Quarterly review 季度回顾" }).waitFor(WAIT);
    await hana.page.reload();
    await hana.testid("video-title").filter({ hasText: "Quarterly review 季度回顾" }).waitFor(WAIT);
    assert.equal(await items.count(), 2);

    // Delete the newest, after confirming: one is left, also after a reload.
    await items.first().getByTestId("video-delete").click();
    await hana.testid("confirm-delete-video-confirm").click();
    await hana.page.waitForFunction(() => document.querySelectorAll('[data-testid="video-item"]').length === 1, null, WAIT);
    await hana.page.reload();
    await hana.testid("video-title").first().waitFor(WAIT);
    assert.deepEqual(await hana.testid("video-title").allInnerTexts(), ["Quarterly review 季度回顾"]);
    const left = await server.api("GET", "/api/v1/recordings", undefined, host.token);
    assert.equal(left.length, 1, "the server keeps one recording");
  });
});
