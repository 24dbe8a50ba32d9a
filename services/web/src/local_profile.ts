// What the browser remembers between visits: the display name and the
// signed-in session. Kept in localStorage under `yunhui.*` keys.

import type { Session } from "./proto";

const NAME_KEY = "yunhui.displayName";
const SESSION_KEY = "yunhui.session";
const DEVICE_KEY = "yunhui.device";
/** Dispatched on `window` when this page signs in or out. */
export const SESSION_EVENT = "yunhui:session";

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
  /** A random id for this browser, made on first use. The server bars the
   * device of someone the host removed from rejoining that meeting. */
  deviceId(): string | undefined {
    const known = read(DEVICE_KEY);
    if (known && /^[A-Za-z0-9_-]{16,64}$/.test(known)) return known;
    // getRandomValues, unlike randomUUID, works on plain-http deployments too.
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    const made = `web-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
    write(DEVICE_KEY, made);
    return read(DEVICE_KEY) === made ? made : undefined;
  },

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
  rememberSession: (session: Session) => {
    write(SESSION_KEY, JSON.stringify(session));
    window.dispatchEvent(new Event(SESSION_EVENT));
  },
  forgetSession: () => {
    write(SESSION_KEY, null);
    window.dispatchEvent(new Event(SESSION_EVENT));
  },
};
