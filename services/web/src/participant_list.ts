// The participant list (F-CTL-1): everyone with role, audio, video, hand and
// sharing state. A host also gets the actions on each participant (F-CTL-2):
// mute / ask to unmute and lower hand inline, the rest in a "More" menu.

import { h } from "./dom";
import { interpreterBadge } from "./interpretation";
import { icon, icons } from "./participant_tile";
import type { HostCommand, Participant } from "./proto";
import { ROLE_TAGS, roleActions } from "./webinar";

/** What the list asks the meeting room to do. */
export interface ParticipantListActions {
  host(command: HostCommand): void;
  chatWith(participant: Participant): void;
  renameSelf(current: string): void;
  renameOther(participant: Participant): void;
  remove(participant: Participant): void;
  makeHost(participant: Participant): void;
}

/** What the viewer may do, from the meeting's state. */
export interface ListView {
  selfIsHost: boolean;
  spotlight: string | null;
  allowRename: boolean;
  /** A webinar: the host's menu also moves people between panel and audience. */
  webinar: boolean;
  /** Breakout room names by id (a participant in one is tagged with it). */
  breakoutNames: Record<string, string>;
}

interface MenuItem {
  /** Test id stem: `host-{action}-{participantId}`. */
  action: string;
  label: (p: Participant, view: ListView) => string;
  run: (p: Participant, actions: ParticipantListActions, view: ListView) => void;
}

/** The host's "More" menu on one participant, in the manual's order (3.6.1.1). */
const MORE_MENU: MenuItem[] = [
  { action: "chat", label: () => "Chat 聊天", run: (p, a) => a.chatWith(p) },
  {
    action: "video",
    label: (p) => (p.video_enabled ? "Stop video 停止视频" : "Ask to start video 请求开启摄像头"),
    run: (p, a) =>
      a.host(
        p.video_enabled
          ? { action: "stop_video", participant_id: p.id }
          : { action: "ask_to_start_video", participant_id: p.id },
      ),
  },
  {
    action: "spotlight",
    label: (p, v) => (v.spotlight === p.id ? "Remove spotlight 取消焦点视频" : "Spotlight 设置为焦点视频"),
    run: (p, a, v) => a.host({ action: "spotlight", participant_id: v.spotlight === p.id ? null : p.id }),
  },
  { action: "make_host", label: () => "Make host 设为主持人", run: (p, a) => a.makeHost(p) },
  { action: "rename", label: () => "Rename 改名", run: (p, a) => a.renameOther(p) },
  { action: "remove", label: () => "Remove 移除", run: (p, a) => a.remove(p) },
];

export class ParticipantList {
  readonly root = h("ul", { class: "participant-list", testid: "participant-list", "aria-label": "Participants 参会者" });
  private readonly entries = new Map<string, HTMLElement>();

  constructor(
    private readonly selfId: string,
    private readonly actions: ParticipantListActions,
  ) {}

  /** Draws (or redraws) one participant's entry, keeping an open menu open. */
  render(participant: Participant, view: ListView): void {
    const previous = this.entries.get(participant.id);
    const menuWasOpen = previous?.querySelector("details")?.open ?? false;
    const entry = this.entry(participant, view);
    const menu = entry.querySelector("details");
    if (menu && menuWasOpen) menu.open = true;
    if (previous) previous.replaceWith(entry);
    else if (participant.id === this.selfId) this.root.prepend(entry);
    else this.root.append(entry);
    this.entries.set(participant.id, entry);
  }

  remove(participantId: string): void {
    this.entries.get(participantId)?.remove();
    this.entries.delete(participantId);
  }

