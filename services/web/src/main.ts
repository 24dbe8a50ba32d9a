// Entry point: a two-route app. `/j/{number}?k=KEY` opens the join page for
// a link; anything else opens the plain join page. Joining swaps in the
// meeting room; leaving swaps in a farewell screen.

import "./style.css";
import { renderFarewell } from "./farewell";
import { renderJoinPage, type JoinPageParams } from "./join_page";
import { MeetingRoom } from "./meeting_room";

const root = document.getElementById("app") as HTMLElement;

function paramsFromLocation(): JoinPageParams {
  const match = /^\/j\/([0-9][0-9 -]*)\/?$/.exec(decodeURIComponent(location.pathname));
  if (!match) return {};
  const linkKey = new URLSearchParams(location.search).get("k") ?? undefined;
  return { meetingNumber: match[1]?.replace(/[\s-]/g, ""), linkKey: linkKey || undefined };
}

function openJoinPage(params: JoinPageParams): void {
  renderJoinPage(root, params, (channel, joined, inviteUrl) => {
    document.title = `${joined.topic} · Yunhui 云会`;
    // `new MeetingRoom` renders itself into root and lives until it exits.
    new MeetingRoom(root, channel, joined, {
      inviteUrl,
      onExit: (exit) => {
        document.title = "Yunhui 云会";
        renderFarewell(root, exit, {
          rejoin: () => openJoinPage(paramsFromLocation()),
          home: () => {
            history.pushState(null, "", "/");
            openJoinPage({});
          },
        });
      },
    });
  });
}

window.addEventListener("popstate", () => {
  // Inside a meeting the back button does nothing; leaving is explicit.
  if (window.yunhui?.state !== "joined") openJoinPage(paramsFromLocation());
});
openJoinPage(paramsFromLocation());
