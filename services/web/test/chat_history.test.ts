// Unit tests of how a chat's page of history and pushed messages are merged.

import assert from "node:assert/strict";
import { test } from "node:test";
import { mergeMessages } from "../src/chat_history.js";
import type { GroupChatMessage } from "../src/proto.js";

function message(id: string, text: string): GroupChatMessage {
  return { id, chat_id: "c", sender_account_id: "a", sender_name: "A", text, meeting: null, sent_at: 0 };
}

test("a message pushed while its page loaded is shown once, in the order sent", () => {
  const page = [message("0190-0002", "two"), message("0190-0003", "three")];
  const pushed = [message("0190-0003", "three"), message("0190-0004", "four")];
  assert.deepEqual(
    mergeMessages(page, pushed).map((m) => m.text),
    ["two", "three", "four"],
  );
});

test("an earlier page goes before what is shown, whatever order the pieces come in", () => {
  const shown = [message("0190-0005", "five")];
  const earlier = [message("0190-0001", "one"), message("0190-0002", "two")];
  assert.deepEqual(
    mergeMessages(shown, earlier).map((m) => m.text),
    ["one", "two", "five"],
  );
  assert.deepEqual(mergeMessages([], []), []);
});
