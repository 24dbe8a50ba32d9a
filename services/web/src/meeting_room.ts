// The in-meeting page: gallery of tiles, a sidebar with the participant list
// (and, for hosts, the host panel) and the chat, and the footer with one's own
// controls. Room state comes only from the server's messages; local clicks
// change local tracks at once and wait for the server's echo for everything
// shown to others. The pieces live in their own modules: participant_list,
// host_panel, chat_panel, qa_panel, self_controls, recording_controls,
// streaming_controls, screen_share, ask_dialog. In a webinar (webinar.ts) an
// attendee sends nothing until the host allows them to talk, and then only
// their microphone; the Q&A tab shows. With interpretation the
// Interpretation tab shows (interpretation_panel) and every remote
// participant plays at the gain `interpretation.ts` gives them
// (audio_playback). With breakout rooms the gallery shows only those in
// one's own room (breakouts.ts), the banner above it offers the moves
// (breakout_banner), and hosts get the Breakouts tab (breakout_manager).
// On a meeting-room terminal (room mode, F-CTL-9) the page opens in speaker
// view, offers a custom view with a fixed order and rotation, and its View
// tab (room_view_panel) sets them; it records nothing.

import { askChoice, askText } from "./ask_dialog";
import { AudioPlayback } from "./audio_playback";
import { BreakoutBanner } from "./breakout_banner";
import { BreakoutManager } from "./breakout_manager";
import { roomName, sameRoom, type BreakoutState } from "./breakouts";
import { ChatPanel } from "./chat_panel";
import { playChime } from "./chime";
import { formatMeetingNumber, h, show } from "./dom";
import type { MeetingExit } from "./farewell";
import { HostPanel, type MeetingState } from "./host_panel";
import { exposeForInspection } from "./inspection";
import { playbackGain } from "./interpretation";
import { InterpretationPanel } from "./interpretation_panel";
import { MeetingMedia, openLocalMedia } from "./media";
import { ParticipantList, type ListView } from "./participant_list";
import { ParticipantTile, icon, icons } from "./participant_tile";
import { QaPanel } from "./qa_panel";
import { RecordingControls, RecordingIndicator } from "./recording_controls";
import type { ChatMessage, DialState, HostCommand, Participant, ServerMessage, WaitingParticipant } from "./proto";
import { LIMITS } from "./proto";
import { ScreenShare } from "./screen_share";
import { LiveIndicator, StreamingControls } from "./streaming_controls";
import { SelfControls } from "./self_controls";
import { meansJoinAgain } from "./reconnect";
import type { Joined, SignalingChannel } from "./signaling";
import { RoomViewPanel } from "./room_view_panel";
import { computeLayout, customSequence, type LayoutMode } from "./view_layout";
import { askDialTarget, dialStatusText } from "./dial_dialog";
import { InviteePicker } from "./invitee_picker";
import { localProfile } from "./local_profile";
import { answersQuestions, maySendMedia, maySendVideo } from "./webinar";

export type { MeetingExit } from "./farewell";

export interface MeetingRoomOptions {
  /** Invite link to offer for copying (known when this browser created the meeting). */
  inviteUrl?: string;
  onExit: (exit: MeetingExit) => void;
  /** The microphone and camera as they were before the page joined again. */
  resume?: { audioMuted: boolean; videoEnabled: boolean };
}

const LEAVE_ACK_TIMEOUT_MS = 1500;

type SidebarTab = "participants" | "chat" | "qa" | "interpretation" | "breakouts" | "view";

const LAYOUT_NAMES: Record<LayoutMode, string> = {
  gallery: "Gallery view 画廊视图",
  speaker: "Speaker view 演讲者视图",
  custom: "Custom view 自定义视图",
};

export class MeetingRoom {
  private readonly participants = new Map<string, Participant>();
  private readonly tiles = new Map<string, ParticipantTile>();
  /** Remote streams that arrived before their participant's tile. */
  private readonly pendingStreams = new Map<string, MediaStream>();
  /** Every remote participant's stream (the SFU keeps its track set current). */
  private readonly remoteStreams = new Map<string, MediaStream>();
  private readonly playback = new AudioPlayback();
  private breakouts: BreakoutState | null = null;
  /** The room names the participant list was last drawn with. */
  private listedBreakoutNames = "{}";
  private readonly media: MeetingMedia;
  private readonly selfId: string;
  private activeSpeaker: string | null = null;
  private meetingState: MeetingState | null = null;
  private waiting: WaitingParticipant[] = [];
  private audioMuted = false;
  private audioLocked = false;
  private videoEnabled = true;
  private handRaised = false;
  /** Host requests with a question open, so a repeated request asks once. */
  private readonly openRequests = new Set<string>();
  private unreadChat = 0;
  /** Whether the camera and microphone were opened and published (attendees wait until allowed to talk). */
  private mediaStarted = false;
  private tab: SidebarTab = "participants";
  private exited = false;

