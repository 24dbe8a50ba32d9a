// Calling a room system (SIP/H.323 through a SIP gateway) or a phone into
// the meeting: the dialog that asks whom, and the words for how it goes.

import { askChoice } from "./ask_dialog";
import { h } from "./dom";
import { field, select } from "./form_fields";
import type { DialState, DialTarget } from "./proto";
import { LIMITS } from "./proto";

/** Asks whom to call; resolves the target, or `null` when cancelled or empty. */
export async function askDialTarget(): Promise<DialTarget | null> {
  const kind = select(
    "dial-kind",
    [
      ["sip", "Room system (SIP / H.323) 会议室设备"],
      ["phone", "Phone number 电话号码"],
    ],
    "sip",
  );
  kind.dataset.testid = "dial-kind";
  const target = h("input", {
    testid: "dial-target",
    maxlength: String(LIMITS.dial_target_chars),
    autocomplete: "off",
    placeholder: "room@10.0.0.8",
  });
  kind.addEventListener("change", () => {
    target.placeholder = kind.value === "phone" ? "+86 138 0013 8000" : "room@10.0.0.8";
  });
  const body = h(
    "div",
    { class: "dial-fields" },
    field("Call 呼叫", kind),
    field("Address or number 地址或号码", target),
  );
  const call = await askChoice({
    testid: "dial-dialog",
    title: "Call a device or phone 呼叫设备或电话",
    text: "The meeting calls out; once answered it joins with audio. 会议主动呼出，接通后以音频入会。",
    body,
    confirm: "Call 呼叫",
    cancel: "Cancel 取消",
  });
  const value = target.value.trim();
  if (!call || !value) return null;
  return kind.value === "phone" ? { kind: "phone", number: value } : { kind: "sip", uri: value };
}

/** How a call stands, in both languages. */
export function dialStatusText(target: string, state: DialState, reason?: string): string {
  const why = reason ? `: ${reason}` : "";
  switch (state) {
    case "calling":
      return `Calling ${target}… 正在呼叫 ${target}…`;
    case "ringing":
      return `${target} is ringing… ${target} 振铃中…`;
    case "answered":
      return `${target} answered and joined. ${target} 已接通入会。`;
    case "failed":
      return `${target} could not be reached${why}. 未能接通 ${target}${why}。`;
    case "ended":
      return `The call to ${target} ended${why}. 与 ${target} 的通话已结束${why}。`;
  }
}
