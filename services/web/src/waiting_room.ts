// The screen of a joiner on hold: the meeting has a waiting room (the host
// admits people one by one) or does not start before its host arrives. The
// join page keeps listening on the same socket and replaces this screen when
// the host admits, turns away or ends the meeting.

import { formatMeetingNumber, h, show } from "./dom";
import { exposeForInspection } from "./inspection";
import type { Waiting } from "./signaling";

const REASONS: Record<string, { title: string; text: string }> = {
  waiting_room: {
    title: "Please wait, the host will let you in soon 请稍候，主持人即将允许您入会",
    text: "This meeting has a waiting room. 本会议已启用等候室。",
  },
  waiting_for_host: {
    title: "Waiting for the host to start this meeting 等待主持人开始会议",
    text: "You will join as soon as the host arrives. 主持人入会后您将自动加入。",
  },
};

export class WaitingRoomScreen {
  private readonly title = h("h1", { testid: "waiting-title" });
  private readonly text = h("p", { testid: "waiting-text" });
  private readonly topic = h("strong", { testid: "waiting-topic" });
  private readonly number = h("span", { class: "meeting-number" });
  private readonly root: HTMLElement;

  constructor(root: HTMLElement, onLeave: () => void) {
    this.root = h(
      "div",
      { class: "landing farewell", testid: "waiting-room" },
      h(
        "div",
        { class: "card farewell-card waiting-card", role: "status", "aria-live": "polite" },
        h("div", { class: "brand" }, h("span", { class: "logo" }, "云"), "Yunhui 云会"),
        h("div", { class: "waiting-spinner", "aria-hidden": "true" }),
        this.title,
        h("p", { class: "waiting-meeting" }, this.topic, " ", this.number),
        this.text,
        h(
          "div",
          { class: "actions" },
          h("button", { class: "secondary", type: "button", testid: "leave-waiting", onclick: onLeave }, "Leave 离开"),
        ),
      ),
    );
    show(root, this.root);
  }

  /** Shows (or updates, e.g. when the host arrived) why the join is on hold. */
  update(waiting: Waiting): void {
    const copy = REASONS[waiting.reason] ?? REASONS.waiting_room;
    this.title.textContent = copy?.title ?? "";
    this.text.textContent = copy?.text ?? "";
    this.topic.textContent = waiting.topic;
    this.number.textContent = `ID ${formatMeetingNumber(waiting.meeting_number)}`;
    this.root.dataset.reason = waiting.reason;
    exposeForInspection({ state: "waiting", participantId: undefined, waitingReason: waiting.reason });
  }
}
