// Entry point. `/j/{number}?k=KEY` opens the join page for a link,
// `/meetings` the signed-in user's meetings, `/meetings/new` the schedule
// form, `/videos` the signed-in user's recordings; anything else opens the plain join page. Joining swaps in the
// meeting room (after the waiting room, if the meeting has one); leaving
// swaps in a farewell screen.

import "./style.css";
import { renderFarewell, type MeetingExit } from "./farewell";
import { renderJoinPage, type JoinPageParams } from "./join_page";
import { listenForCalls, stopListening, type AcceptedCall } from "./call_listener";
import { SESSION_EVENT, localProfile } from "./local_profile";
import { MeetingRoom } from "./meeting_room";
import { renderMeetingsPage } from "./meetings_page";
import type { Occurrence } from "./proto";
import { renderScheduleForm } from "./schedule_form";
import { renderVideosPage } from "./videos_page";
import { api } from "./api";
import { h, show } from "./dom";

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
  if (state === "joined" || state === "waiting") return;
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
    { onJoin: joinOccurrence, onSchedule: () => go("/meetings/new"), onVideos: () => go("/videos"), onHome: () => go("/") },
    notice,
  );
}

function openVideosPage(): void {
  listenUnlessInMeeting();
  document.title = "My videos 我的视频 · Yunhui 云会";
  renderVideosPage(root, { onMeetings: () => go("/meetings"), onHome: () => go("/") });
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
  else openJoinPage(paramsFromLocation());
}

function openJoinPage(params: JoinPageParams): void {
  document.title = "Yunhui 云会";
  listenUnlessInMeeting();
  renderJoinPage(root, params, {
    onMyMeetings: () => go("/meetings"),
    onMyVideos: () => go("/videos"),
    onJoined: (channel, joined, inviteUrl) => {
      stopListening();
      document.title = `${joined.topic} · Yunhui 云会`;
      // `new MeetingRoom` renders itself into root and lives until it exits.
      new MeetingRoom(root, channel, joined, { inviteUrl, onExit: showFarewell });
    },
    onWaitEnded: showFarewell,
  });
}

window.addEventListener("popstate", () => {
  // Inside a meeting (or its waiting room) the back button does nothing; leaving is explicit.
  const state = window.yunhui?.state;
  if (state !== "joined" && state !== "waiting") route();
});
window.addEventListener(SESSION_EVENT, listenUnlessInMeeting);
route();