  private readonly gallery = h("div", { class: "gallery", testid: "gallery" });
  /** Whether this browser is a meeting-room terminal. */
  private readonly roomMode = localProfile.roomMode();
  /** The terminal's View tab (room mode only). */
  private readonly roomView: RoomViewPanel | null = this.roomMode ? new RoomViewPanel(() => this.roomViewChanged()) : null;
  /** Room mode opens in speaker view (manual 3.7.3). */
  private layoutMode: LayoutMode = this.roomMode ? "speaker" : "gallery";
  private rotationTimer: ReturnType<typeof setInterval> | undefined;
  /** Room mode chooses the view from a list instead of toggling. */
  private readonly layoutSelect = h(
    "select",
    { class: "layout-select", testid: "layout-select", "aria-label": "View 视图" },
    ...(["speaker", "gallery", "custom"] as const).map((mode) => h("option", { value: mode }, LAYOUT_NAMES[mode])),
  );
  private galleryPage = 0;
  /** The subscriptions last sent, to send only changes. */
  private sentSubscriptions = "";
  /** How each invitation this page sent goes, by account id. */
  private readonly invites: Record<string, string> = {};
  /** How each call out this page placed goes, by call id. */
  private readonly dials: Record<string, { target: string; state: DialState; reason?: string; participantId?: string }> = {};
  private readonly dialButton = h(
    "button",
    { class: "link-button", type: "button", testid: "dial-out", onclick: () => void this.dialOut() },
    "Call device 呼叫设备",
  );
  private readonly layoutToggle = h("button", {
    type: "button",
    class: "link-button",
    testid: "layout-toggle",
    onclick: () => this.setLayoutMode(this.layoutMode === "gallery" ? "speaker" : "gallery"),
  });
  private readonly pagePrev = h(
    "button",
    { type: "button", class: "link-button", testid: "gallery-prev", title: "Previous page 上一页", onclick: () => this.turnPage(-1) },
    "‹",
  );
  private readonly pageNext = h(
    "button",
    { type: "button", class: "link-button", testid: "gallery-next", title: "Next page 下一页", onclick: () => this.turnPage(1) },
    "›",
  );
  private readonly pageLabel = h("span", { class: "page-label", testid: "gallery-page" });
  private readonly pager = h("span", { class: "pager" }, this.pagePrev, this.pageLabel, this.pageNext);
  private readonly listCount = h("span", { class: "count", testid: "participant-count" });
  private readonly notice = h("div", { class: "notice", role: "status", testid: "meeting-notice" });
  private readonly lockBadge = h("span", { class: "tag locked", testid: "locked-badge" }, icon(icons.lock), "Locked 已锁定");
  private readonly participantsTab = h("button", { type: "button", role: "tab", testid: "tab-participants" });
  private readonly chatTab = h("button", { type: "button", role: "tab", testid: "tab-chat" });
  private readonly qaTab = h("button", { type: "button", role: "tab", testid: "tab-qa" });
  private readonly interpretationTab = h("button", { type: "button", role: "tab", testid: "tab-interpretation" }, "Interpretation 传译");
  private readonly breakoutsTab = h("button", { type: "button", role: "tab", testid: "tab-breakouts" });
  private readonly viewTab = h("button", { type: "button", role: "tab", testid: "tab-view" }, "View 视图");
  private readonly viewPane = h("div", { class: "pane", role: "tabpanel", testid: "view-pane" });
  private readonly participantsPane: HTMLElement;
  private readonly chatPane: HTMLElement;
  private readonly qaPane: HTMLElement;
  private readonly interpretationPane: HTMLElement;
  private readonly breakoutsPane: HTMLElement;
  private readonly qa: QaPanel;
  private readonly interpretation: InterpretationPanel;
  private readonly breakoutBanner: BreakoutBanner;
  private readonly breakoutManager: BreakoutManager;
  private readonly endButton = h(
    "button",
    { class: "control danger", testid: "end-meeting", type: "button" },
    icon(icons.end),
    h("span", {}, "End for all 结束会议"),
  );
  private readonly recordingIndicator = new RecordingIndicator();
  private readonly liveIndicator: LiveIndicator;
  private readonly participantList: ParticipantList;
  private readonly hostPanel: HostPanel;
  private readonly chat: ChatPanel;
  private readonly selfControls: SelfControls;
  private readonly recordingControls: RecordingControls;
  private readonly streamingControls: StreamingControls;
  private readonly screenShare: ScreenShare;

