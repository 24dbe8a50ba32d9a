// Unit tests of what the page does when its signaling socket closes: join
// again, or show why the meeting is over.

import assert from "node:assert/strict";
import { test } from "node:test";
import { CLOSE_JOIN_AGAIN } from "../src/proto.js";
import { mayRetryJoin, meansJoinAgain } from "../src/reconnect.js";

test("the server's 'join again' and a dropped connection mean join again", () => {
  assert.equal(meansJoinAgain({ code: CLOSE_JOIN_AGAIN, wasClean: true }), true);
  // The browser's code for a connection that ended without a close frame.
  assert.equal(meansJoinAgain({ code: 1006, wasClean: false }), true);
});

test("a close the server meant (meeting ended, removed) is final", () => {
  assert.equal(meansJoinAgain({ code: 1000, wasClean: true }), false);
  assert.equal(meansJoinAgain({ code: 1008, wasClean: true }), false);
});

test("joining again is retried while the server is away or the meeting is moving", () => {
  assert.equal(mayRetryJoin("connection_failed"), true);
  assert.equal(mayRetryJoin("unavailable"), true);
  for (const code of ["meeting_ended", "entry_denied", "wrong_password", "not_invited", undefined]) {
    assert.equal(mayRetryJoin(code), false, String(code));
  }
});
