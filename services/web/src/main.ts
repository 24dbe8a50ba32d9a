// Entry point. `/j/{number}?k=KEY` opens the join page for a link,
// `/meetings` the signed-in user's meetings, `/meetings/new` the schedule
// form, `/videos` the signed-in user's recordings, `/chats` their group
// chats, `/console` the tenant administrators' management console; anything else opens the plain join page. Joining swaps in the
// meeting room (after the waiting room, if the meeting has one); leaving
// swaps in a farewell screen. A lost connection (the server went away, or
// the meeting moved to another server) joins again on its own. A signed-in
// session is renewed with its refresh token before it runs out. Before any
// page, the deployment is discovered from the page's address
// (`/.well-known/yunhui`, `deployment.ts`).

import "./style.css";
import { renderChatsPage } from "./chats_page";
import { renderConsolePage } from "./console";
import { discoverDeployment } from "./deployment";
import { renderFarewell, renderReconnecting, type MeetingExit } from "./farewell";
import { exposeForInspection } from "./inspection";
import { exitOfWait, renderJoinPage, type JoinPageParams } from "./join_page";
import { listenForCalls, stopListening, type AcceptedCall } from "./call_listener";
import { SESSION_EVENT, localProfile } from "./local_profile";
import { keepSessionFresh } from "./session_keeper";
import { MeetingRoom } from "./meeting_room";
import { renderMeetingsPage } from "./meetings_page";
import type { Occurrence } from "./proto";
import { renderScheduleForm } from "./schedule_form";
import { renderVideosPage } from "./videos_page";
import { api } from "./api";
import { h, show } from "./dom";
import { mayRetryJoin } from "./reconnect";
import { SignalingChannel, SignalingError, joinMeeting, type JoinRequest, type Joined } from "./signaling";

const root = document.getElementById("app") as HTMLElement;

function paramsFromLocation(): JoinPageParams {
  const match = /^\/j\/([0-9][0-9 -]*)\/?$/.exec(decodeURIComponent(location.pathname));
  if (!match) return {};
  const linkKey = new URLSearchParams(location.search).get("k") ?? undefined;
  return { meetingNumber: match[1]?.replace(/[\s-]/g, ""), linkKey: linkKey || undefined };
}

/** An invitation accepted on this browser: join with the call's key. */
function acceptCall(call: AcceptedCall): void {
  history.pushState(null, "", `/j/${call.meetingNumber}?k=${encodeURIComponent(call.linkKey)}`);
  openJoinPage({ meetingNumber: call.meetingNumber, linkKey: call.linkKey, autoJoin: true });
}

/** Outside meetings, a signed-in browser rings when its user is invited. */
function listenUnlessInMeeting(): void {
  const state = window.yunhui?.state;
  if (state === "joined" || state === "waiting" || state === "reconnecting") return;
  void listenForCalls(acceptCall);
}

function showFarewell(exit: MeetingExit): void {
  document.title = "Yunhui 云会";
  listenUnlessInMeeting();
  renderFarewell(root, exit, {
    rejoin: () => openJoinPage(paramsFromLocation()),
    home: () => {
      history.pushState(null, "", "/");
      openJoinPage({});
    },
  });
}

function go(path: string): void {
  history.pushState(null, "", path);
  route();
}

function openMeetingsPage(notice?: string): void {
  listenUnlessInMeeting();
  document.title = "My meetings 我的会议 · Yunhui 云会";
  renderMeetingsPage(
    root,
    {
      onJoin: joinOccurrence,
      onSchedule: () => go("/meetings/new"),
      onVideos: () => go("/videos"),
      onChats: () => go("/chats"),
      onHome: () => go("/"),
    },
    notice,
  );
}

function openVideosPage(): void {
  listenUnlessInMeeting();
  document.title = "My videos 我的视频 · Yunhui 云会";
  renderVideosPage(root, { onMeetings: () => go("/meetings"), onHome: () => go("/") });
}

function openChats(): void {
  listenUnlessInMeeting();
  renderChatsPage(root, { onJoin: acceptCall, onMeetings: () => go("/meetings"), onHome: () => go("/") });
}

function openConsole(): void {
  listenUnlessInMeeting();
  renderConsolePage(root, { onHome: () => go("/") });
}