  private entry(p: Participant, view: ListView): HTMLElement {
    const isSelf = p.id === this.selfId;
    const entry = h(
      "li",
      {
        testid: `participant-${p.id}`,
        "data-role": p.role,
        "data-audio-muted": String(p.audio_muted),
        "data-audio-locked": String(p.audio_locked),
        "data-video-enabled": String(p.video_enabled),
        "data-hand-raised": String(p.hand_raised),
        "data-sharing-screen": String(p.sharing_screen),
        "data-interpreter": p.interpreter ? `${p.interpreter.from}-${p.interpreter.to}` : "",
        "data-breakout": p.breakout ?? "",
      },
      h(
        "span",
        { class: "who" },
        h("span", { class: "name", testid: "participant-name" }, p.display_name),
        isSelf ? h("span", { class: "tag" }, "You 我") : null,
        ROLE_TAGS[p.role] ? h("span", { class: `tag ${p.role}`, testid: "role-tag" }, ROLE_TAGS[p.role] ?? "") : null,
        p.talk_allowed ? h("span", { class: "tag talk", testid: "talk-tag" }, "May talk 可发言") : null,
        p.interpreter ? h("span", { class: "tag interpreter", testid: "interpreter-tag" }, interpreterBadge(p.interpreter)) : null,
        p.breakout ? h("span", { class: "tag breakout", testid: "breakout-tag" }, view.breakoutNames[p.breakout] ?? p.breakout) : null,
        p.signed_in ? null : h("span", { class: "tag guest" }, "Guest 访客"),
      ),
      h("span", { class: "states" }, ...this.stateIcons(p)),
      h("span", { class: "row-actions" }, ...this.rowActions(p, view, isSelf)),
    );
    entry.classList.toggle("muted", p.audio_muted);
    return entry;
  }

  private stateIcons(p: Participant): HTMLElement[] {
    const states: HTMLElement[] = [];
    if (p.hand_raised) states.push(labelled(icon(icons.hand), "Hand raised 已举手", "hand"));
    if (p.sharing_screen) states.push(labelled(icon(icons.share), "Sharing screen 正在共享", "share"));
    states.push(
      labelled(
        icon(p.audio_muted ? icons.micOff : icons.micOn),
        p.audio_locked ? "Muted by the host 已被主持人静音" : p.audio_muted ? "Muted 已静音" : "Microphone on 麦克风已开启",
        "mic",
      ),
    );
    states.push(labelled(icon(p.video_enabled ? icons.camOn : icons.camOff), p.video_enabled ? "Camera on 摄像头已开启" : "Camera off 摄像头已关闭", "cam"));
    return states;
  }

  private rowActions(p: Participant, view: ListView, isSelf: boolean): HTMLElement[] {
    const buttons: HTMLElement[] = [];
    const name = p.display_name;
    if (isSelf) {
      if (view.allowRename || view.selfIsHost) {
        buttons.push(
          this.button("rename-self", "Rename 改名", `Rename yourself 修改我的名字`, () => this.actions.renameSelf(p.display_name)),
        );
      }
      return buttons;
    }
    if (!view.selfIsHost) return buttons;
    if (p.hand_raised) {
      buttons.push(
        this.button(`host-lower_hand-${p.id}`, "Lower hand 放下手", `Lower ${name}'s hand 放下手`, () =>
          this.actions.host({ action: "lower_hand", participant_id: p.id }),
        ),
      );
    }
    buttons.push(
      p.audio_muted
        ? this.button(`host-unmute-${p.id}`, "Ask to unmute 解除静音", `Ask ${name} to unmute 请求解除静音`, () =>
            this.actions.host({ action: "unmute", participant_id: p.id }),
          )
        : this.button(`host-mute-${p.id}`, "Mute 静音", `Mute ${name} 静音`, () =>
            this.actions.host({ action: "mute", participant_id: p.id }),
          ),
    );
    const menu = h(
      "details",
      { class: "more-menu" },
      h("summary", { testid: `host-more-${p.id}`, "aria-label": `More actions for ${name} 更多`, title: "More 更多" }, "⋯"),
      h(
        "div",
        { class: "menu", role: "menu" },
        ...(view.webinar ? roleActions(p) : []).map((item) =>
          this.menuItem(`host-${item.action}-${p.id}`, item.label, () => this.actions.host(item.command)),
        ),
        ...MORE_MENU.map((item) =>
          this.menuItem(`host-${item.action}-${p.id}`, item.label(p, view), () => item.run(p, this.actions, view)),
        ),
      ),
    );
    buttons.push(menu);
    return buttons;
  }

  private menuItem(testid: string, text: string, run: () => void): HTMLButtonElement {
    return h(
      "button",
      {
        type: "button",
        role: "menuitem",
        testid,
        onclick: (event: Event) => {
          (event.currentTarget as HTMLElement).closest("details")?.removeAttribute("open");
          run();
        },
      },
      text,
    );
  }

  private button(testid: string, text: string, label: string, onclick: () => void): HTMLButtonElement {
    return h("button", { type: "button", class: "row-button", testid, "aria-label": label, title: label, onclick }, text);
  }
}

function labelled(el: HTMLElement, label: string, state: string): HTMLElement {
  el.setAttribute("role", "img");
  el.setAttribute("aria-label", label);
  el.title = label;
  el.dataset.state = state;
  return el;
}
