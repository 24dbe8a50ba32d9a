// "My meetings" (F-WEB-2): the signed-in user's upcoming occurrences (hosted
// and invited, by start time, shown on the browser's clock with the meeting's
// own zone when it differs) and the history of held meetings.

import { ApiRequestError, api } from "./api";
import { formatMeetingNumber, h, show } from "./dom";
import { exposeForInspection } from "./inspection";
import { openInvitationDialog } from "./invitation_dialog";
import { localProfile } from "./local_profile";
import type { HistoryEntry, Occurrence, Session } from "./proto";
import { browserTimeZone, formatInZone, wallClock } from "./schedule_time";

export interface MeetingsPageHandlers {
  /** Join an occurrence from the list. */
  onJoin: (occurrence: Occurrence) => void;
  onSchedule: () => void;
  /** Open "My videos". */
  onVideos: () => void;
  /** Open the group chats. */
  onChats: () => void;
  onHome: () => void;
}

/** How far ahead the upcoming list looks. */
const WINDOW_DAYS = 90;

export function renderMeetingsPage(root: HTMLElement, handlers: MeetingsPageHandlers, notice?: string): void {
  exposeForInspection({ state: "meetings" });
  const session = localProfile.session();
  const home = h("button", { class: "link-button", type: "button", onclick: () => handlers.onHome() }, "Home 首页");
  const header = h("header", { class: "landing-header" }, h("div", { class: "brand" }, h("span", { class: "logo" }, "云"), "Yunhui 云会"), home);
  if (session?.account.role === "tenant_admin") {
    header.append(h("a", { class: "link-button", href: "/console", testid: "console-link" }, "Console 管理后台"));
  }
  if (!session) {
    show(
      root,
      h("div", { class: "landing" }, header, h("section", { class: "card" }, h("h1", {}, "My meetings 我的会议"), h("p", {}, "Sign in first. 请先登录。"))),
    );
    return;
  }
  const error = h("div", { class: "error", role: "alert" });
  const upcoming = h("ul", { class: "meeting-list", "aria-label": "Upcoming meetings 即将召开" });
  const past = h("ul", { class: "meeting-list", "aria-label": "History 历史会议" });
  show(
    root,
    h(
      "div",
      { class: "landing", testid: "meetings-page" },
      header,
      h(
        "section",
        { class: "card meetings-card" },
        h(
          "div",
          { class: "card-title" },
          h("h1", {}, "My meetings 我的会议"),
          h(
            "div",
            { class: "item-actions" },
            h("button", { class: "secondary", type: "button", testid: "my-chats", onclick: () => handlers.onChats() }, "Group chats 群聊"),
            h("button", { class: "secondary", type: "button", testid: "my-videos", onclick: () => handlers.onVideos() }, "My videos 我的视频"),
            h("button", { class: "primary", type: "button", onclick: () => handlers.onSchedule() }, "Schedule a meeting 预约会议"),
          ),
        ),
        notice ? h("p", { class: "notice", role: "status" }, notice) : null,
        error,
        h("h2", {}, "Upcoming 即将召开"),
        upcoming,
        h("h2", {}, "History 历史会议"),
        past,
      ),
    ),
  );
  void load(session, upcoming, past, error, handlers);
}

async function load(session: Session, upcoming: HTMLElement, past: HTMLElement, error: HTMLElement, handlers: MeetingsPageHandlers) {
  const from = Math.floor(Date.now() / 1000);
  try {
    const [occurrences, history] = await Promise.all([
      api.upcoming(session.token, from, from + WINDOW_DAYS * 24 * 3600),
      api.history(session.token),
    ]);
    upcoming.replaceChildren(...(occurrences.length ? occurrences.map((o) => occurrenceItem(session, o, handlers)) : [empty("No upcoming meetings. 暂无会议。")]));
    past.replaceChildren(...(history.length ? history.map(historyItem) : [empty("No meetings yet. 暂无记录。")]));
  } catch (e) {
    error.textContent = e instanceof ApiRequestError ? e.message : String(e);
    if (e instanceof ApiRequestError && e.status === 401) {
      localProfile.forgetSession();
      error.textContent += " Sign in again. 请重新登录。";
    }
  }
}

function empty(text: string): HTMLLIElement {
  return h("li", { class: "empty" }, text);
}

function occurrenceItem(session: Session, o: Occurrence, handlers: MeetingsPageHandlers): HTMLLIElement {
  const zone = browserTimeZone();
  const end = wallClock(o.ends_at, zone).time;
  // The meeting's own wall clock, when the viewer is elsewhere.
  const own = o.time_zone === zone ? null : h("span", { class: "own-zone" }, ` · ${o.start.replace("T", " ")} ${o.time_zone}`);
  return h(
    "li",
    { class: "meeting-item", testid: "upcoming-item" },
    h(
      "div",
      { class: "meeting-info" },
      h("strong", { class: "item-topic" }, o.topic),
      h(
        "span",
        { class: "when" },
        h("time", { datetime: new Date(o.starts_at * 1000).toISOString() }, `${formatInZone(o.starts_at, zone)}–${end}`),
        ` ${zone}`,
        own,
      ),
      h(
        "span",
        { class: "meta" },
        `No. 会议号 ${formatMeetingNumber(o.number)}`,
        o.recurring ? " · Recurring 周期会议" : "",
        o.is_host ? " · Host 主持人" : " · Invited 受邀",
      ),
    ),
    h(
      "div",
      { class: "item-actions" },
      h("button", { class: "secondary", type: "button", onclick: () => openInvitationDialog(session, o.meeting_id) }, "Copy invitation 复制邀请"),
      h("button", { class: "primary", type: "button", onclick: () => handlers.onJoin(o) }, "Join 加入"),
    ),
  );
}

function historyItem(entry: HistoryEntry): HTMLLIElement {
  const zone = browserTimeZone();
  const when = entry.started_at ? `${formatInZone(entry.started_at, zone)} – ${wallClock(entry.ended_at, zone).time}` : `Ended 结束于 ${formatInZone(entry.ended_at, zone)}`;
  return h(
    "li",
    { class: "meeting-item", testid: "history-item" },
    h(
      "div",
      { class: "meeting-info" },
      h("strong", { class: "item-topic" }, entry.topic),
      h("span", { class: "when" }, `${when} ${zone}`),
      h("span", { class: "meta" }, `No. 会议号 ${formatMeetingNumber(entry.number)}`),
    ),
  );
}