  constructor(
    root: HTMLElement,
    private readonly channel: SignalingChannel,
    joined: Joined,
    private readonly options: MeetingRoomOptions,
  ) {
    this.selfId = joined.participant_id;
    this.media = new MeetingMedia(
      channel,
      (participantId, stream) => this.attachRemoteStream(participantId, stream),
      (media) => exposeForInspection({ publisherPc: media.publisherPc, subscriberPc: media.subscriberPc, subscriberPcId: media.subscriberPcId }),
      joined.ice_servers,
    );
    this.participantList = new ParticipantList(this.selfId, {
      host: (command) => this.sendHost(command),
      chatWith: (participant) => this.openChatWith(participant.id),
      renameSelf: (current) => void this.renameSelf(current),
      renameOther: (participant) => void this.renameOther(participant),
      remove: (participant) => void this.removeParticipant(participant),
      makeHost: (participant) => void this.makeHost(participant),
    });
    this.screenShare = new ScreenShare(this.media, channel, (text) => this.say(text));
    this.hostPanel = new HostPanel((command) => this.sendHost(command));
    this.recordingControls = new RecordingControls((command) => this.sendHost(command));
    this.streamingControls = new StreamingControls(joined.meeting_number, (command) => this.sendHost(command));
    this.liveIndicator = new LiveIndicator((command) => this.sendHost(command), (text) => this.say(text));
    this.chat = new ChatPanel(
      this.selfId,
      (to, text, toPanel) => this.channel.send(to ? { type: "chat", to, text, to_panel: false } : { type: "chat", text, to_panel: toPanel }),
      (message) => this.chatArrived(message),
    );
    this.selfControls = new SelfControls({
      toggleAudio: () => this.setAudioMuted(!this.audioMuted),
      toggleVideo: () => this.setVideoEnabled(!this.videoEnabled),
      toggleHand: () => this.channel.send({ type: "raise_hand", raised: !this.handRaised }),
      react: (emoji) => this.channel.send({ type: "react", emoji }),
      toggleShare: () => void this.toggleScreenShare(),
    });
    this.participantsPane = h(
      "div",
      { class: "pane", role: "tabpanel", testid: "participants-pane" },
      this.participantList.root,
      this.hostPanel.root,
    );
    this.chatPane = h("div", { class: "pane", role: "tabpanel", testid: "chat-pane" }, this.chat.root);
    this.qa = new QaPanel((message) => this.channel.send(message));
    this.qaPane = h("div", { class: "pane", role: "tabpanel", testid: "qa-pane" }, this.qa.root);
    this.qaTab.hidden = true;
    this.interpretation = new InterpretationPanel(
      (message) => this.channel.send(message),
      (command) => this.sendHost(command),
      () => this.applyGains(),
    );
    this.interpretationPane = h("div", { class: "pane", role: "tabpanel", testid: "interpretation-pane" }, this.interpretation.root);
    this.interpretationTab.hidden = true;
    this.breakoutBanner = new BreakoutBanner((message) => this.channel.send(message));
    this.breakoutManager = new BreakoutManager(
      (command) => this.sendHost(command),
      (message) => this.channel.send(message),
      () => this.renderBreakoutsTab(),
    );
    this.breakoutsPane = h("div", { class: "pane", role: "tabpanel", testid: "breakouts-pane" }, this.breakoutManager.root);
    this.breakoutsTab.hidden = true;
    this.renderBreakoutsTab();

    show(root, this.render(joined));
    for (const participant of joined.participants) this.upsertParticipant(participant);
    // Joined again: the microphone and camera stay as the user left them.
    if (options.resume?.audioMuted && !this.audioMuted) this.setAudioMuted(true);
    if (options.resume && !options.resume.videoEnabled && this.videoEnabled) this.setVideoEnabled(false);
    this.showTab("participants");
    this.renderRoleDependent();

    exposeForInspection({
      participantId: this.selfId,
      meetingNumber: joined.meeting_number,
      publisherPc: this.media.publisherPc,
      subscriberPc: this.media.subscriberPc,
      subscriberPcId: this.media.subscriberPcId,
      mediaRestartsAsked: () => this.media.path.requested,
      participants: () => [...this.participants.values()],
      state: "joined",
      receivedTracks: () =>
        [...this.remoteStreams].flatMap(([participantId, stream]) =>
          stream.getTracks().map((track) => ({ participantId, kind: track.kind, trackId: track.id, muted: track.muted })),
        ),
      audioEnergy: () => this.audioEnergy(),
      playedLevels: () => this.playback.levels(),
      playbackGains: () => this.playback.playingGains(),
      languageChannel: null,
      breakouts: null,
    });

    channel.onClose((event) =>
      this.exit(
        meansJoinAgain(event)
          ? { kind: "lost", audioMuted: this.audioMuted, videoEnabled: this.videoEnabled }
          : { kind: "disconnected" },
      ),
    );
    channel.listen((message) => this.receive(message));
    this.startMediaWhenAllowed();
  }

