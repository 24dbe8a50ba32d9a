// F-REC-2 (the manual's 3.3.4 会议直播): the host streams the meeting live
// to an RTMP service, here this test's own nginx-rtmp on loopback. The host
// enters the push address, stream key and watch address in the "Live
// stream" dialog (a key the server refuses is explained there first); both
// participants' indicators at the top left go to "Live"; nginx publishes the
// stream, which ffprobe reads as H.264 and AAC; the other participant copies
// the watch link from the indicator's menu and opens it; nginx goes away and
// comes back: everyone sees "reconnecting", only the host is told why, and
// the stream is live again; the host stops from the indicator's menu and the
// stream ends at nginx. A participant has no "Live stream" button and no Stop.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { HOST, withMeetingEnv } from "../harness/meeting_env.js";
import { startRtmpServer } from "../harness/rtmp_server.js";

const STREAM_KEY = "e2e-key";
const WATCH_URL = "https://watch.example.com/e2e";
const WAIT = { timeout: 20_000 };
/** From Start until the service takes the stream: the recorder joins, ffmpeg starts and connects. */
const LIVE_TIMEOUT_MS = 60_000;

/** Codec names of the streams ffprobe finds in `url` (within `timeoutMs`). */
function probeCodecs(url, timeoutMs = 20_000) {
  return new Promise((resolve, reject) => {
    const child = spawn("ffprobe", ["-v", "error", "-show_streams", "-of", "json", url], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk) => (out += chunk));
    child.stderr.on("data", (chunk) => (err += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new Error(`ffprobe ${url} ended with ${code ?? signal}: ${err.trim()}`));
        return;
      }
      resolve(JSON.parse(out).streams.map((s) => s.codec_name));
    });
  });
}

/**
 * Probes until both H.264 and AAC show up: a player joining a live stream
 * gets video from the next keyframe only, so one probe may end before it.
 */
async function waitForCodecs(url, timeoutMs = 45_000) {
  const deadline = Date.now() + timeoutMs;
  let codecs = [];
  let lastError = null;
  while (Date.now() < deadline) {
    try {
      codecs = await probeCodecs(url);
      lastError = null;
      if (codecs.includes("h264") && codecs.includes("aac")) return codecs;
    } catch (error) {
      lastError = error;
    }
  }
  throw new Error(`ffprobe found ${JSON.stringify(codecs)} in ${url}, wanted h264 and aac${lastError ? `: ${lastError.message}` : ""}`);
}

/** Waits until `p`'s live indicator shows `state` ("off": hidden). */
async function waitForIndicator(p, state, timeout = WAIT.timeout) {
  const selector = `[data-testid="live-indicator"][data-state="${state}"]`;
  await p.page.waitForSelector(selector, { state: state === "off" ? "hidden" : "visible", timeout });
}

/** The streaming states `p` was told, in order, repeats left out. */
function streamingStatesSeen(p) {
  const states = [];
  for (const frame of p.serverFrames) {
    if (frame.type !== "meeting_state") continue;
    const state = frame.streaming?.state;
    if (state !== states.at(-1)) states.push(state);
  }
  return states;
}

