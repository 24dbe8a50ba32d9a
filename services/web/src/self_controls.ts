// The footer's own controls (F-CTL-6, F-CTL-8): microphone, camera, raise
// hand, reactions and screen sharing. The meeting room owns the state; this
// only draws it and reports clicks. While the host keeps this participant
// muted (`audio_locked`) the unmute button is disabled and says why.

import { h } from "./dom";
import { icon, icons } from "./participant_tile";
import { REACTIONS } from "./proto";

export interface SelfState {
  audioMuted: boolean;
  /** Muted by the host and not allowed to unmute oneself. */
  audioLocked: boolean;
  videoEnabled: boolean;
  handRaised: boolean;
  sharing: boolean;
  /** Whether the host allows this participant to share. */
  mayShare: boolean;
  /** Whether this participant sends audio at all (a webinar's attendee only once allowed to talk). */
  mayTalk: boolean;
  /** Whether this participant sends video and shares screens (never a webinar's attendee). */
  mayShowVideo: boolean;
}

export interface SelfActions {
  toggleAudio(): void;
  toggleVideo(): void;
  toggleHand(): void;
  react(emoji: string): void;
  toggleShare(): void;
}

const LOCKED_TIP = "The host has muted you; ask the host to unmute you. 主持人已将您静音，请联系主持人解除。";
const SHARE_OFF_TIP = "The host does not allow participants to share. 主持人不允许参会者共享屏幕。";

export class SelfControls {
  readonly audioButton = h("button", { class: "control", testid: "toggle-audio", type: "button" });
  readonly videoButton = h("button", { class: "control", testid: "toggle-video", type: "button" });
  private readonly audioWrap = h("span", { class: "control-wrap" }, this.audioButton);
  private readonly handButton = h("button", { class: "control", testid: "toggle-hand", type: "button" });
  private readonly shareButton = h("button", { class: "control", testid: "toggle-share", type: "button" });
  private readonly shareWrap = h("span", { class: "control-wrap" }, this.shareButton);
  private readonly reactionMenu: HTMLDetailsElement;
  /** The controls, in footer order. */
  readonly elements: HTMLElement[];

  constructor(actions: SelfActions) {
    this.audioButton.addEventListener("click", () => actions.toggleAudio());
    this.videoButton.addEventListener("click", () => actions.toggleVideo());
    this.handButton.addEventListener("click", () => actions.toggleHand());
    this.shareButton.addEventListener("click", () => actions.toggleShare());
    this.reactionMenu = h(
      "details",
      { class: "reaction-menu" },
      h("summary", { class: "control", testid: "reactions-toggle", "aria-label": "Reactions 回应" }, "🙂", h("span", {}, "React 回应")),
      h(
        "div",
        { class: "menu reaction-picker", role: "menu" },
        ...REACTIONS.map((emoji) =>
          h(
            "button",
            {
              type: "button",
              role: "menuitem",
              class: "reaction-button",
              testid: `react-${emoji}`,
              "aria-label": `React ${emoji} 回应`,
              onclick: () => {
                this.reactionMenu.open = false;
                actions.react(emoji);
              },
            },
            emoji,
          ),
        ),
      ),
    );
    this.elements = [this.audioWrap, this.videoButton, this.handButton, this.reactionMenu, this.shareWrap];
  }

  render(state: SelfState): void {
    const { audioMuted, audioLocked } = state;
    this.audioButton.replaceChildren(
      icon(audioMuted ? icons.micOff : icons.micOn),
      h("span", {}, audioMuted ? "Unmute 解除静音" : "Mute 静音"),
    );
    this.audioButton.dataset.muted = String(audioMuted);
    this.audioButton.dataset.locked = String(audioMuted && audioLocked);
    this.audioButton.classList.toggle("off", audioMuted);
    this.audioButton.disabled = audioMuted && audioLocked;
    // A disabled button shows no tooltip in every browser: the wrapper carries it too.
    const tip = this.audioButton.disabled ? LOCKED_TIP : "";
    this.audioButton.title = tip;
    this.audioWrap.title = tip;
    if (tip) this.audioButton.setAttribute("aria-description", tip);
    else this.audioButton.removeAttribute("aria-description");

    this.videoButton.replaceChildren(
      icon(state.videoEnabled ? icons.camOn : icons.camOff),
      h("span", {}, state.videoEnabled ? "Stop video 关闭视频" : "Start video 开启视频"),
    );
    this.videoButton.dataset.enabled = String(state.videoEnabled);
    this.videoButton.classList.toggle("off", !state.videoEnabled);

    this.handButton.replaceChildren(icon(icons.hand), h("span", {}, state.handRaised ? "Lower hand 放下手" : "Raise hand 举手"));
    this.handButton.setAttribute("aria-pressed", String(state.handRaised));
    this.handButton.classList.toggle("active", state.handRaised);

    this.shareButton.replaceChildren(icon(icons.share), h("span", {}, state.sharing ? "Stop sharing 停止共享" : "Share screen 共享屏幕"));
    this.shareButton.setAttribute("aria-pressed", String(state.sharing));
    this.shareButton.classList.toggle("active", state.sharing);
    this.shareButton.disabled = !state.sharing && !state.mayShare;
    const shareTip = this.shareButton.disabled ? SHARE_OFF_TIP : "";
    this.shareButton.title = shareTip;
    this.shareWrap.title = shareTip;

    // A webinar's attendee has no microphone until allowed to talk, and no camera or share.
    this.audioWrap.hidden = !state.mayTalk;
    this.videoButton.hidden = !state.mayShowVideo;
    this.shareWrap.hidden = !state.mayShowVideo;
  }
}
