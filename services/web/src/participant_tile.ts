// One participant's tile in the gallery: video (or an avatar when the camera
// is off), name, mute / camera / hand / sharing indicators, active-speaker
// highlight, spotlight, and reactions that float up for a few seconds.

import { h } from "./dom";
import { interpreterBadge } from "./interpretation";
import type { Participant } from "./proto";

export const icons = {
  micOn: `<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3Zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.92V21h2v-3.08A7 7 0 0 0 19 11h-2Z"/></svg>`,
  micOff: `<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M19 11h-2c0 .74-.16 1.43-.45 2.06l1.46 1.46A6.96 6.96 0 0 0 19 11Zm-4 .17V5a3 3 0 0 0-5.94-.6L15 10.34v.83ZM4.27 3 3 4.27l6 6V11a3 3 0 0 0 4.38 2.66l1.48 1.48A5 5 0 0 1 7 11H5a7 7 0 0 0 6 6.92V21h2v-3.08a6.9 6.9 0 0 0 3.3-1.3L19.73 20 21 18.73 4.27 3Z"/></svg>`,
  camOn: `<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M17 10.5V7a1 1 0 0 0-1-1H4a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h12a1 1 0 0 0 1-1v-3.5l4 4v-11l-4 4Z"/></svg>`,
  camOff: `<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M21 6.5l-4 4V7a1 1 0 0 0-1-1H9.82L21 17.18V6.5ZM3.27 2 2 3.27 4.73 6H4a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h12c.21 0 .39-.08.54-.18L19.73 21 21 19.73 3.27 2Z"/></svg>`,
  leave: `<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M10 17v-3H3v-4h7V7l5 5-5 5Zm3-14h7a1 1 0 0 1 1 1v16a1 1 0 0 1-1 1h-7v-2h6V5h-6V3Z"/></svg>`,
  hand: `<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M21 7a2 2 0 0 0-4 0v5h-1V4a2 2 0 0 0-4 0v8h-1V3a2 2 0 0 0-4 0v10.5l-2.3-2.3a1.9 1.9 0 0 0-2.7 2.7l5.2 5.6A6 6 0 0 0 11.6 22H15a6 6 0 0 0 6-6V7Z"/></svg>`,
  share: `<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M20 4H4a2 2 0 0 0-2 2v10a2 2 0 0 0 2 2h6v2H8v2h8v-2h-2v-2h6a2 2 0 0 0 2-2V6a2 2 0 0 0-2-2Zm-8 3 4 4h-3v4h-2v-4H8l4-4Z"/></svg>`,
  lock: `<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M17 9V7A5 5 0 0 0 7 7v2H5v13h14V9h-2Zm-8-2a3 3 0 0 1 6 0v2H9V7Zm4 9.7V19h-2v-2.3a2 2 0 1 1 2 0Z"/></svg>`,
  end: `<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 9c-1.6 0-3.15.25-4.6.72v3.1c0 .39-.23.74-.56.9-.98.49-1.87 1.12-2.66 1.85a1 1 0 0 1-1.41-.02L.29 13.08a1 1 0 0 1 0-1.41C3.34 8.78 7.46 7 12 7s8.66 1.78 11.71 4.67a1 1 0 0 1 0 1.41l-2.48 2.48a1 1 0 0 1-1.41.02 11.3 11.3 0 0 0-2.67-1.85 1 1 0 0 1-.56-.9v-3.1A15 15 0 0 0 12 9Z"/></svg>`,
};

export function icon(svg: string): HTMLSpanElement {
  const span = h("span", { class: "icon" });
  span.innerHTML = svg;
  return span;
}

function initials(name: string): string {
  const trimmed = name.trim();
  if (!trimmed) return "?";
  // CJK names: show the last one or two characters, as people are addressed.
  if (/[\u3400-\u9fff]/.test(trimmed)) return trimmed.slice(-2);
  const words = trimmed.split(/\s+/);
  return words.slice(0, 2).map((word) => word[0]?.toUpperCase() ?? "").join("");
}

/** How long a reaction stays on a tile. */
const REACTION_MS = 4000;

export class ParticipantTile {
  readonly root: HTMLElement;
  private readonly video: HTMLVideoElement;
  private readonly audio: HTMLAudioElement;
  private readonly avatar: HTMLElement;
  private readonly nameLabel: HTMLElement;
  private readonly micBadge: HTMLElement;
  private readonly camBadge: HTMLElement;
  private readonly handBadge: HTMLElement;
  private readonly shareBadge: HTMLElement;
  private readonly interpreterTag: HTMLElement;
  private readonly reactions: HTMLElement;
  private attachedTrackIds = "";

