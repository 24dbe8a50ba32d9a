// Unit tests of when the page asks the server to restart its media: a failed
// connection at once, a disconnected one after a grace, and again, further
// apart, while the path stays down.

import assert from "node:assert/strict";
import { test } from "node:test";
import { DISCONNECTED_GRACE_MS, RETRY_AFTER_MS, decide } from "../src/media_path.js";
import { LIMITS } from "../src/proto.js";

const calm = { now: 100_000, disconnectedSince: null, lastRequest: null, attempts: 0 };

test("connections that are up need nothing, and nothing negotiated is not up", () => {
  assert.deepEqual(decide({ ...calm, states: ["connected", "connected"] }), { kind: "up" });
  assert.deepEqual(decide({ ...calm, states: [] }), { kind: "wait", ms: null });
  assert.deepEqual(decide({ ...calm, states: ["connecting", "connected"] }), { kind: "wait", ms: null });
});

test("a failed connection is restarted at once", () => {
  assert.deepEqual(decide({ ...calm, states: ["connected", "failed"] }), { kind: "restart" });
});

test("a disconnected connection is given a grace to recover on its own", () => {
  const since = calm.now - 1000;
  assert.deepEqual(decide({ ...calm, states: ["disconnected", "connected"], disconnectedSince: since }), {
    kind: "wait",
    ms: DISCONNECTED_GRACE_MS - 1000,
  });
  assert.deepEqual(
    decide({ ...calm, states: ["disconnected", "disconnected"], disconnectedSince: calm.now - DISCONNECTED_GRACE_MS }),
    { kind: "restart" },
  );
});

test("while the path stays down the restart is asked for again, further apart, never sooner than the server allows", () => {
  let previous = 0;
  for (let attempts = 1; attempts <= RETRY_AFTER_MS.length + 2; attempts++) {
    const delay = RETRY_AFTER_MS[Math.min(attempts - 1, RETRY_AFTER_MS.length - 1)];
    assert.ok(delay >= previous, "the delays do not shrink");
    assert.ok(delay > LIMITS.media_restart_interval_ms, "the server would refuse a repeat this soon");
    previous = delay;
    const asked = calm.now - delay + 1;
    // Failed or not negotiated yet: the request is in flight, so wait for it.
    for (const states of [["failed"], [], ["connecting"]] as RTCPeerConnectionState[][]) {
      assert.deepEqual(decide({ ...calm, states, lastRequest: asked, attempts }), { kind: "wait", ms: 1 });
    }
    assert.deepEqual(decide({ ...calm, states: ["connecting"], lastRequest: calm.now - delay, attempts }), { kind: "restart" });
  }
  // Up again: the next outage starts over.
  assert.deepEqual(decide({ ...calm, states: ["connected", "connected"], lastRequest: calm.now, attempts: 3 }), { kind: "up" });
});
