// What the client says about cloud recordings (F-REC-1, F-WEB-3), as data:
// the indicator and the host's actions in each recording state of a meeting,
// the state of each recorded file, and how lengths and sizes read. No DOM
// here, so the rules are unit-tested beside the pages that show them.

import type { ErrorCode, HostCommand, RecordingFileState, RecordingState } from "./proto";

/** What a host may do to the meeting's recording. */
export type RecordingAction = "start" | "pause" | "resume" | "stop";

export interface RecordingStateView {
  /** The indicator everyone sees; `null`: none. */
  indicator: string | null;
  /** The host's buttons, in order. */
  actions: readonly RecordingAction[];
}

/** Per recording state: what everyone sees and what the host may do next. */
export const RECORDING_STATES: Readonly<Record<RecordingState, RecordingStateView>> = {
  off: { indicator: null, actions: ["start"] },
  starting: { indicator: "Recording is starting… 录制即将开始…", actions: ["stop"] },
  recording: { indicator: "Recording 录制中", actions: ["pause", "stop"] },
  paused: { indicator: "Recording paused 录制已暂停", actions: ["resume", "stop"] },
};

/** Each action's command to the server and its button label. */
export const RECORDING_ACTIONS: Readonly<Record<RecordingAction, { command: HostCommand; label: string }>> = {
  start: { command: { action: "start_recording" }, label: "Record 录制" },
  pause: { command: { action: "pause_recording" }, label: "Pause recording 暂停录制" },
  resume: { command: { action: "resume_recording" }, label: "Resume recording 继续录制" },
  stop: { command: { action: "stop_recording" }, label: "Stop recording 停止录制" },
};

/**
 * Refusals of a start that hold for the whole meeting: the enterprise may
 * not record (`not_allowed`) or the deployment runs no recorder
 * (`unavailable`). After one, the Record button stays off and says why.
 */
export const LASTING_REFUSALS: ReadonlySet<ErrorCode> = new Set<ErrorCode>(["not_allowed", "unavailable"]);

/** How each recorded file's state reads in "My videos". */
export const FILE_STATES: Readonly<Record<RecordingFileState, string>> = {
  recording: "Being recorded 录制中",
  ready: "Ready 可播放",
  interrupted: "Interrupted 录制中断",
};

/** The most characters a recording's title has (`RenameRecordingRequest`). */
export const TITLE_CHARS = 128;

/** 7_000 -> "0:07", 3_723_000 -> "1:02:03". */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, "0");
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${seconds}` : `${minutes}:${seconds}`;
}

/** 900 -> "900 B", 1_536 -> "1.5 KB", 5_242_880 -> "5.0 MB" (binary units). */
export function formatSize(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
