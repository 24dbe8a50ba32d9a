// What the browser remembers between visits: the display name, the
// signed-in session, whether it is a meeting-room terminal (room mode) and
// how its room view is set, and, per meeting number, where the host last
// streamed it live (push and watch address, never the stream key). Kept in
// localStorage under `yunhui.*` keys.

import type { Session } from "./proto";
import { DEFAULT_ROOM_VIEW, roomViewFrom, type RoomViewSettings } from "./room_view";
import { renewalOf } from "./session_renewal";

const NAME_KEY = "yunhui.displayName";
const SESSION_KEY = "yunhui.session";
const DEVICE_KEY = "yunhui.device";
const CLIENT_MODE_KEY = "yunhui.clientMode";
const ROOM_VIEW_KEY = "yunhui.roomView";
/** Followed by the meeting number. */
const LIVE_STREAM_PREFIX = "yunhui.liveStream.";
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
      // A session past its token's expiry is kept while its refresh token
      // can renew it (session_keeper.ts does, before the page uses it).
      if (renewalOf(session, Date.now()) === "drop") {
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

  /** Whether this browser is a meeting-room terminal (F-CTL-9): room mode rather than desktop mode. */
  roomMode: (): boolean => read(CLIENT_MODE_KEY) === "room",
  setRoomMode: (on: boolean) => write(CLIENT_MODE_KEY, on ? "room" : null),
  /** The terminal's room view settings (gallery size, custom view, rotation). */
  roomView(): RoomViewSettings {
    try {
      return roomViewFrom(JSON.parse(read(ROOM_VIEW_KEY) ?? "{}"));
    } catch {
      return { ...DEFAULT_ROOM_VIEW };
    }
  },
  rememberRoomView: (settings: RoomViewSettings) =>
    write(ROOM_VIEW_KEY, JSON.stringify({ pageSize: settings.pageSize, perScreen: settings.perScreen, rotationSeconds: settings.rotationSeconds })),

  /** Where this browser last streamed meeting `number` live (empty strings: never). */
  streamAddresses(number: string): { pushUrl: string; watchUrl: string } {
    try {
      const saved = JSON.parse(read(LIVE_STREAM_PREFIX + number) ?? "{}") as { pushUrl?: unknown; watchUrl?: unknown };
      return {
        pushUrl: typeof saved.pushUrl === "string" ? saved.pushUrl : "",
        watchUrl: typeof saved.watchUrl === "string" ? saved.watchUrl : "",
      };
    } catch {
      return { pushUrl: "", watchUrl: "" };
    }
  },
  /** Remembers meeting `number`'s push and watch address; the stream key is a secret and never kept. */
  rememberStreamAddresses: (number: string, addresses: { pushUrl: string; watchUrl: string }) =>
    write(LIVE_STREAM_PREFIX + number, JSON.stringify({ pushUrl: addresses.pushUrl, watchUrl: addresses.watchUrl })),
};
