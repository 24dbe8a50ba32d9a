// The in-meeting page: gallery of tiles, participant list, self controls and
// the host's "End for all". Room state comes only from the server's messages;
// local clicks change local tracks at once and wait for the server's echo for
// everything shown to others.

import { formatMeetingNumber, h, show } from "./dom";
import { exposeForInspection } from "./inspection";
import { MeetingMedia, openLocalMedia } from "./media";
import { ParticipantTile, icon, icons } from "./participant_tile";
import type { Participant, ServerMessage } from "./proto";
import type { Joined, SignalingChannel } from "./signaling";

/** How the meeting ended for this browser. */
export type MeetingExit =
  | { kind: "ended"; reason: string }
  | { kind: "left" }
  | { kind: "disconnected" };

export interface MeetingRoomOptions {
  /** Invite link to offer for copying (known when this browser created the meeting). */
  inviteUrl?: string;
  onExit: (exit: MeetingExit) => void;
}

const LEAVE_ACK_TIMEOUT_MS = 1500;

export class MeetingRoom {
  private readonly participants = new Map<string, Participant>();
  private readonly tiles = new Map<string, ParticipantTile>();
  private readonly listEntries = new Map<string, HTMLElement>();
  /** Remote streams that arrived before their participant's tile. */
  private readonly pendingStreams = new Map<string, MediaStream>();
  private readonly media: MeetingMedia;
  private readonly selfId: string;
  private activeSpeaker: string | null = null;
  private audioMuted = false;
  private videoEnabled = true;
  private exited = false;

  private readonly gallery = h("div", { class: "gallery", testid: "gallery" });
  private readonly list = h("ul", { class: "participant-list", testid: "participant-list" });
  private readonly listCount = h("span", { class: "count", testid: "participant-count" });
  private readonly notice = h("div", { class: "notice", role: "status", testid: "meeting-notice" });
  private readonly audioButton = h("button", { class: "control", testid: "toggle-audio", type: "button" });
  private readonly videoButton = h("button", { class: "control", testid: "toggle-video", type: "button" });
  private readonly endButton = h(
    "button",
    { class: "control danger", testid: "end-meeting", type: "button" },
    icon(icons.end),
    h("span", {}, "End for all 结束会议"),
  );

  constructor(
    root: HTMLElement,
    private readonly channel: SignalingChannel,
    joined: Joined,
    private readonly options: MeetingRoomOptions,
  ) {
    this.selfId = joined.participant_id;
    this.media = new MeetingMedia(channel, (participantId, stream) => this.attachRemoteStream(participantId, stream));

    show(root, this.render(joined));
    for (const participant of joined.participants) this.upsertParticipant(participant);
    const self = this.participants.get(this.selfId);
    if (self) {
      this.audioMuted = self.audio_muted;
      this.videoEnabled = self.video_enabled;
    }
    this.renderSelfControls();

    exposeForInspection({
      participantId: this.selfId,
      meetingNumber: joined.meeting_number,
      publisherPc: this.media.publisherPc,
      subscriberPc: this.media.subscriberPc,
      participants: () => [...this.participants.values()],
      state: "joined",
    });

    channel.onClose(() => this.exit({ kind: "disconnected" }));
    channel.listen((message) => this.receive(message));
    void this.startMedia();
  }

  private render(joined: Joined): HTMLElement {
    this.audioButton.addEventListener("click", () => this.toggleAudio());
    this.videoButton.addEventListener("click", () => this.toggleVideo());
    this.endButton.addEventListener("click", () => this.endForAll());
    const leaveButton = h(
      "button",
      { class: "control leave", testid: "leave", type: "button", onclick: () => void this.leave() },
      icon(icons.leave),
      h("span", {}, "Leave 离开"),
    );
    const invite = this.options.inviteUrl
      ? h(
          "button",
          {
            class: "link-button",
            type: "button",
            testid: "copy-invite",
            onclick: () => void this.copyInvite(this.options.inviteUrl ?? ""),
          },
          "Copy invite link 复制邀请链接",
        )
      : null;
    return h(
      "div",
      { class: "meeting", testid: "meeting-room" },
      h(
        "header",
        { class: "meeting-header" },
        h("div", { class: "brand small" }, h("span", { class: "logo" }, "云"), "Yunhui"),
        h(
          "div",
          { class: "meeting-title" },
          h("strong", { testid: "meeting-topic" }, joined.topic),
          h("span", { class: "meeting-number", testid: "meeting-number-display" }, `ID ${formatMeetingNumber(joined.meeting_number)}`),
        ),
        invite,
      ),
      h(
        "main",
        { class: "meeting-body" },
        this.gallery,
        h(
          "aside",
          { class: "sidebar" },
          h("h2", {}, "Participants 参会者 ", this.listCount),
          this.list,
        ),
      ),
      this.notice,
      h("footer", { class: "controls" }, this.audioButton, this.videoButton, this.endButton, leaveButton),
    );
  }

