// Unit tests of the played-level arithmetic: RMS of a block and the loudest
// block of a sliding window.

import assert from "node:assert/strict";
import { test } from "node:test";
import { LevelWindow, rms } from "../src/audio_levels.js";

test("RMS of silence is 0, of a full-scale square wave 1, of a sine about 0.707", () => {
  assert.equal(rms([]), 0);
  assert.equal(rms(new Float32Array(128)), 0);
  assert.equal(rms([1, -1, 1, -1]), 1);
  const sine = Float32Array.from({ length: 4800 }, (_, i) => Math.sin((2 * Math.PI * 400 * i) / 48000));
  assert.ok(Math.abs(rms(sine) - Math.SQRT1_2) < 0.001);
  assert.ok(Math.abs(rms(sine.map((s) => s * 0.2)) - 0.2 * Math.SQRT1_2) < 0.001, "a gain scales the level");
});

test("the window holds the loudest recent level and forgets older ones", () => {
  const window = new LevelWindow(1000);
  window.add(0.5, 0);
  window.add(0, 400);
  window.add(0.1, 800);
  assert.equal(window.peak(900), 0.5);
  assert.equal(window.peak(1200), 0.1, "the burst at 0 ms is out of the window");
  assert.equal(window.peak(5000), 0);
});
