// One headless Chromium per participant (Debian's /usr/bin/chromium, fake
// camera and microphone), each with a fresh profile, plus the page helpers the
// tests share: join flows and WebRTC statistics.

import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

const ARGS = [
  "--use-fake-device-for-media-stream",
  "--use-fake-ui-for-media-stream",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
  "--autoplay-policy=no-user-gesture-required",
  // Several browsers share two cores: keep hidden pages running at full speed.
  "--disable-background-timer-throttling",
  "--disable-renderer-backgrounding",
  "--disable-backgrounding-occluded-windows",
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class Participant {
  /** @param {string} name @param {import("playwright-core").BrowserContext} context */
  constructor(name, context, profileDir) {
    this.name = name;
    this.context = context;
    this.profileDir = profileDir;
    this.page = context.pages()[0];
    this.console = [];
    /** Every signaling frame the server sent this browser, parsed. */
    this.serverFrames = [];
    this.page.on("console", (msg) => this.console.push(`[${msg.type()}] ${msg.text()}`));
    this.page.on("pageerror", (error) => this.console.push(`[pageerror] ${error.message}`));
    this.page.on("websocket", (ws) => {
      ws.on("framereceived", (frame) => {
        try {
          this.serverFrames.push(JSON.parse(String(frame.payload)));
        } catch {
          // Not JSON: not ours.
        }
      });
    });
  }

  async close() {
    await this.context.close().catch(() => undefined);
    await rm(this.profileDir, { recursive: true, force: true }).catch(() => undefined);
  }

  testid(id) {
    return this.page.getByTestId(id);
  }

  /** Opens a join link, types a name and joins. */
  async joinByLink(url) {
    await this.askToJoinByLink(url);
    return this.waitJoined();
  }

  /** Opens a join link, types a name and clicks Join (the join may be put on hold). */
  async askToJoinByLink(url) {
    await this.page.goto(url);
    await this.testid("display-name").fill(this.name);
    await this.testid("join-button").click();
  }

  /** Signs in on the home page; later joins from this browser carry the session. */
  async signIn(serverUrl, { email, password }) {
    await this.page.goto(`${serverUrl}/`);
    await this.testid("signin-login").fill(email);
    await this.testid("signin-password").fill(password);
    await this.testid("signin-submit").click();
    await this.testid("signed-in-as").waitFor({ timeout: 10_000 });
  }

  /** Waits until the join is on hold; returns the reason the page shows. */
  async waitWaiting(timeout = 15_000) {
    await this.page.waitForFunction(() => window.yunhui?.state === "waiting", null, { timeout });
    return this.page.evaluate(() => window.yunhui.waitingReason);
  }

  /** Opens the home page and joins with number and password. */
  async joinByNumber(serverUrl, number, password) {
    await this.page.goto(`${serverUrl}/`);
    await this.testid("meeting-number").fill(number);
    await this.testid("display-name").fill(this.name);
    if (password !== undefined) await this.testid("meeting-password").fill(password);
    await this.testid("join-button").click();
  }

  /** Waits until the page is in the meeting; returns own participant id. */
  async waitJoined(timeout = 15_000) {
    await this.page.waitForFunction(() => window.yunhui?.state === "joined" && !!window.yunhui.participantId, null, {
      timeout,
    });
    this.participantId = await this.page.evaluate(() => window.yunhui.participantId);
    return this.participantId;
  }

  /**
   * Inbound RTP counters of the tracks this browser receives from
   * `publisherId`, found through that participant's tile (its <video> holds
   * the publisher's stream) and the subscriber connection's receivers.
   */
  inboundFrom(publisherId) {
    return this.page.evaluate(async (publisherId) => {
      const pc = window.yunhui.subscriberPc;
      const video = document.querySelector(`[data-testid="tile-${publisherId}"] video`);
      const stream = video?.srcObject;
      if (!pc || !stream) return { audio: null, video: null, at: Date.now() };
      const trackIds = new Set(stream.getTracks().map((t) => t.id));
      const result = { audio: null, video: null, at: Date.now() };
      for (const receiver of pc.getReceivers()) {
        if (!trackIds.has(receiver.track.id)) continue;
        const report = await receiver.getStats();
        report.forEach((s) => {
          if (s.type !== "inbound-rtp") return;
          result[s.kind] = {
            bytesReceived: s.bytesReceived ?? 0,
            packetsReceived: s.packetsReceived ?? 0,
            framesDecoded: s.framesDecoded ?? 0,
            frameWidth: s.frameWidth ?? 0,
            totalAudioEnergy: s.totalAudioEnergy ?? 0,
          };
        });
      }
      return result;
    }, publisherId);
  }

  /**
   * Waits until audio and video from `publisherId` are flowing and decoding.
   * Returns two samples taken `gapMs` apart so callers can assert growth.
   */
  async waitForMediaFrom(publisherId, timeoutMs = 30_000, gapMs = 1500) {
    const deadline = Date.now() + timeoutMs;
    let last;
    while (Date.now() < deadline) {
      last = await this.inboundFrom(publisherId);
      if (last.audio?.bytesReceived > 0 && last.video?.framesDecoded > 0 && last.video?.frameWidth > 0) {
        await sleep(gapMs);
        return [last, await this.inboundFrom(publisherId)];
      }
      await sleep(250);
    }
    throw new Error(`${this.name} got no audio+video from ${publisherId} within ${timeoutMs} ms: ${JSON.stringify(last)}`);
  }

  /**
   * Polls until `kind` ("audio" or "video") bytes from `publisherId` stop
   * growing for `quietMs`. Returns the samples at both ends of that quiet
   * window; throws if the media never goes quiet within `timeoutMs`.
   */
  async waitForStill(publisherId, kind, { quietMs = 2000, timeoutMs = 15_000 } = {}) {
    const deadline = Date.now() + timeoutMs;
    let since = await this.inboundFrom(publisherId);
    let last = since;
    while (Date.now() < deadline) {
      await sleep(500);
      last = await this.inboundFrom(publisherId);
      if ((last[kind]?.bytesReceived ?? 0) !== (since[kind]?.bytesReceived ?? 0)) {
        since = last;
        continue;
      }
      if (last.at - since.at >= quietMs) return [since, last];
    }
    throw new Error(`${this.name} still receives ${kind} from ${publisherId} after ${timeoutMs} ms: ${JSON.stringify(last)}`);
  }

  /** Polls until `kind` bytes from `publisherId` grow; returns the two samples. */
  async waitForGrowth(publisherId, kind, { gapMs = 1000, timeoutMs = 15_000 } = {}) {
    const deadline = Date.now() + timeoutMs;
    let before = await this.inboundFrom(publisherId);
    while (Date.now() < deadline) {
      await sleep(gapMs);
      const after = await this.inboundFrom(publisherId);
      if ((after[kind]?.bytesReceived ?? 0) > (before[kind]?.bytesReceived ?? 0)) return [before, after];
      before = after;
    }
    throw new Error(`${this.name} receives no ${kind} from ${publisherId} within ${timeoutMs} ms: ${JSON.stringify(before)}`);
  }

  /**
   * Ids of the participants this page receives a `kind` ("audio" or
   * "video") track from now, sorted (`window.yunhui.receivedTracks`: a
   * track the SFU took away in a renegotiation is gone from its stream).
   */
  receivingFrom(kind) {
    return this.page.evaluate(
      (kind) => [...new Set(window.yunhui.receivedTracks().filter((t) => t.kind === kind).map((t) => t.participantId))].sort(),
      kind,
    );
  }

  /**
   * The audio energy this page received from each remote participant during
   * `windowMs` (growth of WebRTC stats' `totalAudioEnergy`); participants
   * with no audio track are absent.
   */
  async heardEnergy(windowMs = 1000) {
    const before = await this.page.evaluate(() => window.yunhui.audioEnergy());
    await sleep(windowMs);
    const after = await this.page.evaluate(() => window.yunhui.audioEnergy());
    return Object.fromEntries(Object.entries(after).map(([id, energy]) => [id, energy - (before[id] ?? 0)]));
  }

  /** In a meeting with interpretation: what this page plays of each remote participant now, after its gain (`window.yunhui.playedLevels`, RMS 0..1). */
  playedLevels() {
    return this.page.evaluate(() => window.yunhui.playedLevels());
  }

  /** The gain this page plays each remote participant at (`window.yunhui.playbackGains`). */
  playbackGains() {
    return this.page.evaluate(() => window.yunhui.playbackGains());
  }

  /**
   * Polls `probe()` (async) until `accept(value)` holds; returns that value.
   * Throws, naming `what` and the last value, after `timeoutMs`.
   */
  async eventually(what, probe, accept, { timeoutMs = 20_000, everyMs = 300 } = {}) {
    const deadline = Date.now() + timeoutMs;
    let value;
    while (Date.now() < deadline) {
      value = await probe();
      if (accept(value)) return value;
      await sleep(everyMs);
    }
    throw new Error(`${this.name}: ${what} not within ${timeoutMs} ms; last: ${JSON.stringify(value)}`);
  }

  diagnostics() {
    return `--- ${this.name} console ---\n${this.console.slice(-30).join("\n")}\n--- ${this.name} frames ---\n${this.serverFrames
      .slice(-15)
      .map((f) => JSON.stringify(f).slice(0, 200))
      .join("\n")}`;
  }
}

/**
 * Launches a fresh Chromium for one participant.
 * `timezoneId` (an IANA zone) sets the browser's own time zone;
 * `executablePath` runs another launcher (e.g. Chromium inside a network
 * namespace, `harness/netns.js`); `secureOrigin` treats that http origin as
 * secure, for a server that is not on loopback; `extraArgs` go on Chromium's
 * command line.
 */
export async function launchParticipant(name, { timezoneId, executablePath, secureOrigin, extraArgs = [] } = {}) {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)`);
  }
  const profileDir = await mkdtemp(join(tmpdir(), `yunhui-chromium-${name.toLowerCase()}-`));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: executablePath ?? CHROMIUM,
    headless: true,
    // Camera and microphone need a secure context: loopback is one, another address is not.
    args: [...ARGS, ...(secureOrigin ? [`--unsafely-treat-insecure-origin-as-secure=${secureOrigin}`] : []), ...extraArgs],
    viewport: { width: 1100, height: 700 },
    ...(timezoneId ? { timezoneId } : {}),
  });
  return new Participant(name, context, profileDir);
}