  private async startMedia(): Promise<void> {
    const stream = await openLocalMedia();
    if (this.exited) {
      for (const track of stream.getTracks()) track.stop();
      return;
    }
    const hasAudio = stream.getAudioTracks().length > 0;
    const hasVideo = stream.getVideoTracks().length > 0;
    this.media.setAudioEnabled(!this.audioMuted);
    this.tiles.get(this.selfId)?.showLocalPreview(stream);
    try {
      await this.media.publish(stream);
      this.media.setAudioEnabled(!this.audioMuted);
      this.media.setVideoEnabled(this.videoEnabled);
    } catch (error) {
      this.say(`Could not start media: ${String(error)}`);
    }
    // Tell the others what we cannot send, so their tiles say so.
    if (!hasAudio && !this.audioMuted) this.setAudioMuted(true);
    if (!hasVideo && this.videoEnabled) this.setVideoEnabled(false);
    if (!hasAudio || !hasVideo) this.say("No camera or microphone found. 未找到摄像头或麦克风。");
  }

  private receive(message: ServerMessage): void {
    if (this.media.handle(message)) return;
    switch (message.type) {
      case "participant_joined":
      case "participant_updated":
        this.upsertParticipant(message.participant);
        break;
      case "participant_left":
        this.removeParticipant(message.participant_id);
        break;
      case "active_speaker":
        this.setActiveSpeaker(message.participant_id);
        break;
      case "meeting_ended":
        this.exit({ kind: "ended", reason: message.reason });
        break;
      case "left":
        this.exit({ kind: "left" });
        break;
      case "error":
        this.say(message.message);
        break;
      case "hello":
      case "joined":
      case "publish_answer":
      case "subscriber_offer":
        break;
    }
  }

  private upsertParticipant(participant: Participant): void {
    this.participants.set(participant.id, participant);
    const isSelf = participant.id === this.selfId;
    let tile = this.tiles.get(participant.id);
    if (!tile) {
      tile = new ParticipantTile(participant, isSelf);
      this.tiles.set(participant.id, tile);
      if (isSelf) this.gallery.prepend(tile.root);
      else this.gallery.append(tile.root);
      const pending = this.pendingStreams.get(participant.id);
      if (pending) {
        tile.attachRemoteStream(pending);
        this.pendingStreams.delete(participant.id);
      }
      if (isSelf && this.media.localStream.getTracks().length > 0) tile.showLocalPreview(this.media.localStream);
    } else {
      tile.update(participant);
    }
    tile.setSpeaking(this.activeSpeaker === participant.id);
    if (isSelf) {
      // The server's word wins (e.g. a host muted us).
      this.audioMuted = participant.audio_muted;
      this.videoEnabled = participant.video_enabled;
      this.media.setAudioEnabled(!this.audioMuted);
      this.media.setVideoEnabled(this.videoEnabled);
      this.renderSelfControls();
    }
    this.renderListEntry(participant);
    this.updateLayout();
  }

  private removeParticipant(participantId: string): void {
    this.participants.delete(participantId);
    this.pendingStreams.delete(participantId);
    this.tiles.get(participantId)?.detach();
    this.tiles.delete(participantId);
    this.listEntries.get(participantId)?.remove();
    this.listEntries.delete(participantId);
    if (this.activeSpeaker === participantId) this.activeSpeaker = null;
    this.updateLayout();
  }

