// What the page does when its meeting's signaling socket closes: join again
// (main.ts does, showing "Reconnecting…"), or show why the meeting is over.

import { CLOSE_JOIN_AGAIN } from "./proto.js";

/**
 * Whether a closed signaling socket means "join again": the server asked
 * for it (the meeting moved to another server) or the connection dropped
 * without a close (the server went away). Any other close is final: the
 * meeting ended, the host removed this participant.
 */
export function meansJoinAgain(close: { code: number; wasClean: boolean }): boolean {
  return close.code === CLOSE_JOIN_AGAIN || !close.wasClean;
}

/**
 * Whether a join that failed with `code` after a lost connection is worth
 * another try: the server is not back yet, or the meeting's new home is not
 * ready yet.
 */
export function mayRetryJoin(code: string | undefined): boolean {
  return code === "connection_failed" || code === "unavailable";
}
