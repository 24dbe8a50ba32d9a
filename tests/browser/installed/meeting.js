// A meeting on an installed cluster (tests/kube/e2e-install.sh): the
// Tenant's administrator signs in at the address the Gateway exposes,
// schedules nothing by hand, starts a meeting and a colleague's browser joins
// it by number; each must decode the other's audio and video. Then, when
// YUNHUI_SFU_RESTART is set, that shell command deletes the SFU pod and the
// media must come back on its own (no rejoin by hand), and the time it took
// is reported. When YUNHUI_RECORD is set, the administrator then records the
// meeting in the cloud from the meeting page: the colleague sees the
// indicator, the recorder writes for a few seconds, the administrator stops.
//
// Environment:
//   YUNHUI_URL             where browsers open the web client
//   YUNHUI_ADMIN_EMAIL     the Tenant's first administrator
//   YUNHUI_ADMIN_PASSWORD  their password (from the Tenant's Secret)
//   YUNHUI_SFU_RESTART     optional: shell command that deletes the SFU pod
//   YUNHUI_SIP_DIALS       optional: JSON list of {name, command}, each a
//                          shell command with {number} in it that has a SIP
//                          room system (SIPp) dial into the meeting, key in
//                          its password, talk and hang up; one after another,
//                          the administrator must hear each (`sip_join_ms`
//                          in the result, by name)
//   YUNHUI_RECORD          optional: `1` records the meeting (the Tenant may
//                          record, the MediaCluster runs a recorder); the
//                          recording's id goes to the result as `recording`
//   YUNHUI_RESULT          optional: file the measured figures go to (JSON)
//
// Exits non-zero with the browsers' consoles and last frames on failure.

import assert from "node:assert/strict";
import { exec, execSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { launchParticipant } from "../harness/browser.js";

const url = required("YUNHUI_URL").replace(/\/$/, "");
const admin = { email: required("YUNHUI_ADMIN_EMAIL"), password: required("YUNHUI_ADMIN_PASSWORD") };
const restart = process.env.YUNHUI_SFU_RESTART;
const sipDials = JSON.parse(process.env.YUNHUI_SIP_DIALS ?? "[]");
const resultFile = process.env.YUNHUI_RESULT;
const record = process.env.YUNHUI_RECORD === "1";
const MEETING_PASSWORD = "1357";
/** How long the recorder writes once its file is open. */
const RECORD_MS = 5_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

async function api(method, path, body, token) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

function assertFlowing(label, [before, after]) {
  assert.ok(after.audio.bytesReceived > before.audio.bytesReceived, `${label}: audio must keep arriving`);
  assert.ok(after.video.framesDecoded > before.video.framesDecoded, `${label}: video must keep decoding`);
  assert.ok(after.video.frameWidth > 0, `${label}: decoded video must have a width`);
}

/** Polls until video from `publisherId` decodes again after `since` frames. */
async function waitForDecodingAgain(participant, publisherId, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = await participant.inboundFrom(publisherId);
  const startFrames = last.video?.framesDecoded ?? 0;
  let seenDrop = false;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    last = await participant.inboundFrom(publisherId);
    const frames = last.video?.framesDecoded ?? 0;
    // A new connection restarts the counters; growth on either counts.
    if (frames < startFrames) seenDrop = true;
    if ((seenDrop && frames > 5) || frames > startFrames + 5) return last;
  }
  throw new Error(`${participant.name} decodes no video from ${publisherId} within ${timeoutMs} ms: ${JSON.stringify(last)}`);
}

/** Waits until `p`'s recording indicator shows `state` ("off": hidden). */
async function waitForIndicator(p, state, timeout = 30_000) {
  const selector = `[data-testid="recording-indicator"][data-state="${state}"]`;
  try {
    await p.page.waitForSelector(selector, { state: state === "off" ? "hidden" : "visible", timeout });
  } catch (error) {
    const shown = await p.page.evaluate(() => {
      const indicator = document.querySelector('[data-testid="recording-indicator"]');
      const start = document.querySelector('[data-testid="record-start"]');
      return { indicator: indicator?.dataset.state, text: indicator?.textContent, refusal: start?.title };
    });
    throw new Error(`${p.name}'s recording indicator is not ${state} after ${timeout} ms: ${JSON.stringify(shown)}`, { cause: error });
  }
}

/** Polls the host's recordings until one is being written; returns it. */
async function waitForFileBeingWritten(token, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let recordings = [];
  while (Date.now() < deadline) {
    recordings = await api("GET", "/api/v1/recordings", undefined, token);
    const writing = recordings.find((r) => r.state === "recording");
    if (writing) return writing;
    await sleep(250);
  }
  throw new Error(`no recording is being written ${timeoutMs} ms after the start: ${JSON.stringify(recordings)}`);
}

