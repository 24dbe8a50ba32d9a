// The host's meeting-wide controls: mute all / unmute all (F-CTL-3), the
// waiting room (admit, admit all, deny) and the security settings (F-CTL-4).
// Settings are sent as `set_options` with the full current options; the
// checkboxes always show what the server last said.

import { h } from "./dom";
import type { HostCommand, MeetingOptions, ServerMessage, WaitingParticipant } from "./proto";

export type MeetingState = Omit<Extract<ServerMessage, { type: "meeting_state" }>, "type">;

type Flag = { [K in keyof MeetingOptions]: MeetingOptions[K] extends boolean ? K : never }[keyof MeetingOptions];

interface Setting {
  key: Flag;
  label: string;
}

/** The security settings a host switches during the meeting (manual 3.6.1.1–3.6.1.2). */
const SETTINGS: { heading: string; settings: Setting[] }[] = [
  {
    heading: "",
    settings: [{ key: "waiting_room", label: "Enable waiting room 启用等候室" }],
  },
  {
    heading: "Allow participants to 允许参会者",
    settings: [
      { key: "allow_screen_share", label: "Share their screen 共享屏幕" },
      { key: "allow_chat", label: "Chat 聊天" },
      { key: "allow_rename", label: "Rename themselves 自己改名" },
      { key: "allow_self_unmute", label: "Unmute themselves 自我解除静音" },
    ],
  },
  {
    heading: "",
    settings: [
      { key: "mute_on_entry", label: "Mute participants on entry 与会者加入会议时静音" },
      { key: "entry_exit_chime", label: "Play a chime on entry and exit 进出会议时播放提示音" },
      { key: "hide_avatars", label: "Hide avatars of cameras that are off 隐藏未开视频者的头像" },
    ],
  },
];

export class HostPanel {
  readonly root: HTMLElement;
  private state: MeetingState | null = null;
  private readonly allowSelfUnmute = h("input", { type: "checkbox", testid: "mute-all-allow-unmute", checked: true });
  private readonly waitingList = h("ul", { class: "waiting-list", testid: "waiting-list", "aria-label": "Waiting room 等候室" });
  private readonly waitingCount = h("span", { class: "count", testid: "waiting-count" });
  private readonly waitingSection: HTMLElement;
  private readonly locked = h("input", { type: "checkbox", testid: "option-locked" });
  private readonly checkboxes = new Map<Flag, HTMLInputElement>();

  constructor(private readonly send: (command: HostCommand) => void) {
    this.waitingSection = h(
      "section",
      { class: "panel-section waiting-section", testid: "waiting-section" },
      h("h3", {}, "Waiting room 等候室 ", this.waitingCount),
      this.waitingList,
      h(
        "button",
        { type: "button", class: "row-button", testid: "admit-all", onclick: () => this.send({ action: "admit_all" }) },
        "Admit all 全部准入",
      ),
    );
    this.waitingSection.hidden = true;
    this.locked.addEventListener("change", () => this.send({ action: "set_locked", locked: this.locked.checked }));
    const groups = SETTINGS.map(({ heading, settings }) =>
      h(
        "fieldset",
        { class: "settings-group" },
        heading ? h("legend", {}, heading) : null,
        ...settings.map((setting) => this.settingCheckbox(setting)),
      ),
    );
    this.root = h(
      "div",
      { class: "host-panel", testid: "host-panel" },
      this.waitingSection,
      h(
        "section",
        { class: "panel-section everyone" },
        h(
          "div",
          { class: "button-row" },
          h("button", { type: "button", class: "row-button", testid: "mute-all", onclick: () => this.muteAll() }, "Mute all 全体静音"),
          h(
            "button",
            { type: "button", class: "row-button", testid: "unmute-all", onclick: () => this.send({ action: "unmute_all" }) },
            "Unmute all 解除全体静音",
          ),
          h(
            "button",
            { type: "button", class: "row-button", testid: "lower-all-hands", onclick: () => this.send({ action: "lower_all_hands" }) },
            "Lower all hands 手全部放下",
          ),
        ),
        h("label", { class: "check" }, this.allowSelfUnmute, "Allow participants to unmute themselves 允许参会者自我解除静音"),
      ),
      h(
        "details",
        { class: "panel-section security" },
        h("summary", { testid: "security-toggle" }, "Security 会议安全"),
        h("label", { class: "check" }, this.locked, "Lock meeting 会议加锁"),
        ...groups,
      ),
    );
  }

  /** The meeting's state as the server last described it. */
  update(state: MeetingState): void {
    this.state = state;
    this.locked.checked = state.locked;
    for (const [key, box] of this.checkboxes) box.checked = state.options[key];
    this.allowSelfUnmute.checked = state.options.allow_self_unmute;
  }

  /** Who is in the waiting room now. */
  setWaiting(waiting: WaitingParticipant[]): void {
    this.waitingCount.textContent = `(${waiting.length})`;
    this.waitingSection.hidden = waiting.length === 0;
    this.waitingList.replaceChildren(
      ...waiting.map((w) =>
        h(
          "li",
          { testid: `waiting-${w.id}` },
          h("span", { class: "who" }, w.display_name, w.signed_in ? null : h("span", { class: "tag guest" }, "Guest 访客")),
          h(
            "span",
            { class: "row-actions" },
            h(
              "button",
              {
                type: "button",
                class: "row-button",
                testid: `admit-${w.id}`,
                "aria-label": `Admit ${w.display_name} 准入`,
                onclick: () => this.send({ action: "admit", participant_id: w.id }),
              },
              "Admit 准入",
            ),
            h(
              "button",
              {
                type: "button",
                class: "row-button danger",
                testid: `deny-${w.id}`,
                "aria-label": `Deny ${w.display_name} 拒绝`,
                onclick: () => this.send({ action: "deny", participant_id: w.id }),
              },
              "Deny 拒绝",
            ),
          ),
        ),
      ),
    );
  }

  private muteAll(): void {
    this.send({ action: "mute_all", allow_self_unmute: this.allowSelfUnmute.checked });
  }

  private settingCheckbox(setting: Setting): HTMLElement {
    const box = h("input", { type: "checkbox", testid: `option-${setting.key}` });
    box.addEventListener("change", () => {
      if (!this.state) return;
      const options: MeetingOptions = { ...this.state.options, [setting.key]: box.checked };
      // Build the next change on this one even before the server echoes it,
      // so two quick clicks do not undo each other.
      this.state = { ...this.state, options };
      this.send({ action: "set_options", options });
    });
    this.checkboxes.set(setting.key, box);
    return h("label", { class: "check" }, box, setting.label);
  }
}