  constructor(
    participant: Participant,
    readonly isSelf: boolean,
  ) {
    // Own preview is always muted (no echo). Remote sound plays from the
    // <audio> element, or, in a meeting with interpretation, through Web
    // Audio at the volume the language channel gives it
    // (`audio_playback.ts`; the element is muted then and only keeps the
    // remote track flowing).
    this.video = h("video", { autoplay: true, playsinline: true, muted: true });
    this.video.muted = true;
    this.audio = h("audio", { autoplay: true, muted: true });
    this.audio.muted = true;
    this.avatar = h("div", { class: "avatar" });
    this.nameLabel = h("span", { class: "name" });
    this.micBadge = h("span", { class: "badge mic", title: "Microphone muted 已静音" }, icon(icons.micOff));
    this.camBadge = h("span", { class: "badge cam", title: "Camera off 摄像头已关闭" }, icon(icons.camOff));
    this.handBadge = h("span", { class: "badge hand", title: "Hand raised 已举手", testid: "hand-badge" }, icon(icons.hand));
    this.shareBadge = h("span", { class: "badge share", title: "Sharing screen 正在共享屏幕" }, icon(icons.share));
    this.interpreterTag = h("span", { class: "tag interpreter", testid: "interpreter-badge" });
    this.reactions = h("div", { class: "reactions", "aria-live": "polite", testid: "tile-reactions" });
    this.root = h(
      "div",
      { class: "tile", testid: `tile-${participant.id}`, "data-participant-id": participant.id },
      this.video,
      this.audio,
      this.avatar,
      this.reactions,
      h("div", { class: "caption" }, this.handBadge, this.shareBadge, this.micBadge, this.camBadge, this.nameLabel, this.interpreterTag),
    );
    if (isSelf) this.root.dataset.self = "true";
    this.update(participant);
    this.setSpeaking(false);
  }

  update(participant: Participant): void {
    const label = this.isSelf ? `${participant.display_name} (You 我)` : participant.display_name;
    this.nameLabel.textContent = participant.role === "host" ? `${label} · Host 主持人` : label;
    this.avatar.textContent = initials(participant.display_name);
    this.root.dataset.audioMuted = String(participant.audio_muted);
    this.root.dataset.videoEnabled = String(participant.video_enabled);
    this.root.dataset.role = participant.role;
    this.root.dataset.handRaised = String(participant.hand_raised);
    this.root.dataset.sharingScreen = String(participant.sharing_screen);
    this.micBadge.hidden = !participant.audio_muted;
    this.camBadge.hidden = participant.video_enabled;
    this.handBadge.hidden = !participant.hand_raised;
    this.shareBadge.hidden = !participant.sharing_screen;
    this.root.classList.toggle("camera-off", !participant.video_enabled);
    this.root.dataset.interpreter = participant.interpreter ? `${participant.interpreter.from}-${participant.interpreter.to}` : "";
    this.root.dataset.breakout = participant.breakout ?? "";
    this.interpreterTag.hidden = !participant.interpreter;
    this.interpreterTag.textContent = participant.interpreter ? interpreterBadge(participant.interpreter) : "";
  }

  /** Shown large, in focus for everyone (the host's spotlight). */
  /** Where the layout puts this tile: the main picture, a gallery tile, a
   * thumbnail, or nowhere (`null`: hidden, and its video not received). */
  setSize(size: "main" | "tile" | "thumb" | null): void {
    this.root.hidden = size === null;
    this.root.dataset.size = size ?? "hidden";
    this.root.classList.toggle("main", size === "main");
  }

  setSpotlight(spotlight: boolean): void {
    this.root.dataset.spotlight = String(spotlight);
    this.root.classList.toggle("spotlight", spotlight);
  }

  /** Floats a reaction over the tile for a few seconds. */
  showReaction(emoji: string): void {
    const bubble = h("span", { class: "reaction", testid: "reaction" }, emoji);
    this.reactions.append(bubble);
    setTimeout(() => bubble.remove(), REACTION_MS);
  }

  setSpeaking(speaking: boolean): void {
    this.root.dataset.activeSpeaker = String(speaking);
    this.root.classList.toggle("speaking", speaking);
  }

  /** Own camera preview. */
  showLocalPreview(stream: MediaStream): void {
    this.video.srcObject = stream;
    void this.video.play().catch(() => undefined);
  }

  /** A remote participant's stream: the browser keeps its track set current. */
  attachRemoteStream(stream: MediaStream): void {
    // Re-attach when the track set changed (a renegotiation added audio or
    // video to the stream) so the elements pick the new track up.
    const trackIds = stream
      .getTracks()
      .map((track) => track.id)
      .sort()
      .join(",");
    if (this.video.srcObject !== stream || this.attachedTrackIds !== trackIds) {
      this.video.srcObject = null;
      this.audio.srcObject = null;
      this.video.srcObject = stream;
      this.audio.srcObject = stream;
      this.attachedTrackIds = trackIds;
    }
    void this.video.play().catch(() => undefined);
    void this.audio.play().catch(() => undefined);
  }

  /** Whether this tile's <audio> element plays the sound (not Web Audio). */
  playSoundFromElement(on: boolean): void {
    if (this.isSelf) return;
    this.audio.muted = !on;
  }

  detach(): void {
    this.video.srcObject = null;
    this.audio.srcObject = null;
    this.root.remove();
  }
}
