// Renews the stored session when session_renewal.ts says so: at start-up,
// before the page uses it, and every minute while it is open. Tabs take
// turns through a Web Lock and re-read the stored session inside it, so a
// refresh token is never presented twice (which would end the sign-in).

import { ApiRequestError, api } from "./api";
import { localProfile } from "./local_profile";
import { RENEW_EVERY_MS, renewalOf } from "./session_renewal";

const LOCK = "yunhui.session.renewal";

async function renewNow(): Promise<void> {
  const session = localProfile.session();
  if (!session || renewalOf(session, Date.now()) !== "renew") return;
  try {
    localProfile.rememberSession(await api.refreshSession({ refresh_token: session.refresh_token }));
  } catch (e) {
    // Refused (expired, reused, the account disabled): signed out. A
    // network failure keeps the session for the next try.
    if (e instanceof ApiRequestError && e.status !== 0) localProfile.forgetSession();
  }
}

/** Renews the stored session if it is due; resolves once done. */
export async function renewSession(): Promise<void> {
  const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
  if (locks) await locks.request(LOCK, renewNow);
  else await renewNow();
}

/** Renews at once, then every minute; resolves after the first. */
export async function keepSessionFresh(): Promise<void> {
  window.setInterval(() => void renewSession(), RENEW_EVERY_MS);
  await renewSession();
}
