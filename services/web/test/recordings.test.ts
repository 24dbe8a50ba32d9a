// Unit tests of the recording rules the browser test walks only once: what
// the host may do in each recording state, and how lengths and sizes read.

import assert from "node:assert/strict";
import { test } from "node:test";
import { RECORDING_ACTIONS, RECORDING_STATES, formatDuration, formatSize } from "../src/recordings.js";

test("the host starts only when off, pauses only while recording, resumes only while paused, and may always stop", () => {
  assert.deepEqual(RECORDING_STATES.off.actions, ["start"]);
  assert.deepEqual(RECORDING_STATES.starting.actions, ["stop"]);
  assert.deepEqual(RECORDING_STATES.recording.actions, ["pause", "stop"]);
  assert.deepEqual(RECORDING_STATES.paused.actions, ["resume", "stop"]);
  assert.equal(RECORDING_ACTIONS.pause.command.action, "pause_recording");
});

test("everyone sees an indicator in every state but off", () => {
  assert.equal(RECORDING_STATES.off.indicator, null);
  assert.match(RECORDING_STATES.recording.indicator ?? "", /^Recording /);
  assert.match(RECORDING_STATES.paused.indicator ?? "", /paused/);
  assert.notEqual(RECORDING_STATES.starting.indicator, null);
});

test("lengths read as m:ss or h:mm:ss", () => {
  assert.equal(formatDuration(0), "0:00");
  assert.equal(formatDuration(7_400), "0:07");
  assert.equal(formatDuration(65_000), "1:05");
  assert.equal(formatDuration(3_723_000), "1:02:03");
});

test("sizes read in binary units with one decimal", () => {
  assert.equal(formatSize(900), "900 B");
  assert.equal(formatSize(1_536), "1.5 KB");
  assert.equal(formatSize(5 * 1024 * 1024), "5.0 MB");
  assert.equal(formatSize(3 * 1024 ** 3), "3.0 GB");
});
