// What a browser shows after the meeting: ended by the host, left, or lost.

import { h, show } from "./dom";
import type { MeetingExit } from "./meeting_room";

export function renderFarewell(
  root: HTMLElement,
  exit: MeetingExit,
  actions: { rejoin: () => void; home: () => void },
): void {
  const copy = {
    ended: {
      testid: "meeting-ended",
      title:
        exit.kind === "ended" && exit.reason !== "ended_by_host"
          ? "The meeting has ended 会议已结束"
          : "The host ended the meeting 主持人已结束会议",
      text: "Thank you for joining. 感谢您的参与。",
    },
    left: { testid: "meeting-left", title: "You left the meeting 您已离开会议", text: "You can rejoin while it is still running. 会议进行中可重新加入。" },
    disconnected: {
      testid: "meeting-disconnected",
      title: "Connection lost 连接已断开",
      text: "The connection to the meeting server was lost. 与会议服务器的连接已中断。",
    },
  }[exit.kind];
  show(
    root,
    h(
      "div",
      { class: "landing farewell", testid: copy.testid },
      h(
        "div",
        { class: "card farewell-card" },
        h("div", { class: "brand" }, h("span", { class: "logo" }, "云"), "Yunhui 云会"),
        h("h1", {}, copy.title),
        h("p", {}, copy.text),
        h(
          "div",
          { class: "actions" },
          exit.kind === "ended"
            ? null
            : h("button", { class: "primary", type: "button", testid: "rejoin", onclick: actions.rejoin }, "Rejoin 重新加入"),
          h("button", { class: "secondary", type: "button", testid: "home", onclick: actions.home }, "Home 返回首页"),
        ),
      ),
    ),
  );
}