const participants = [];
const result = {};
let failed = false;
try {
  const session = await api("POST", "/api/v1/sessions", { login: admin.email, password: admin.password });
  const token = session.token;
  assert.ok(token, "signing in over the API gives a token");
  const meeting = await api("POST", "/api/v1/meetings", { topic: "Installed for real 实装验证", password: MEETING_PASSWORD }, token);
  result.meeting_number = meeting.number;

  const host = await launchParticipant("Admin");
  participants.push(host);
  const guest = await launchParticipant("Colleague");
  participants.push(guest);

  await host.signIn(url, admin);
  await host.joinByNumber(url, meeting.number, MEETING_PASSWORD);
  const hostId = await host.waitJoined(30_000);
  await guest.joinByNumber(url, meeting.number, MEETING_PASSWORD);
  const guestId = await guest.waitJoined(30_000);
  assert.notEqual(hostId, guestId);

  assertFlowing("colleague receiving the administrator", await guest.waitForMediaFrom(hostId, 45_000));
  assertFlowing("administrator receiving the colleague", await host.waitForMediaFrom(guestId, 45_000));
  console.log("meeting: both browsers decode each other's audio and video");

  if (restart) {
    const started = Date.now();
    execSync(restart, { stdio: "inherit" });
    const deleted = Date.now();
    await Promise.all([
      waitForDecodingAgain(guest, hostId, 120_000),
      waitForDecodingAgain(host, guestId, 120_000),
    ]);
    const back = Date.now();
    assertFlowing("colleague receiving the administrator after the SFU restart", await guest.waitForMediaFrom(hostId, 20_000));
    assertFlowing("administrator receiving the colleague after the SFU restart", await host.waitForMediaFrom(guestId, 20_000));
    for (const p of [host, guest]) {
      assert.equal(await p.page.evaluate(() => window.yunhui.state), "joined", `${p.name} is still in the meeting`);
    }
    assert.equal(await host.page.evaluate(() => window.yunhui.participantId), hostId, "nobody rejoined by hand");
    result.sfu_restart_ms = back - started;
    result.sfu_delete_ms = deleted - started;
    console.log(`sfu restart: media back in both browsers ${back - started} ms after the delete began`);
  }

  for (const { name, command: dial } of sipDials) {
    const command = dial.replaceAll("{number}", meeting.number);
    const sipp = new Promise((resolve) => {
      exec(command, (error, stdout, stderr) => resolve({ code: error ? (error.code ?? 1) : 0, output: `${stdout}${stderr}` }));
    });
    const dialled = Date.now();
    await host.page.waitForFunction(
      () => window.yunhui.participants.some((p) => p.display_name.startsWith("sip:")),
      null,
      { timeout: 45_000 },
    );
    const device = await host.page.evaluate(() => window.yunhui.participants.find((p) => p.display_name.startsWith("sip:")));
    result.sip_join_ms = { ...result.sip_join_ms, [name]: Date.now() - dialled };
    // The room system's G.711 reaches the administrator as Opus, not silence.
    const [, flowing] = await host.waitForGrowth(device.id, "audio", { timeoutMs: 20_000 });
    const start = flowing.audio.totalAudioEnergy;
    let energy = start;
    for (let i = 0; i < 30 && energy <= start; i++) {
      await new Promise((r) => setTimeout(r, 500));
      energy = (await host.inboundFrom(device.id)).audio?.totalAudioEnergy ?? 0;
    }
    assert.ok(energy > start, `${name}: the room system is heard, not silence (energy ${start} -> ${energy})`);
    const { code, output } = await sipp;
    assert.equal(code, 0, `${name}: SIPp finished its call (it hangs up itself):\n${output}`);
    await host.page.waitForFunction(
      (id) => !window.yunhui.participants.some((p) => p.id === id),
      device.id,
      { timeout: 15_000 },
    );
    console.log(`sip (${name}): ${device.display_name} dialled in, keyed in the password, was heard and hung up`);
  }

  if (record) {
    // Only the host has the Record button; the click goes over signaling,
    // signal hands the job to the recorder pod, which joins hidden.
    await host.testid("record-start").waitFor({ state: "visible", timeout: 20_000 });
    assert.equal(await guest.testid("record-start").isVisible(), false, "only the host records");
    const clicked = Date.now();
    await host.testid("record-start").click();
    await waitForIndicator(guest, "recording");
    result.recording_indicator_ms = Date.now() - clicked;
    assert.match(await guest.testid("recording-indicator").innerText(), /Recording/);
    const writing = await waitForFileBeingWritten(token, 30_000);
    const opened = Date.now();
    // The recorder is in the meeting now, hidden: nobody lists it.
    for (const p of [host, guest]) {
      const names = await p.page.evaluate(() => window.yunhui.participants.map((x) => x.display_name));
      assert.equal(names.length, 2, `${p.name} lists only the two browsers while recording: ${JSON.stringify(names)}`);
    }
    await sleep(RECORD_MS);
    await host.testid("record-stop").click();
    for (const p of [host, guest]) await waitForIndicator(p, "off");
    result.recording = { id: writing.id, recorded_ms: Date.now() - opened, took_ms: Date.now() - clicked };
    console.log(`recording: the colleague saw the indicator ${result.recording_indicator_ms} ms after the click; ${result.recording.recorded_ms} ms recorded, ${result.recording.took_ms} ms from Record to the indicator gone`);
  }
} catch (error) {
  failed = true;
  console.error(`FAIL: ${error.stack ?? error}`);
  for (const p of participants) console.error(p.diagnostics());
} finally {
  await Promise.all(participants.map((p) => p.close()));
  if (resultFile) writeFileSync(resultFile, JSON.stringify(result, null, 2));
}
process.exit(failed ? 1 : 0);
