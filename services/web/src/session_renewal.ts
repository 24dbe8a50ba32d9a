// Keeping a signed-in browser signed in (F-ACC-1): a session's token lasts
// a week, its refresh token 30 days. Shortly before the token expires (or
// after, while the refresh token is good) it is exchanged for a new
// session; each refresh token works once, and one presented twice ends the
// sign-in everywhere, so tabs take turns (a Web Lock) and each re-reads
// what another tab may have renewed already.

import type { Session } from "./proto";

/** How long before its token expires a session is renewed. */
export const RENEW_BEFORE_MS = 5 * 60_000;
/** How often an open page looks. */
export const RENEW_EVERY_MS = 60_000;

/** What to do with a stored session at `nowMs`. */
export type Renewal = "keep" | "renew" | "drop";

export function renewalOf(session: Session, nowMs: number): Renewal {
  const tokenLeft = session.expires_at * 1000 - nowMs;
  if (tokenLeft > RENEW_BEFORE_MS) return "keep";
  const refreshable = typeof session.refresh_token === "string" && session.refresh_token.length > 0
    && session.refresh_expires_at * 1000 > nowMs;
  if (refreshable) return "renew";
  return tokenLeft > 0 ? "keep" : "drop";
}
