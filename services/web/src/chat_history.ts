// A group chat's messages as a page shows them: pages of history and pushed
// messages merged in the order they were sent, each once. Message ids are
// time-ordered (UUID v7), so their text order is the order sent.

import type { GroupChatMessage } from "./proto";

/** `older` and `newer` together, without the same message twice, oldest first. */
export function mergeMessages(older: readonly GroupChatMessage[], newer: readonly GroupChatMessage[]): GroupChatMessage[] {
  const byId = new Map<string, GroupChatMessage>();
  for (const message of [...older, ...newer]) byId.set(message.id, message);
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