  private render(joined: Joined): HTMLElement {
    this.endButton.addEventListener("click", () => this.endForAll());
    this.participantsTab.addEventListener("click", () => this.showTab("participants"));
    this.chatTab.addEventListener("click", () => this.showTab("chat"));
    this.qaTab.addEventListener("click", () => this.showTab("qa"));
    this.interpretationTab.addEventListener("click", () => this.showTab("interpretation"));
    this.breakoutsTab.addEventListener("click", () => this.showTab("breakouts"));
    this.viewTab.addEventListener("click", () => this.showTab("view"));
    this.viewTab.hidden = !this.roomView;
    if (this.roomView) this.viewPane.append(this.roomView.root);
    this.layoutSelect.value = this.layoutMode;
    this.layoutSelect.addEventListener("change", () => this.setLayoutMode(this.layoutSelect.value as LayoutMode));
    this.layoutToggle.hidden = this.roomMode;
    this.lockBadge.hidden = true;
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
        this.liveIndicator.root,
        h(
          "div",
          { class: "meeting-title" },
          h("strong", { testid: "meeting-topic" }, joined.topic),
          h("span", { class: "meeting-number", testid: "meeting-number-display" }, `ID ${formatMeetingNumber(joined.meeting_number)}`),
        ),
        this.recordingIndicator.root,
        this.lockBadge,
        this.pager,
        this.layoutToggle,
        this.roomMode ? this.layoutSelect : null,
        localProfile.session()
          ? h(
              "button",
              { class: "link-button", type: "button", testid: "invite-people", onclick: () => void this.invitePeople() },
              "Invite 邀请",
            )
          : null,
        this.dialButton,
        invite,
      ),
      h(
        "main",
        { class: "meeting-body" },
        h("div", { class: "stage" }, this.breakoutBanner.root, this.gallery),
        h(
          "aside",
          { class: "sidebar" },
          h(
            "div",
            { class: "tabs", role: "tablist" },
            this.participantsTab,
            this.chatTab,
            this.qaTab,
            this.interpretationTab,
            this.breakoutsTab,
            this.viewTab,
          ),
          this.participantsPane,
          this.chatPane,
          this.qaPane,
          this.interpretationPane,
          this.breakoutsPane,
          this.viewPane,
        ),
      ),
      this.notice,
      h(
        "footer",
        { class: "controls" },
        ...this.selfControls.elements,
        this.recordingControls.root,
        this.streamingControls.root,
        this.endButton,
        leaveButton,
      ),
    );
  }

  /** Opens and publishes the camera and microphone once this participant may send (at once, but for a webinar's attendee). */
  private startMediaWhenAllowed(): void {
    const self = this.participants.get(this.selfId);
    if (this.mediaStarted || !self || !maySendMedia(self)) return;
    this.mediaStarted = true;
    void this.startMedia(maySendVideo(self));
  }

  private async startMedia(withVideo: boolean): Promise<void> {
    let stream = await openLocalMedia();
    if (!withVideo) {
      // An attendee allowed to talk: the microphone only, the camera stays closed.
      for (const track of stream.getVideoTracks()) track.stop();
      stream = new MediaStream(stream.getAudioTracks());
    }
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
    if (!hasAudio || (withVideo && !hasVideo)) this.say("No camera or microphone found. 未找到摄像头或麦克风。");
  }

  private receive(message: ServerMessage): void {
    if (this.media.handle(message)) return;
    switch (message.type) {
      case "participant_joined":
        this.upsertParticipant(message.participant);
        if (this.meetingState?.options.entry_exit_chime) playChime("enter");
        break;
      case "participants_joined":
        for (const participant of message.participants) this.upsertParticipant(participant);
        if (this.meetingState?.options.entry_exit_chime) playChime("enter");
        break;
      case "participant_updated":
        this.upsertParticipant(message.participant);
        break;
      case "participant_left":
        this.participantLeft(message.participant_id);
        if (this.meetingState?.options.entry_exit_chime) playChime("exit");
        break;
      case "active_speaker":
        this.setActiveSpeaker(message.participant_id);
        break;
      case "meeting_state":
        this.meetingState = {
          locked: message.locked,
          spotlight: message.spotlight,
          options: message.options,
          recording: message.recording,
          streaming: message.streaming,
          languages: message.languages,
        };
        this.hostPanel.update(this.meetingState);
        this.renderRoleDependent();
        this.routeSound();
        break;
      case "waiting_room":
        this.waitingChanged(message.waiting);
        break;
      case "chat":
        this.chat.add(message.message);
        break;
      case "question":
        this.qa.add(message.question);
        this.renderQaTab();
        break;
      case "breakouts":
        this.breakouts = message.breakouts;
        exposeForInspection({ breakouts: message.breakouts });
        this.renderBreakouts();
        this.updateLayout();
        break;
      case "breakout_broadcast":
        this.breakoutBanner.showBroadcast(message.from_name, message.text);
        break;
      case "help_requested":
        this.breakoutManager.helpRequested(message.participant_id, message.display_name, message.room_id);
        this.say(`${message.display_name} asks for help in ${roomName(this.breakouts, message.room_id)}. ${message.display_name} 请求帮助。`);
        break;
      case "reaction":
        this.tiles.get(message.participant_id)?.showReaction(message.emoji);
        break;
      case "unmute_requested":
        void this.answerUnmuteRequest();
        break;
      case "start_video_requested":
        void this.answerStartVideoRequest();
        break;
      case "removed":
        this.exit({ kind: "removed" });
        break;
      case "meeting_ended":
        this.exit({ kind: "ended", reason: message.reason });
        break;
      case "left":
        this.exit({ kind: "left" });
        break;
      case "publish_quality":
        void this.media.limitLayers(message.max);
        exposeForInspection({ publishQuality: message.max });
        break;
      case "invite_status":
        this.inviteStatus(message.account_id, message.display_name, message.state);
        break;
      case "dial_status":
        this.dials[message.call_id] = {
          target: message.target,
          state: message.state,
          reason: message.reason,
          participantId: message.participant_id,
        };
        exposeForInspection({ dials: { ...this.dials } });
        this.say(dialStatusText(message.target, message.state, message.reason));
        break;
      case "error":
        // A start waiting in the live-stream dialog shows its refusal there; other errors may answer a recording command.
        if (!this.streamingControls.refused(message.code, message.message)) {
          this.recordingControls.refused(message.code, message.message);
        }
        this.say(message.message);
        break;
      case "hello":
      case "joined":
      case "waiting":
      case "publish_answer":
      case "subscriber_offer":
        break;
    }
  }

  private get selfIsHost(): boolean {
    return this.participants.get(this.selfId)?.role === "host";
  }

  private get listView(): ListView {
    return {
      selfIsHost: this.selfIsHost,
      spotlight: this.meetingState?.spotlight ?? null,
      allowRename: this.meetingState?.options.allow_rename ?? true,
      webinar: this.meetingState?.options.webinar ?? false,
      breakoutNames: Object.fromEntries((this.breakouts?.rooms ?? []).map((room) => [room.id, room.name])),
    };
  }

  private upsertParticipant(participant: Participant): void {
    const wasHost = this.selfIsHost;
    const wasRole = this.participants.get(this.selfId)?.role;
    const wasRoom = this.participants.get(this.selfId)?.breakout ?? null;
    this.participants.set(participant.id, participant);
    const isSelf = participant.id === this.selfId;
    let tile = this.tiles.get(participant.id);
    if (!tile) {
      tile = new ParticipantTile(participant, isSelf);
      tile.playSoundFromElement(!this.mixesSound());
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
      // The server's word wins (e.g. a host muted us or stopped our video).
      this.audioMuted = participant.audio_muted;
      this.audioLocked = participant.audio_locked;
      this.videoEnabled = participant.video_enabled;
      this.handRaised = participant.hand_raised;
      this.media.setAudioEnabled(!this.audioMuted);
      this.media.setVideoEnabled(this.videoEnabled);
    }
    this.chat.setParticipants([...this.participants.values()]);
    if (isSelf) this.startMediaWhenAllowed();
    if (isSelf && (participant.breakout ?? null) !== wasRoom) this.say(`You are now in ${roomName(this.breakouts, participant.breakout)}. 您已进入 ${roomName(this.breakouts, participant.breakout)}。`);
    this.applyGains();
    this.renderInterpretation();
    this.renderBreakouts();
    if (isSelf && (wasHost !== this.selfIsHost || wasRole !== participant.role)) {
      if (this.selfIsHost) this.say("You are now the host. 您已成为主持人。");
      this.renderRoleDependent();
    } else {
      this.participantList.render(participant, this.listView);
      this.renderSelfControls();
      this.updateLayout();
    }
  }

  private participantLeft(participantId: string): void {
    this.participants.delete(participantId);
    this.pendingStreams.delete(participantId);
    this.remoteStreams.delete(participantId);
    this.playback.remove(participantId);
    this.tiles.get(participantId)?.detach();
    this.tiles.delete(participantId);
    this.participantList.remove(participantId);
    this.chat.setParticipants([...this.participants.values()]);
    if (this.activeSpeaker === participantId) this.activeSpeaker = null;
    this.renderInterpretation();
    this.renderBreakouts();
    this.updateLayout();
  }

  /** Plays everyone at the gain the interpretation rules give them for this listener's channel. */
  private applyGains(): void {
    const listening = this.interpretation.listening;
    for (const participant of this.participants.values()) {
      if (participant.id !== this.selfId) this.playback.setGain(participant.id, playbackGain(listening, participant));
    }
    exposeForInspection({ languageChannel: listening.channel });
  }

  private renderInterpretation(): void {
    const on = this.meetingState?.options.interpretation ?? false;
    this.interpretationTab.hidden = !on;
    if (!on && this.tab === "interpretation") this.showTab("participants");
    if (on) this.interpretation.update([...this.participants.values()], this.meetingState?.languages ?? [], this.selfIsHost);
  }

  private renderBreakouts(): void {
    const self = this.participants.get(this.selfId);
    const manages = this.selfIsHost && !(this.meetingState?.options.webinar ?? false);
    this.breakoutsTab.hidden = !manages;
    if (!manages && this.tab === "breakouts") this.showTab("participants");
    this.breakoutBanner.update(this.breakouts, self);
    if (manages) this.breakoutManager.update(this.breakouts, [...this.participants.values()], self);
    // The list tags people with their room's name: redraw it when names change.
    const view = this.listView;
    const names = JSON.stringify(view.breakoutNames);
    if (names === this.listedBreakoutNames) return;
    this.listedBreakoutNames = names;
    for (const participant of this.participants.values()) this.participantList.render(participant, view);
  }

  /** Everything that depends on the viewer's role or the meeting's state. */
  private renderRoleDependent(): void {
    const isHost = this.selfIsHost;
    const state = this.meetingState;
    this.hostPanel.root.hidden = !isHost;
    this.endButton.hidden = !isHost;
    this.dialButton.hidden = !isHost && state?.options.join_mode !== "invitees_may_invite";
    this.lockBadge.hidden = !state?.locked;
    this.recordingIndicator.show(state?.recording ?? "off");
    this.recordingControls.render(state?.recording ?? "off", isHost);
    // A meeting-room terminal records nothing (manual 3.2).
    if (this.roomMode) this.recordingControls.root.hidden = true;
    const stream = state?.streaming ?? { state: "off" };
    this.liveIndicator.show(stream, isHost);
    this.streamingControls.render(stream, state?.options.live_streaming ?? false, isHost);
    const view = this.listView;
    for (const participant of this.participants.values()) this.participantList.render(participant, view);
    for (const [id, tile] of this.tiles) tile.setSpotlight(state?.spotlight === id);
    this.gallery.classList.toggle("hide-avatars", state?.options.hide_avatars ?? false);
    this.chat.setPolicy({ allowChat: state?.options.allow_chat ?? true, selfIsHost: isHost, webinar: state?.options.webinar ?? false });
    this.qaTab.hidden = !(state?.options.webinar ?? false);
    this.renderInterpretation();
    this.renderBreakouts();
    this.applyGains();
    this.qa.setViewer(this.selfId, answersQuestions(this.participants.get(this.selfId)));
    this.renderQaTab();
    if (!isHost) this.hostPanel.setWaiting([]);
    else this.hostPanel.setWaiting(this.waiting);
    this.renderSelfControls();
    this.updateLayout();
  }

  private waitingChanged(waiting: WaitingParticipant[]): void {
    const known = new Set(this.waiting.map((w) => w.id));
    const newcomers = waiting.filter((w) => !known.has(w.id));
    this.waiting = waiting;
    this.hostPanel.setWaiting(waiting);
    this.participantsTab.replaceChildren(...this.tabLabel("Participants 参会者", waiting.length));
    if (newcomers.length > 0) {
      const names = newcomers.map((w) => w.display_name).join(", ");
      this.say(`${names} is waiting to join. ${names} 正在等候室等待入会。`);
      this.showTab("participants");
    }
  }

  private updateLayout(): void {
    this.listCount.textContent = `(${this.participants.size})`;
    this.participantsTab.replaceChildren(...this.tabLabel("Participants 参会者", this.waiting.length));
    // Only those in one's own room (breakout rooms; the main room is null) are shown.
    const self = this.participants.get(this.selfId);
    const shown = [...this.tiles.keys()].filter((id) => {
      const p = this.participants.get(id);
      return !self || !p || sameRoom(p, self);
    });
    const order = shown.sort((a, b) => (a === this.selfId ? -1 : b === this.selfId ? 1 : 0));
    const roomView = this.roomView?.view();
    const layout = computeLayout({
      order,
      selfId: this.selfId,
      mode: this.layoutMode,
      page: this.galleryPage,
      pageSize: roomView?.pageSize,
      custom: roomView ? { order: roomView.order, perScreen: roomView.perScreen } : undefined,
      spotlight: this.meetingState?.spotlight ?? null,
      sharing: [...this.participants.values()].find((p) => p.sharing_screen)?.id ?? null,
      activeSpeaker: this.activeSpeaker,
    });
    this.roomView?.render(
      customSequence(order, this.selfId, roomView?.order ?? []).map((id) => ({ id, name: this.participants.get(id)?.display_name ?? id })),
    );
    this.galleryPage = layout.page;
    for (const [id, tile] of this.tiles) tile.setSize(layout.shown.get(id) ?? null);
    this.gallery.classList.toggle("has-main", layout.main !== null);
    this.gallery.dataset.layout = this.layoutMode;
    this.gallery.style.setProperty("--columns", String(layout.columns));
    this.layoutToggle.textContent = this.layoutMode === "gallery" ? "Speaker view 演讲者视图" : "Gallery view 宫格视图";
    this.pager.hidden = layout.pages <= 1;
    this.pageLabel.textContent = `${layout.page + 1} / ${layout.pages}`;
    // The custom view's screens go round.
    const rotating = this.layoutMode === "custom";
    this.pagePrev.disabled = !rotating && layout.page === 0;
    this.pageNext.disabled = !rotating && layout.page >= layout.pages - 1;
    const subscriptions = JSON.stringify(layout.subscriptions);
    if (subscriptions !== this.sentSubscriptions) {
      this.sentSubscriptions = subscriptions;
      this.channel.send({ type: "set_video_subscriptions", default: "off", participants: layout.subscriptions });
    }
    exposeForInspection({
      layout: { mode: this.layoutMode, page: layout.page, pages: layout.pages, main: layout.main, shown: [...layout.shown.keys()], roomMode: this.roomMode },
      videoSubscriptions: layout.subscriptions,
    });
  }

  /** Rings colleagues picked from the directory (signed-in users only). */
  private async invitePeople(): Promise<void> {
    const session = localProfile.session();
    if (!session) return;
    const picker = new InviteePicker(session.token, () => new Set([session.account.id]));
    const call = await askChoice({
      testid: "invite-dialog",
      title: "Invite to this meeting 邀请入会",
      text: "They are called wherever they are signed in. 被邀请人在已登录的设备上收到来电。",
      body: picker.root,
      confirm: "Call 呼叫",
      cancel: "Cancel 取消",
    });
    const accountIds = picker.selected();
    if (call && accountIds.length > 0) this.channel.send({ type: "invite", account_ids: accountIds });
  }

  /** Calls a room system or a phone into the meeting (through the SIP gateway). */
  private async dialOut(): Promise<void> {
    const target = await askDialTarget();
    if (target) this.channel.send({ type: "dial", target });
  }

  private inviteStatus(accountId: string, name: string, state: string): void {
    this.invites[accountId] = state;
    exposeForInspection({ invites: { ...this.invites } });
    const text: Record<string, string> = {
      ringing: `Calling ${name}… 正在呼叫 ${name}…`,
      offline: `${name} is not signed in anywhere. ${name} 当前不在线。`,
      accepted: `${name} accepted and is joining. ${name} 已接听，正在入会。`,
      declined: `${name} declined. ${name} 拒绝了邀请。`,
    };
    this.say(text[state] ?? `${name}: ${state}`);
  }

  private setLayoutMode(mode: LayoutMode): void {
    if (mode !== this.layoutMode) this.galleryPage = 0;
    this.layoutMode = mode;
    this.layoutSelect.value = mode;
    this.updateLayout();
    this.scheduleRotation();
  }

  /** The View tab changed a setting: apply it, and restart the rotation at its new pace. */
  private roomViewChanged(): void {
    this.updateLayout();
    this.scheduleRotation();
  }

  /** In the custom view with rotation on, the next screen comes every few seconds. */
  private scheduleRotation(): void {
    clearInterval(this.rotationTimer);
    this.rotationTimer = undefined;
    const seconds = this.roomView?.view().rotationSeconds ?? 0;
    if (this.exited || this.layoutMode !== "custom" || seconds <= 0) return;
    this.rotationTimer = setInterval(() => this.turnPage(1), seconds * 1000);
  }

  private turnPage(step: number): void {
    this.galleryPage += step;
    this.updateLayout();
  }

  private tabLabel(text: string, waiting: number): Node[] {
    const nodes: Node[] = [document.createTextNode(`${text} `), this.listCount];
    if (waiting > 0 && this.selfIsHost) {
      nodes.push(h("span", { class: "pill", title: "Waiting 等候中" }, String(waiting)));
    }
    return nodes;
  }

  private showTab(tab: SidebarTab): void {
    this.tab = tab;
    this.participantsPane.hidden = tab !== "participants";
    this.chatPane.hidden = tab !== "chat";
    this.qaPane.hidden = tab !== "qa";
    this.interpretationPane.hidden = tab !== "interpretation";
    this.breakoutsPane.hidden = tab !== "breakouts";
    this.viewPane.hidden = tab !== "view";
    this.viewTab.setAttribute("aria-selected", String(tab === "view"));
    this.qaTab.setAttribute("aria-selected", String(tab === "qa"));
    this.interpretationTab.setAttribute("aria-selected", String(tab === "interpretation"));
    this.breakoutsTab.setAttribute("aria-selected", String(tab === "breakouts"));
    this.participantsTab.setAttribute("aria-selected", String(tab === "participants"));
    this.chatTab.setAttribute("aria-selected", String(tab === "chat"));
    if (tab === "chat") this.unreadChat = 0;
    this.renderChatTab();
  }

  private renderQaTab(): void {
    const open = this.qa.open();
    this.qaTab.replaceChildren(
      document.createTextNode("Q&A 问答"),
      open > 0 ? h("span", { class: "pill", testid: "qa-open" }, String(open)) : "",
    );
  }

  private renderBreakoutsTab(): void {
    const help = this.breakoutManager.helpCount();
    this.breakoutsTab.replaceChildren(
      document.createTextNode("Breakouts 分组讨论"),
      help > 0 ? h("span", { class: "pill", testid: "help-count", title: "Help requests 求助" }, String(help)) : "",
    );
  }

  private renderChatTab(): void {
    this.chatTab.replaceChildren(
      document.createTextNode("Chat 聊天"),
      this.unreadChat > 0 ? h("span", { class: "pill", testid: "chat-unread" }, String(this.unreadChat)) : "",
    );
  }

  private chatArrived(message: ChatMessage): void {
    if (this.tab === "chat" || message.from === this.selfId) return;
    this.unreadChat += 1;
    this.renderChatTab();
  }

  private openChatWith(participantId: string): void {
    this.showTab("chat");
    this.chat.chatWith(participantId);
  }

  private setActiveSpeaker(participantId: string | null): void {
    this.activeSpeaker = participantId;
    for (const [id, tile] of this.tiles) tile.setSpeaking(id === participantId);
    if (this.layoutMode === "speaker") this.updateLayout();
  }

  /** The audio energy received so far from each remote participant (the subscriber connection's `totalAudioEnergy` per track, as WebRTC stats give it). */
  private async audioEnergy(): Promise<Record<string, number>> {
    const owner = new Map<string, string>();
    for (const [participantId, stream] of this.remoteStreams) {
      for (const track of stream.getAudioTracks()) owner.set(track.id, participantId);
    }
    const energy: Record<string, number> = {};
    const stats = await this.media.subscriberPc.getStats();
    stats.forEach((report: { type?: string; kind?: string; trackIdentifier?: string; totalAudioEnergy?: number }) => {
      if (report.type !== "inbound-rtp" || report.kind !== "audio" || !report.trackIdentifier) return;
      const participantId = owner.get(report.trackIdentifier);
      if (participantId) energy[participantId] = (energy[participantId] ?? 0) + (report.totalAudioEnergy ?? 0);
    });
    return energy;
  }

  /** Interpretation mixes channels at set volumes through Web Audio; other meetings play each tile's <audio> element (the browser's echo cancellation is surest with media elements). */
  private mixesSound(): boolean {
    return this.meetingState?.options.interpretation ?? false;
  }

  private routeSound(): void {
    const mix = this.mixesSound();
    for (const [id, tile] of this.tiles) {
      tile.playSoundFromElement(!mix);
      const stream = this.remoteStreams.get(id);
      if (mix && stream) this.playback.attach(id, stream);
    }
  }

  private attachRemoteStream(participantId: string, stream: MediaStream): void {
    if (participantId !== this.selfId) {
      this.remoteStreams.set(participantId, stream);
      if (this.mixesSound()) this.playback.attach(participantId, stream);
    }
    const tile = this.tiles.get(participantId);
    if (tile && participantId !== this.selfId) tile.attachRemoteStream(stream);
    else this.pendingStreams.set(participantId, stream);
  }

  private renderSelfControls(): void {
    const self = this.participants.get(this.selfId);
    this.selfControls.render({
      audioMuted: this.audioMuted,
      audioLocked: this.audioLocked,
      videoEnabled: this.videoEnabled,
      handRaised: this.handRaised,
      sharing: self?.sharing_screen ?? false,
      mayShare: (this.meetingState?.options.allow_screen_share ?? true) || this.selfIsHost,
      mayTalk: self ? maySendMedia(self) : true,
      mayShowVideo: self ? maySendVideo(self) : true,
    });
  }

  private setAudioMuted(muted: boolean): void {
    if (!muted && this.audioLocked) {
      this.say("The host has muted you. 主持人已将您静音。");
      return;
    }
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

  /** The host asked us to unmute: the user decides. */
  private async answerUnmuteRequest(): Promise<void> {
    if (!this.audioMuted || this.openRequests.has("unmute")) return;
    this.openRequests.add("unmute");
    const yes = await askChoice({
      testid: "unmute-request",
      title: "The host asks you to unmute 主持人请求您解除静音",
      confirm: "Unmute 解除静音",
      cancel: "Stay muted 保持静音",
    });
    this.openRequests.delete("unmute");
    if (yes && this.audioMuted && !this.exited) this.setAudioMuted(false);
  }

  /** The host asked us to start our video: the user decides. */
  private async answerStartVideoRequest(): Promise<void> {
    if (this.videoEnabled || this.openRequests.has("video")) return;
    this.openRequests.add("video");
    const yes = await askChoice({
      testid: "start-video-request",
      title: "The host asks you to start your video 主持人请求您开启摄像头",
      confirm: "Start video 开启视频",
      cancel: "Not now 暂不开启",
    });
    this.openRequests.delete("video");
    if (yes && !this.videoEnabled && !this.exited) this.setVideoEnabled(true);
  }

  private sendHost(command: HostCommand): void {
    this.channel.send({ type: "host", command });
  }

  private async renameSelf(current: string): Promise<void> {
    const name = await askText({
      testid: "rename-self",
      title: "Rename yourself 修改我的名字",
      label: "Name shown to others 显示名称",
      value: current,
      maxLength: LIMITS.display_name_chars,
      confirm: "Rename 改名",
    });
    if (name && name !== current) this.channel.send({ type: "rename", display_name: name });
  }

  private async renameOther(participant: Participant): Promise<void> {
    const name = await askText({
      testid: "rename-participant",
      title: `Rename ${participant.display_name} 改名`,
      label: "New name 新名称",
      value: participant.display_name,
      maxLength: LIMITS.display_name_chars,
      confirm: "Rename 改名",
    });
    if (name && name !== participant.display_name) {
      this.sendHost({ action: "rename", participant_id: participant.id, display_name: name });
    }
  }

  private async removeParticipant(participant: Participant): Promise<void> {
    const yes = await askChoice({
      testid: "confirm-remove",
      title: `Remove ${participant.display_name} from the meeting? 将其移出会议？`,
      confirm: "Remove 移除",
      cancel: "Cancel 取消",
    });
    if (yes) this.sendHost({ action: "remove", participant_id: participant.id });
  }

  private async makeHost(participant: Participant): Promise<void> {
    const yes = await askChoice({
      testid: "confirm-make-host",
      title: `Make ${participant.display_name} the host? 设为主持人？`,
      text: "You will become a participant. 您将成为普通参会者。",
      confirm: "Make host 设为主持人",
      cancel: "Cancel 取消",
    });
    if (yes) this.sendHost({ action: "make_host", participant_id: participant.id });
  }

  private async toggleScreenShare(): Promise<void> {
    if (this.screenShare.sharing) {
      await this.screenShare.stop();
      return;
    }
    const sharer = [...this.participants.values()].find((p) => p.sharing_screen && p.id !== this.selfId);
    await this.screenShare.start(sharer?.display_name ?? null, () => {
      if (!this.videoEnabled && !this.exited) this.setVideoEnabled(true);
    });
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
    clearInterval(this.rotationTimer);
    this.screenShare.close();
    this.media.close();
    this.playback.close();
    this.breakoutBanner.close();
    for (const tile of this.tiles.values()) tile.detach();
    for (const dialog of document.querySelectorAll("dialog.ask-dialog")) dialog.remove();
    this.channel.close();
    exposeForInspection({ state: exit.kind });
    this.options.onExit(exit);
  }
}