test("the host streams the meeting to RTMP from the Live stream dialog; everyone sees Live; the link is copied; a lost connection is retried; the host stops", async (t) => {
  const rtmp = await startRtmpServer();
  t.after(() => rtmp.stop());
  await withMeetingEnv(
    t,
    async ({ server, meeting, launch }) => {
      const hana = await launch("Hana");
      await hana.signIn(server.url, HOST);
      await hana.joinByLink(meeting.join_url);
      const bob = await launch("Bob");
      await bob.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.url });
      const bobId = await bob.joinByLink(meeting.join_url);
      await hana.waitForMediaFrom(bobId);

      // Not streamed yet: no indicator; only the host has the Live stream button.
      await hana.testid("stream-open").waitFor({ state: "visible", ...WAIT });
      for (const p of [hana, bob]) await waitForIndicator(p, "off");
      assert.equal(await bob.testid("stream-open").isVisible(), false, "only the host streams");

      // The dialog: push address, stream key (hidden as typed), watch address.
      await hana.testid("stream-open").click();
      await hana.testid("stream-dialog").waitFor(WAIT);
      assert.equal(await hana.testid("stream-key").getAttribute("type"), "password");
      await hana.testid("stream-push-url").fill(rtmp.url);
      await hana.testid("stream-watch-url").fill(WATCH_URL);
      // A key the server refuses: the dialog stays open and says why.
      await hana.testid("stream-key").fill("two words");
      await hana.testid("stream-start").click();
      await hana.testid("stream-error").filter({ hasText: "stream key" }).waitFor(WAIT);
      assert.equal(await hana.testid("stream-start").isEnabled(), true, "the dialog takes the corrected key");
      await hana.testid("stream-key").fill(STREAM_KEY);
      await hana.testid("stream-start").click();

      // Both indicators go to Live once nginx takes the stream; the dialog closed when it started.
      for (const p of [hana, bob]) await waitForIndicator(p, "live", LIVE_TIMEOUT_MS);
      assert.equal(await hana.testid("stream-dialog").count(), 0, "the dialog closes once the stream starts");
      assert.match(await bob.testid("live-label").innerText(), /Live/);
      assert.equal(await hana.testid("stream-open").isVisible(), false, "no second start while live");
      assert.deepEqual(streamingStatesSeen(bob), ["off", "starting", "live"]);

      // nginx publishes the stream under its key, as H.264 and AAC.
      const published = await rtmp.waitForPublishing((names) => names.includes(STREAM_KEY), 10_000);
      assert.ok(published.includes(STREAM_KEY), `nginx publishes ${JSON.stringify(published)}`);
      const codecs = await waitForCodecs(`${rtmp.url}/${STREAM_KEY}`);
      assert.ok(codecs.includes("h264") && codecs.includes("aac"), JSON.stringify(codecs));

      // The participant's menu: Watch and Copy link, no Stop.
      await bob.testid("live-indicator").click();
      await bob.testid("live-copy").waitFor({ state: "visible", ...WAIT });
      assert.equal(await bob.testid("live-watch").getAttribute("href"), WATCH_URL);
      assert.equal(await bob.testid("live-stop").isVisible(), false, "only hosts stop the stream");
      await bob.testid("live-copy").click();
      await bob.testid("meeting-notice").filter({ hasText: "copied" }).waitFor(WAIT);
      assert.equal(await bob.page.evaluate(() => navigator.clipboard.readText()), WATCH_URL);

      // Watch opens the watch address in a new tab (answered here instead of by the internet).
      await bob.context.route(`${WATCH_URL}**`, (route) =>
        route.fulfill({ status: 200, contentType: "text/html", body: "<title>watch</title>" }),
      );
      await bob.testid("live-indicator").click();
      const [tab] = await Promise.all([bob.context.waitForEvent("page", WAIT), bob.testid("live-watch").click()]);
      await tab.waitForLoadState("domcontentloaded");
      assert.equal(tab.url(), WATCH_URL);
      await tab.close();

      // The service goes away: everyone sees "reconnecting", only the host is told why; it comes back, so does the stream.
      await rtmp.kill();
      for (const p of [hana, bob]) await waitForIndicator(p, "reconnecting");
      assert.match(await bob.testid("live-label").innerText(), /reconnecting/);
      await hana.testid("meeting-notice").filter({ hasText: "interrupted" }).waitFor(WAIT);
      const interruption = hana.serverFrames.find((f) => f.type === "error" && /interrupted/.test(f.message));
      assert.equal(interruption?.code, "unavailable");
      assert.match(interruption.message, /trying again in \d+ s/);
      assert.ok(!bob.serverFrames.some((f) => f.type === "error"), "participants are not told of interruptions");
      await rtmp.start();
      for (const p of [hana, bob]) await waitForIndicator(p, "live", LIVE_TIMEOUT_MS);
      const again = await rtmp.waitForPublishing((names) => names.includes(STREAM_KEY), 10_000);
      assert.ok(again.includes(STREAM_KEY), `nginx publishes ${JSON.stringify(again)} after the reconnection`);

      // Neither the push address with its key nor the key alone ever reached a participant.
      for (const p of [hana, bob]) {
        assert.ok(!JSON.stringify(p.serverFrames).includes(STREAM_KEY), `${p.name} was never sent the stream key`);
      }
      // The host's browser kept the addresses for this meeting, not the key.
      const saved = await hana.page.evaluate((number) => localStorage.getItem(`yunhui.liveStream.${number}`), meeting.number);
      assert.deepEqual(JSON.parse(saved ?? "null"), { pushUrl: rtmp.url, watchUrl: WATCH_URL });

      // The host stops from the indicator's menu: both indicators go, nginx no longer publishes.
      await hana.testid("live-indicator").click();
      await hana.testid("live-stop").click();
      for (const p of [hana, bob]) await waitForIndicator(p, "off");
      const after = await rtmp.waitForPublishing((names) => !names.includes(STREAM_KEY), 10_000);
      assert.ok(!after.includes(STREAM_KEY), `nginx still publishes ${JSON.stringify(after)} after the stop`);

      // Starting again: the dialog offers the remembered addresses, the key is typed again.
      await hana.testid("stream-open").waitFor({ state: "visible", ...WAIT });
      await hana.testid("stream-open").click();
      assert.equal(await hana.testid("stream-push-url").inputValue(), rtmp.url);
      assert.equal(await hana.testid("stream-watch-url").inputValue(), WATCH_URL);
      assert.equal(await hana.testid("stream-key").inputValue(), "");
      await hana.testid("stream-cancel").click();
      await hana.testid("stream-dialog").waitFor({ state: "detached", ...WAIT });
      assert.equal(await bob.testid("stream-open").isVisible(), false, "still only the host streams");
    },
    { options: { live_streaming: true } },
  );
});
