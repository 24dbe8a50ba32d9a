// Entry point: a two-route app. `/j/{number}?k=KEY` opens the join page for
// a link; anything else opens the plain join page. Joining swaps in the
// meeting room (after the waiting room, if the meeting has one); leaving
// swaps in a farewell screen.

import "./style.css";
import { renderFarewell, type MeetingExit } from "./farewell";
import { renderJoinPage, type JoinPageParams } from "./join_page";
import { MeetingRoom } from "./meeting_room";

const root = document.getElementById("app") as HTMLElement;

function paramsFromLocation(): JoinPageParams {
  const match = /^\/j\/([0-9][0-9 -]*)\/?$/.exec(decodeURIComponent(location.pathname));
  if (!match) return {};
  const linkKey = new URLSearchParams(location.search).get("k") ?? undefined;
  return { meetingNumber: match[1]?.replace(/[\s-]/g, ""), linkKey: linkKey || undefined };
}

function showFarewell(exit: MeetingExit): void {
  document.title = "Yunhui 云会";
  renderFarewell(root, exit, {
    rejoin: () => openJoinPage(paramsFromLocation()),
    home: () => {
      history.pushState(null, "", "/");
      openJoinPage({});
    },
  });
}

function openJoinPage(params: JoinPageParams): void {
  renderJoinPage(root, params, {
    onJoined: (channel, joined, inviteUrl) => {
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
  if (state !== "joined" && state !== "waiting") openJoinPage(paramsFromLocation());
});
openJoinPage(paramsFromLocation());
