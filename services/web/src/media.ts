// Media for one participant: a publishing peer connection (own microphone and
// camera, send-only) and a subscribing peer connection (everyone else's tracks,
// offered by the SFU). Each received track's stream id is its publisher's
// participant id.

import type { IceServer, ServerMessage, VideoQuality } from "./proto";
import type { SignalingChannel } from "./signaling";
import { PathWatch } from "./media_path";

export type RemoteTrackHandler = (participantId: string, stream: MediaStream, track: MediaStreamTrack) => void;

/** How long to wait for host candidates before sending SDP anyway. The SFU is
 * ICE-lite and learns our address from our connectivity checks, so this only
 * matters for servers that are not. */
const GATHERING_WAIT_MS = 1000;

function gatheringComplete(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", check);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === "complete") done();
    };
    const timer = setTimeout(done, GATHERING_WAIT_MS);
    pc.addEventListener("icegatheringstatechange", check);
  });
}

/** The camera's simulcast layers, lowest first, named as the SFU expects:
 * a thumbnail, a small tile and the full picture. */
export const SIMULCAST_LAYERS: RTCRtpEncodingParameters[] = [
  { rid: "q", scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: "h", scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: "f", scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
];

/** The highest layer (index into `SIMULCAST_LAYERS`) each quality needs. */
const TOP_LAYER: Record<VideoQuality, number> = { off: -1, low: 0, medium: 1, high: 2 };

/** Opens the microphone and camera; falls back to audio only, then to nothing. */
export async function openLocalMedia(): Promise<MediaStream> {
  const attempts: MediaStreamConstraints[] = [
    { audio: true, video: { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 24 } } },
    { audio: true },
    { video: true },
  ];
  for (const constraints of attempts) {
    try {
      return await navigator.mediaDevices.getUserMedia(constraints);
    } catch (error) {
      console.warn("yunhui: getUserMedia failed", constraints, error);
    }
  }
  return new MediaStream();
}

/** Names this page's subscriber connections, so a page can tell a new one from a renegotiated one. */
let subscriberCount = 0;
const pageTag = Math.random().toString(36).slice(2, 8);

export class MeetingMedia {
  publisherPc: RTCPeerConnection;
  subscriberPc: RTCPeerConnection;
  /** Which subscriber connection `subscriberPc` is: a new one gets a new id (media restart); renegotiation keeps it. */
  subscriberPcId: string;
  /** Subscriber offers are answered strictly one after another. */
  private subscriberWork: Promise<void> = Promise.resolve();
  private closed = false;
  /** Own microphone and camera; empty until `publish`. */
  localStream = new MediaStream();
  /** The sender of the camera (or, while sharing, the screen). */
  private videoSender: RTCRtpSender | null = null;
  /** The most anyone watching wants (the server's `publish_quality`). */
  private maxQuality: VideoQuality = "high";
  /** Asks for a media restart when the connections die while signaling lives. */
  readonly path: PathWatch;

  constructor(
    private readonly channel: SignalingChannel,
    private readonly onRemoteTrack: RemoteTrackHandler,
    /** Called with the new connections after a media restart. */
    private readonly onReconnected: (media: MeetingMedia) => void = () => undefined,
    /**
     * The deployment's TURN server with this participant's credentials, from
     * the join answer (`joined.ice_servers`): where UDP and ICE-TCP to the
     * media server are blocked, media goes through it (TURN over UDP, TCP or
     * TLS on 443).
     */
    private readonly iceServers: IceServer[] = [],
  ) {
    this.path = new PathWatch(
      () => [this.publisherPc, this.subscriberPc],
      () => this.channel.send({ type: "restart_media" }),
    );
    this.publisherPc = this.newConnection();
    this.subscriberPc = this.newConnection();
    this.subscriberPcId = `${pageTag}-${++subscriberCount}`;
    this.listenForTracks();
  }

  private newConnection(): RTCPeerConnection {
    const pc = new RTCPeerConnection({
      iceServers: this.iceServers.map(({ urls, username, credential }) => ({ urls, username, credential })),
    });
    pc.addEventListener("connectionstatechange", () => this.path.look());
    return pc;
  }

  private listenForTracks(): void {
    this.subscriberPc.addEventListener("track", (event) => {
      const stream = event.streams[0];
      if (stream) this.onRemoteTrack(stream.id, stream, event.track);
      else console.warn("yunhui: received a track without a stream id", event.track.kind);
    });
  }

  get audioTrack(): MediaStreamTrack | undefined {
    return this.localStream.getAudioTracks()[0];
  }

  get videoTrack(): MediaStreamTrack | undefined {
    return this.localStream.getVideoTracks()[0];
  }

  /** Adds the local tracks send-only and sends the `publish_offer`. */
  async publish(localStream: MediaStream): Promise<void> {
    if (this.closed) {
      for (const track of localStream.getTracks()) track.stop();
      return;
    }
    this.localStream = localStream;
    await this.offer(localStream.getTracks());
  }

