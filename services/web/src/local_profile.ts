// What the browser remembers between visits: the display name and the
// signed-in session. Kept in localStorage under `yunhui.*` keys.

import type { Session } from "./proto";

const NAME_KEY = "yunhui.displayName";
const SESSION_KEY = "yunhui.session";

function read(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function write(key: string, value: string | null): void {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // Storage disabled (private mode): the app still works, it just forgets.
  }
}

export const localProfile = {
  displayName: (): string => read(NAME_KEY) ?? "",
  rememberDisplayName: (name: string) => write(NAME_KEY, name),

  session(): Session | null {
    const raw = read(SESSION_KEY);
    if (!raw) return null;
    try {
      const session = JSON.parse(raw) as Session;
      if (session.expires_at * 1000 <= Date.now()) {
        write(SESSION_KEY, null);
        return null;
      }
      return session;
    } catch {
      return null;
    }
  },
  rememberSession: (session: Session) => write(SESSION_KEY, JSON.stringify(session)),
  forgetSession: () => write(SESSION_KEY, null),
};
