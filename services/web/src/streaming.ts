// What the client says about a meeting's live stream (F-REC-2, the manual's
// 3.3.4 会议直播), as data: the indicator in each streaming state, the
// drop-down menu's entries, and the host's start and stop commands. No DOM
// here, so the rules are unit-tested beside the page that shows them.

import type { HostCommand, LiveStream, StreamingState } from "./proto";

/** The indicator everyone sees at the top left; `null`: none. */
export const STREAMING_INDICATOR: Readonly<Record<StreamingState, string | null>> = {
  off: null,
  starting: "Live stream starting… 直播即将开始…",
  live: "Live 直播中",
  reconnecting: "Live stream reconnecting… 直播重新连接中…",
};

/** An entry of the indicator's drop-down menu. */
export type LiveMenuEntry = "watch" | "copy" | "stop";

/**
 * The indicator's menu for one viewer: Watch and Copy link when the host
 * gave a watch address, Stop for hosts. Nothing while the meeting is not live.
 */
export function liveMenuEntries(stream: LiveStream, isHost: boolean): LiveMenuEntry[] {
  if (stream.state === "off") return [];
  const entries: LiveMenuEntry[] = [];
  if (stream.watch_url) entries.push("watch", "copy");
  if (isHost) entries.push("stop");
  return entries;
}

/** What the host typed into the "Live stream" dialog. */
export interface StreamForm {
  pushUrl: string;
  streamKey: string;
  watchUrl: string;
}

/** The host's start command for `form` (trimmed; an empty watch address left out). */
export function startStreamingCommand(form: StreamForm): HostCommand {
  const watchUrl = form.watchUrl.trim();
  return {
    action: "start_streaming",
    push_url: form.pushUrl.trim(),
    stream_key: form.streamKey.trim(),
    ...(watchUrl ? { watch_url: watchUrl } : {}),
  };
}

export const STOP_STREAMING: HostCommand = { action: "stop_streaming" };
