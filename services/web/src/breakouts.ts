// Breakout room rules as data (F-BRK-1, the manual's 5.2 分组讨论): who is
// shown together, what a participant may do with the rooms (join their own,
// choose one, return to the main room, ask for help), the countdown, and
// the host's create and options commands from the manager's form. The
// server decides and enforces every move; these decide what the page shows
// and offers (unit-tested).

import type { HostCommand, Participant, ServerMessage } from "./proto";

/** A meeting's breakout rooms, as the wire describes them. */
export type BreakoutState = NonNullable<Extract<ServerMessage, { type: "breakouts" }>["breakouts"]>;
export type BreakoutOptions = BreakoutState["options"];
export type BreakoutAssignment = BreakoutState["assignment"];
export type BreakoutRoom = BreakoutState["rooms"][number];

/** The server's defaults (`BreakoutOptions::default`). */
export const DEFAULT_BREAKOUT_OPTIONS: BreakoutOptions = {
  allow_choose: false,
  allow_return: false,
  auto_move: true,
  countdown_seconds: 60,
};

/** The longest countdown the server takes, in seconds. */
export const LONGEST_COUNTDOWN_SECONDS = 3600;
/** The longest time after opening the rooms may be set to close, in minutes. */
export const LONGEST_CLOSE_AFTER_MINUTES = 24 * 60;

export const ASSIGNMENTS: readonly (readonly [BreakoutAssignment, string])[] = [
  ["random", "Automatically 自动分配"],
  ["manual", "Manually 手动分配"],
  ["self_select", "Let participants choose 参会者自选"],
];

export const MAIN_ROOM_NAME = "Main room 主会场";

/** Whether two participants are in the same room (the main room is `null`): only then do they see and hear each other. */
export function sameRoom(a: Pick<Participant, "breakout">, b: Pick<Participant, "breakout">): boolean {
  return (a.breakout ?? null) === (b.breakout ?? null);
}

/** The participants the video grid shows to `self`: those in the same room, in the given order. */
export function shownInGrid<P extends Pick<Participant, "id" | "breakout">>(participants: readonly P[], self: Pick<Participant, "breakout">): P[] {
  return participants.filter((p) => sameRoom(p, self));
}

/** The room `participantId` is assigned to, or `null`. */
export function assignedRoom(state: BreakoutState | null, participantId: string): string | null {
  return state?.rooms.find((room) => room.assigned.includes(participantId))?.id ?? null;
}

/** A room's name for people; the main room for `null` (or a room that is gone). */
export function roomName(state: BreakoutState | null, roomId: string | null): string {
  if (roomId === null) return MAIN_ROOM_NAME;
  return state?.rooms.find((room) => room.id === roomId)?.name ?? MAIN_ROOM_NAME;
}

/** What the breakout banner offers one participant. */
export interface BreakoutChoices {
  /** The room they are in (`null`: the main room). */
  inRoom: string | null;
  /** "Join my room": the room they are assigned to, when open and they are not in it. */
  joinAssigned: string | null;
  /** Rooms they may pick (the options let participants choose; a host visits any). */
  choose: BreakoutRoom[];
  /** "Return to main room": in a room, and returning is allowed (a host always may). */
  returnToMain: boolean;
  /** "Ask for help": a participant in a breakout room. */
  askForHelp: boolean;
}

/** What `self` may do with the rooms now (nothing while they are not open). */
export function breakoutChoices(state: BreakoutState | null, self: Pick<Participant, "id" | "role" | "breakout">): BreakoutChoices {
  const inRoom = self.breakout ?? null;
  const none: BreakoutChoices = { inRoom, joinAssigned: null, choose: [], returnToMain: false, askForHelp: false };
  if (!state?.open) return none;
  const isHost = self.role === "host";
  const assigned = assignedRoom(state, self.id);
  return {
    inRoom,
    joinAssigned: !isHost && assigned !== null && assigned !== inRoom ? assigned : null,
    choose: isHost || state.options.allow_choose ? state.rooms.filter((room) => room.id !== inRoom) : [],
    returnToMain: inRoom !== null && (isHost || state.options.allow_return),
    askForHelp: !isHost && inRoom !== null,
  };
}

