// Unit tests of room mode's view settings: what is read back from storage,
// and moving a participant in the custom view's order.

import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_ROOM_VIEW, moveInSequence, roomViewFrom } from "../src/room_view.js";

test("stored settings are kept only when they are among the choices", () => {
  assert.deepEqual(roomViewFrom({ pageSize: 49, perScreen: 1, rotationSeconds: 5 }), { pageSize: 49, perScreen: 1, rotationSeconds: 5 });
  assert.deepEqual(roomViewFrom({ pageSize: 50, perScreen: "4", rotationSeconds: -1 }), DEFAULT_ROOM_VIEW);
  assert.deepEqual(roomViewFrom(null), DEFAULT_ROOM_VIEW);
  assert.deepEqual(roomViewFrom("garbage"), DEFAULT_ROOM_VIEW);
});

test("a participant moves one place, and not past either end", () => {
  assert.deepEqual(moveInSequence(["a", "b", "c"], "c", -1), ["a", "c", "b"]);
  assert.deepEqual(moveInSequence(["a", "b", "c"], "a", 1), ["b", "a", "c"]);
  assert.deepEqual(moveInSequence(["a", "b", "c"], "a", -1), ["a", "b", "c"]);
  assert.deepEqual(moveInSequence(["a", "b", "c"], "c", 1), ["a", "b", "c"]);
  assert.deepEqual(moveInSequence(["a", "b"], "x", 1), ["a", "b"]);
});