function openScheduleForm(): void {
  const session = localProfile.session();
  if (!session) return go("/meetings");
  document.title = "Schedule 预约会议 · Yunhui 云会";
  const form = renderScheduleForm(session, {
    onScheduled: (scheduled) => {
      history.pushState(null, "", "/meetings");
      openMeetingsPage(`Scheduled 已预约：${scheduled.meeting.topic} (${scheduled.meeting.number})`);
    },
    onCancel: () => go("/meetings"),
  });
  show(root, h("div", { class: "landing" }, h("div", { class: "cards" }, form)));
}

/** Joins an occurrence by its meeting's link (the schedule carries the key). */
async function joinOccurrence(occurrence: Occurrence): Promise<void> {
  const session = localProfile.session();
  let linkKey: string | undefined;
  if (session) {
    const scheduled = await api.scheduled(session.token, occurrence.meeting_id).catch(() => null);
    linkKey = scheduled ? (new URL(scheduled.meeting.join_url, location.href).searchParams.get("k") ?? undefined) : undefined;
  }
  history.pushState(null, "", `/j/${occurrence.number}${linkKey ? `?k=${encodeURIComponent(linkKey)}` : ""}`);
  openJoinPage({ meetingNumber: occurrence.number, linkKey, autoJoin: true });
}

function route(): void {
  const path = location.pathname.replace(/\/+$/, "");
  if (path === "/meetings") openMeetingsPage();
  else if (path === "/meetings/new") openScheduleForm();
  else if (path === "/videos") openVideosPage();
  else if (path === "/chats") openChats();
  else if (path === "/console") openConsole();
  else openJoinPage(paramsFromLocation());
}

function openJoinPage(params: JoinPageParams): void {
  document.title = "Yunhui 云会";
  listenUnlessInMeeting();
  renderJoinPage(root, params, {
    onMyMeetings: () => go("/meetings"),
    onMyVideos: () => go("/videos"),
    onJoined: (channel, joined, request, inviteUrl) => enterMeeting(channel, joined, { request, inviteUrl }),
    onWaitEnded: showFarewell,
  });
}

/** How this page joined its meeting, to join again the same way. */
interface Attendance {
  request: JoinRequest;
  inviteUrl?: string;
}

type Resume = { audioMuted: boolean; videoEnabled: boolean };

function enterMeeting(channel: SignalingChannel, joined: Joined, attendance: Attendance, resume?: Resume): void {
  stopListening();
  document.title = `${joined.topic} · Yunhui 云会`;
  // `new MeetingRoom` renders itself into root and lives until it exits.
  new MeetingRoom(root, channel, joined, {
    inviteUrl: attendance.inviteUrl,
    resume,
    onExit: (exit) => (exit.kind === "lost" ? void joinAgain(attendance, exit) : showFarewell(exit)),
  });
}

/** How long a page that lost its meeting's connection tries to join again. */
const REJOIN_WINDOW_MS = 60_000;
const REJOIN_PAUSE_MS = 1_000;

/** The connection was lost while the meeting goes on: join again, as before. */
async function joinAgain(attendance: Attendance, resume: Resume): Promise<void> {
  renderReconnecting(root);
  exposeForInspection({ state: "reconnecting" });
  const deadline = Date.now() + REJOIN_WINDOW_MS;
  while (Date.now() < deadline) {
    let channel: SignalingChannel | null = null;
    try {
      channel = await SignalingChannel.open();
      const joined = await joinMeeting(channel, attendance.request);
      enterMeeting(channel, joined, attendance, { audioMuted: resume.audioMuted, videoEnabled: resume.videoEnabled });
      return;
    } catch (error) {
      channel?.close();
      if (!mayRetryJoin(error instanceof SignalingError ? error.code : undefined)) {
        const exit = exitOfWait(error);
        exposeForInspection({ state: exit.kind });
        showFarewell(exit);
        return;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, REJOIN_PAUSE_MS));
  }
  exposeForInspection({ state: "disconnected" });
  showFarewell({ kind: "disconnected" });
}

window.addEventListener("popstate", () => {
  // Inside a meeting (or its waiting room) the back button does nothing; leaving is explicit.
  const state = window.yunhui?.state;
  if (state !== "joined" && state !== "waiting" && state !== "reconnecting") route();
});
window.addEventListener(SESSION_EVENT, listenUnlessInMeeting);
// The deployment is discovered from the address the page was opened at (its
// API and signaling URL, how people sign in); then a stored session due for
// renewal is renewed before the first page uses it.
void discoverDeployment()
  .then(() => keepSessionFresh())
  .finally(route);
