// Unit tests of when a stored session is renewed with its refresh token.

import assert from "node:assert/strict";
import { test } from "node:test";
import type { Session } from "../src/proto.js";
import { RENEW_BEFORE_MS, renewalOf } from "../src/session_renewal.js";

const now = 1_900_000_000_000;

function session(tokenLeftMs: number, refreshLeftMs: number, refreshToken = "r1"): Session {
  return {
    token: "t1",
    expires_at: (now + tokenLeftMs) / 1000,
    refresh_token: refreshToken,
    refresh_expires_at: (now + refreshLeftMs) / 1000,
    account: {} as Session["account"],
  };
}

test("a token with time left is kept", () => {
  assert.equal(renewalOf(session(RENEW_BEFORE_MS + 60_000, 30 * 86_400_000), now), "keep");
});

test("a token about to run out, or run out, is renewed while the refresh token is good", () => {
  assert.equal(renewalOf(session(RENEW_BEFORE_MS - 1_000, 86_400_000), now), "renew");
  assert.equal(renewalOf(session(-3_600_000, 86_400_000), now), "renew");
});

test("without a good refresh token a session lasts until its token runs out", () => {
  assert.equal(renewalOf(session(60_000, -1_000), now), "keep");
  assert.equal(renewalOf(session(-1_000, -1_000), now), "drop");
  assert.equal(renewalOf(session(-1_000, 86_400_000, ""), now), "drop");
});