/** Whole seconds left until everyone is back in the main room, while closing; `null` otherwise. */
export function countdownSeconds(state: BreakoutState | null, nowMs: number): number | null {
  if (!state?.open || state.closing_at_ms === undefined) return null;
  return Math.max(0, Math.ceil((state.closing_at_ms - nowMs) / 1000));
}

/** Whole seconds until open rooms start closing by themselves (`close_after_seconds`); `null` when they do not. */
export function autoCloseSeconds(state: BreakoutState | null, nowMs: number): number | null {
  const after = state?.options.close_after_seconds;
  if (!state?.open || state.closing_at_ms !== undefined || after === undefined || state.opened_at_ms === undefined) return null;
  return Math.max(0, Math.ceil((state.opened_at_ms + after * 1000 - nowMs) / 1000));
}

/** "m:ss". */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** The options as the host's form holds them (text fields as typed). */
export interface OptionsForm {
  allowChoose: boolean;
  allowReturn: boolean;
  autoMove: boolean;
  /** Minutes after opening to close by themselves; empty: when the host closes them. */
  closeAfterMinutes: string;
  countdownSeconds: string;
}

export function optionsForm(options: BreakoutOptions): OptionsForm {
  return {
    allowChoose: options.allow_choose,
    allowReturn: options.allow_return,
    autoMove: options.auto_move,
    closeAfterMinutes: options.close_after_seconds === undefined ? "" : String(options.close_after_seconds / 60),
    countdownSeconds: String(options.countdown_seconds),
  };
}

/** The options the form describes, or what is wrong with it. */
export function optionsFromForm(form: OptionsForm): BreakoutOptions | string {
  const countdown = Number(form.countdownSeconds.trim() || "0");
  if (!Number.isInteger(countdown) || countdown < 0 || countdown > LONGEST_COUNTDOWN_SECONDS) {
    return `Countdown: 0 to ${LONGEST_COUNTDOWN_SECONDS} seconds. 倒计时为 0 至 ${LONGEST_COUNTDOWN_SECONDS} 秒。`;
  }
  const options: BreakoutOptions = {
    allow_choose: form.allowChoose,
    allow_return: form.allowReturn,
    auto_move: form.autoMove,
    countdown_seconds: countdown,
  };
  const minutes = form.closeAfterMinutes.trim();
  if (minutes) {
    const value = Number(minutes);
    if (!Number.isFinite(value) || value <= 0 || value > LONGEST_CLOSE_AFTER_MINUTES) {
      return `Close after: 1 to ${LONGEST_CLOSE_AFTER_MINUTES} minutes, or empty. 自动关闭时间为 1 至 ${LONGEST_CLOSE_AFTER_MINUTES} 分钟，或留空。`;
    }
    options.close_after_seconds = Math.max(1, Math.round(value * 60));
  }
  return options;
}

/**
 * The host's command that creates `count` rooms (at most `maxRooms`,
 * `LIMITS.breakout_rooms`), or what is wrong with the form.
 */
export function createCommand(count: string, assignment: BreakoutAssignment, form: OptionsForm, maxRooms: number): HostCommand | string {
  const rooms = Number(count.trim());
  if (!Number.isInteger(rooms) || rooms < 1 || rooms > maxRooms) {
    return `Rooms: 1 to ${maxRooms}. 分组数为 1 至 ${maxRooms}。`;
  }
  const options = optionsFromForm(form);
  if (typeof options === "string") return options;
  return { action: "create_breakouts", count: rooms, assignment, options };
}

/** Whom the host assigns to rooms: everyone but hosts (who visit). */
export function assignable<P extends Pick<Participant, "role">>(participants: readonly P[]): P[] {
  return participants.filter((p) => p.role !== "host");
}