  /** Adds `tracks` send-only and sends the `publish_offer`. */
  private async offer(tracks: MediaStreamTrack[]): Promise<void> {
    if (tracks.length === 0) return;
    for (const track of tracks) {
      const transceiver = this.publisherPc.addTransceiver(track, {
        direction: "sendonly",
        streams: [this.localStream],
        // The camera goes out in three layers; the SFU forwards each viewer
        // the one that fits the tile they show it in.
        ...(track.kind === "video" ? { sendEncodings: SIMULCAST_LAYERS } : {}),
      });
      if (track.kind === "video") this.videoSender = transceiver.sender;
    }
    const offer = await this.publisherPc.createOffer();
    await this.publisherPc.setLocalDescription(offer);
    await gatheringComplete(this.publisherPc);
    if (this.closed) return;
    const sdp = this.publisherPc.localDescription?.sdp ?? offer.sdp ?? "";
    this.channel.send({ type: "publish_offer", sdp });
    // Told before there was anything to limit.
    if (this.maxQuality !== "high") await this.limitLayers(this.maxQuality);
  }

  /** Handles the media messages of the protocol; returns false for others. */
  handle(message: ServerMessage): boolean {
    switch (message.type) {
      case "publish_answer":
        void this.publisherPc
          .setRemoteDescription({ type: "answer", sdp: message.sdp })
          .catch((error) => console.error("yunhui: publish answer rejected", error));
        return true;
      case "subscriber_offer":
        this.subscriberWork = this.subscriberWork
          .then(() => this.answerSubscriberOffer(message.sdp))
          .catch((error) => console.error("yunhui: subscriber offer failed", error));
        return true;
      case "media_restart":
        void this.restart().catch((error) => console.error("yunhui: media restart failed", error));
        return true;
      default:
        return false;
    }
  }

  /**
   * Encodes only the simulcast layers up to `max`, the most anyone watching
   * wants; none for "off" (nobody watches). Saves this computer's CPU and
   * upload; the layers come back as soon as someone needs them.
   */
  async limitLayers(max: VideoQuality): Promise<void> {
    this.maxQuality = max;
    const sender = this.videoSender;
    if (!sender) return;
    const params = sender.getParameters();
    if (!params.encodings || params.encodings.length < 2) return;
    let changed = false;
    params.encodings.forEach((encoding, index) => {
      const layer = SIMULCAST_LAYERS.findIndex((l) => l.rid === encoding.rid);
      const active = (layer < 0 ? index : layer) <= TOP_LAYER[max];
      if (encoding.active !== active) {
        encoding.active = active;
        changed = true;
      }
    });
    if (changed) await sender.setParameters(params).catch((error) => console.warn("yunhui: cannot change the sent layers", error));
  }

  setAudioEnabled(enabled: boolean): void {
    const track = this.audioTrack;
    if (track) track.enabled = enabled;
  }

  setVideoEnabled(enabled: boolean): void {
    const track = this.videoTrack;
    if (track) track.enabled = enabled;
  }

  /** Whether there is a video sender whose track can be swapped (for sharing). */
  get canSwapVideo(): boolean {
    return this.videoSender !== null;
  }

  /**
   * Sends `track` (a captured screen) in place of the camera, or the camera
   * again for `null`. No renegotiation: the same sender carries either.
   */
  async swapVideo(track: MediaStreamTrack | null): Promise<void> {
    if (!this.videoSender) throw new Error("no video is being sent, so there is nothing to share through");
    await this.videoSender.replaceTrack(track ?? this.videoTrack ?? null);
  }

  /**
   * The media server restarted: new connections, the same tracks (the
   * screen, if it was being shared, in place of the camera). Later
   * subscriber offers go to the new subscriber connection.
   */
  private async restart(): Promise<void> {
    if (this.closed) return;
    const sentVideo = this.videoSender?.track ?? this.videoTrack ?? null;
    const tracks = [
      ...this.localStream.getAudioTracks(),
      ...(sentVideo ? [sentVideo] : []),
    ];
    this.publisherPc.close();
    this.subscriberPc.close();
    this.publisherPc = this.newConnection();
    this.subscriberPc = this.newConnection();
    this.subscriberPcId = `${pageTag}-${++subscriberCount}`;
    this.videoSender = null;
    this.listenForTracks();
    this.subscriberWork = Promise.resolve();
    this.onReconnected(this);
    await this.offer(tracks);
  }

  close(): void {
    this.closed = true;
    this.path.stop();
    for (const track of this.localStream.getTracks()) track.stop();
    this.publisherPc.close();
    this.subscriberPc.close();
  }

  private async answerSubscriberOffer(sdp: string): Promise<void> {
    if (this.closed) return;
    await this.subscriberPc.setRemoteDescription({ type: "offer", sdp });
    const answer = await this.subscriberPc.createAnswer();
    await this.subscriberPc.setLocalDescription(answer);
    await gatheringComplete(this.subscriberPc);
    if (this.closed) return;
    this.channel.send({
      type: "subscriber_answer",
      sdp: this.subscriberPc.localDescription?.sdp ?? answer.sdp ?? "",
    });
  }
}
