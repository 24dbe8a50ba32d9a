// Rings this browser when its signed-in user is invited into a meeting
// (F-JOIN-3, F-CTL-5): while signed in and not in a meeting, a signaling
// socket listens for calls. An incoming call asks Join / Decline; it stops
// ringing when answered on another device or when the meeting ends. The
// same socket brings the user's group chat messages (F-DIR-2) to whoever
// watches them (`watchGroupChats`).

import { askChoice } from "./ask_dialog";
import { formatMeetingNumber } from "./dom";
import { exposeForInspection } from "./inspection";
import { localProfile } from "./local_profile";
import type { GroupChatMessage, ServerMessage } from "./proto";
import { SignalingChannel } from "./signaling";

export interface AcceptedCall {
  meetingNumber: string;
  linkKey: string;
}

type IncomingCall = Extract<ServerMessage, { type: "incoming_call" }>;

let channel: SignalingChannel | null = null;
/** The token the socket listens for (or is about to). */
let listeningFor: string | null = null;
const ringing = new Map<string, AbortController>();
const chatWatchers = new Set<(message: GroupChatMessage) => void>();

/** Calls `onMessage` with every chat message pushed to this page (its own too); returns the way to stop. */
export function watchGroupChats(onMessage: (message: GroupChatMessage) => void): () => void {
  chatWatchers.add(onMessage);
  return () => chatWatchers.delete(onMessage);
}

/** Listens for calls to the signed-in account (a no-op if already listening). */
export async function listenForCalls(onAccept: (call: AcceptedCall) => void): Promise<void> {
  const session = localProfile.session();
  if (!session) {
    stopListening();
    return;
  }
  if (listeningFor === session.token) return;
  stopListening();
  listeningFor = session.token;
  let opened: SignalingChannel;
  try {
    opened = await SignalingChannel.open();
  } catch (error) {
    console.warn("yunhui: cannot listen for calls", error);
    if (listeningFor === session.token) listeningFor = null;
    return;
  }
  if (listeningFor !== session.token) {
    opened.close();
    return;
  }
  channel = opened;
  opened.onClose(() => {
    if (channel !== opened) return;
    channel = null;
    listeningFor = null;
    exposeForInspection({ listeningAs: null });
  });
  opened.listen((message) => {
    if (message.type === "incoming_call") void ring(opened, message, onAccept);
    else if (message.type === "call_ended") ringing.get(message.call_id)?.abort();
    else if (message.type === "group_chat_message") for (const watcher of chatWatchers) watcher(message.message);
    else if (message.type === "listening") exposeForInspection({ listeningAs: message.account_id });
  });
  opened.send({ type: "listen", token: session.token });
  console.info("yunhui: listening for calls");
}

/** Stops listening (entering a meeting, signing out); open calls stop ringing. */
export function stopListening(): void {
  for (const call of ringing.values()) call.abort();
  ringing.clear();
  channel?.close();
  channel = null;
  listeningFor = null;
  exposeForInspection({ listeningAs: null });
}

async function ring(on: SignalingChannel, call: IncomingCall, onAccept: (call: AcceptedCall) => void): Promise<void> {
  const stop = new AbortController();
  ringing.set(call.call_id, stop);
  exposeForInspection({ incomingCall: { callId: call.call_id, meetingNumber: call.meeting_number, inviter: call.inviter } });
  const accept = await askChoice({
    testid: "incoming-call",
    title: `${call.inviter} invites you to a meeting · ${call.inviter} 邀请您入会`,
    text: `${call.topic} (${formatMeetingNumber(call.meeting_number)})`,
    confirm: "Join 加入",
    cancel: "Decline 拒绝",
    dismiss: stop.signal,
  });
  ringing.delete(call.call_id);
  exposeForInspection({ incomingCall: null });
  // Answered on another device, the meeting ended, or we stopped listening.
  if (stop.signal.aborted) return;
  on.send({ type: "answer_call", call_id: call.call_id, accept });
  if (accept) onAccept({ meetingNumber: call.meeting_number, linkKey: call.link_key });
}
