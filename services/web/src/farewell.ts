// What a browser shows after the meeting: ended by the host, left, lost,
// removed by the host, or turned away from the waiting room.

import { h, show } from "./dom";

/** How the meeting ended for this browser. */
export type MeetingExit =
  | { kind: "ended"; reason: string }
  | { kind: "left" }
  | { kind: "disconnected" }
  | { kind: "removed" }
  | { kind: "denied" }
  /** The connection was lost while the meeting goes on: the page joins again. */
  | { kind: "lost"; audioMuted: boolean; videoEnabled: boolean };

interface FarewellCopy {
  testid: string;
  title: string;
  text: string;
  /** Whether "Rejoin" makes sense. */
  rejoin: boolean;
}

function copyFor(exit: MeetingExit): FarewellCopy {
  switch (exit.kind) {
    case "ended":
      return {
        testid: "meeting-ended",
        title:
          exit.reason === "ended_by_host"
            ? "The host ended the meeting 主持人已结束会议"
            : "The meeting has ended 会议已结束",
        text: "Thank you for joining. 感谢您的参与。",
        rejoin: false,
      };
    case "left":
      return {
        testid: "meeting-left",
        title: "You left the meeting 您已离开会议",
        text: "You can rejoin while it is still running. 会议进行中可重新加入。",
        rejoin: true,
      };
    case "disconnected":
    case "lost":
      return {
        testid: "meeting-disconnected",
        title: "Connection lost 连接已断开",
        text: "The connection to the meeting server was lost. 与会议服务器的连接已中断。",
        rejoin: true,
      };
    case "removed":
      return {
        testid: "meeting-removed",
        title: "The host removed you from the meeting 您已被主持人移出会议",
        text: "Contact the host if you think this was a mistake. 如有疑问，请联系主持人。",
        rejoin: false,
      };
    case "denied":
      return {
        testid: "entry-denied",
        title: "The host did not let you in 主持人拒绝了您的入会请求",
        text: "You were turned away from the waiting room. 您未被允许进入会议。",
        rejoin: false,
      };
  }
}

export function renderFarewell(
  root: HTMLElement,
  exit: MeetingExit,
  actions: { rejoin: () => void; home: () => void },
): void {
  const copy = copyFor(exit);
  show(
    root,
    h(
      "div",
      { class: "landing farewell", testid: copy.testid },
      h(
        "div",
        { class: "card farewell-card", role: "alert" },
        h("div", { class: "brand" }, h("span", { class: "logo" }, "云"), "Yunhui 云会"),
        h("h1", {}, copy.title),
        h("p", {}, copy.text),
        h(
          "div",
          { class: "actions" },
          copy.rejoin
            ? h("button", { class: "primary", type: "button", testid: "rejoin", onclick: actions.rejoin }, "Rejoin 重新加入")
            : null,
          h("button", { class: "secondary", type: "button", testid: "home", onclick: actions.home }, "Home 返回首页"),
        ),
      ),
    ),
  );
}

/** While the page joins a meeting again after losing the connection. */
export function renderReconnecting(root: HTMLElement): void {
  show(
    root,
    h(
      "div",
      { class: "landing farewell", testid: "meeting-reconnecting" },
      h(
        "div",
        { class: "card farewell-card", role: "status" },
        h("div", { class: "brand" }, h("span", { class: "logo" }, "云"), "Yunhui 云会"),
        h("h1", {}, "Reconnecting… 正在重新连接"),
        h("p", {}, "The connection to the meeting was lost; joining again. 与会议的连接已中断，正在重新加入。"),
      ),
    ),
  );
}