  private renderListEntry(participant: Participant): void {
    const isSelf = participant.id === this.selfId;
    const entry = h(
      "li",
      {
        testid: `participant-${participant.id}`,
        "data-role": participant.role,
        "data-audio-muted": String(participant.audio_muted),
        "data-video-enabled": String(participant.video_enabled),
      },
      h(
        "span",
        { class: "who" },
        participant.display_name,
        isSelf ? h("span", { class: "tag" }, "You 我") : null,
        participant.role === "host" ? h("span", { class: "tag host" }, "Host 主持人") : null,
      ),
      h(
        "span",
        { class: "states" },
        icon(participant.audio_muted ? icons.micOff : icons.micOn),
        icon(participant.video_enabled ? icons.camOn : icons.camOff),
      ),
    );
    entry.classList.toggle("muted", participant.audio_muted);
    const previous = this.listEntries.get(participant.id);
    if (previous) previous.replaceWith(entry);
    else if (isSelf) this.list.prepend(entry);
    else this.list.append(entry);
    this.listEntries.set(participant.id, entry);
  }

  private updateLayout(): void {
    const count = this.tiles.size;
    this.listCount.textContent = `(${this.participants.size})`;
    const columns = count <= 1 ? 1 : count <= 4 ? 2 : count <= 9 ? 3 : count <= 16 ? 4 : 5;
    this.gallery.style.setProperty("--columns", String(columns));
  }

  private setActiveSpeaker(participantId: string | null): void {
    this.activeSpeaker = participantId;
    for (const [id, tile] of this.tiles) tile.setSpeaking(id === participantId);
  }

  private attachRemoteStream(participantId: string, stream: MediaStream): void {
    const tile = this.tiles.get(participantId);
    if (tile && participantId !== this.selfId) tile.attachRemoteStream(stream);
    else this.pendingStreams.set(participantId, stream);
  }

  private renderSelfControls(): void {
    this.audioButton.replaceChildren(
      icon(this.audioMuted ? icons.micOff : icons.micOn),
      h("span", {}, this.audioMuted ? "Unmute 解除静音" : "Mute 静音"),
    );
    this.audioButton.dataset.muted = String(this.audioMuted);
    this.audioButton.classList.toggle("off", this.audioMuted);
    this.videoButton.replaceChildren(
      icon(this.videoEnabled ? icons.camOn : icons.camOff),
      h("span", {}, this.videoEnabled ? "Stop video 关闭视频" : "Start video 开启视频"),
    );
    this.videoButton.dataset.enabled = String(this.videoEnabled);
    this.videoButton.classList.toggle("off", !this.videoEnabled);
    const isHost = this.participants.get(this.selfId)?.role === "host";
    this.endButton.hidden = !isHost;
  }

  private toggleAudio(): void {
    this.setAudioMuted(!this.audioMuted);
  }

  private toggleVideo(): void {
    this.setVideoEnabled(!this.videoEnabled);
  }

  private setAudioMuted(muted: boolean): void {
    this.audioMuted = muted;
    this.media.setAudioEnabled(!muted);
    this.channel.send({ type: "set_audio_muted", muted });
    this.renderSelfControls();
  }

  private setVideoEnabled(enabled: boolean): void {
    this.videoEnabled = enabled;
    this.media.setVideoEnabled(enabled);
    this.channel.send({ type: "set_video_enabled", enabled });
    this.renderSelfControls();
  }

  private endForAll(): void {
    this.endButton.disabled = true;
    this.channel.send({ type: "end_meeting" });
    // The server answers with `meeting_ended` (or an `error`, e.g. not_host).
    setTimeout(() => {
      if (!this.exited) this.endButton.disabled = false;
    }, 3000);
  }

  private async leave(): Promise<void> {
    this.channel.send({ type: "leave" });
    await new Promise((resolve) => setTimeout(resolve, LEAVE_ACK_TIMEOUT_MS));
    this.exit({ kind: "left" });
  }

  private async copyInvite(url: string): Promise<void> {
    try {
      await navigator.clipboard.writeText(url);
      this.say("Invite link copied. 邀请链接已复制。");
    } catch {
      this.say(url);
    }
  }

  private noticeTimer: ReturnType<typeof setTimeout> | undefined;

  private say(text: string): void {
    this.notice.textContent = text;
    this.notice.classList.add("visible");
    clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => this.notice.classList.remove("visible"), 5000);
  }

  private exit(exit: MeetingExit): void {
    if (this.exited) return;
    this.exited = true;
    clearTimeout(this.noticeTimer);
    this.media.close();
    for (const tile of this.tiles.values()) tile.detach();
    this.channel.close();
    exposeForInspection({ state: exit.kind });
    this.options.onExit(exit);
  }
}
