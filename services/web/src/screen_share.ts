// Screen sharing (F-CTL-6): the captured screen replaces the camera on the
// same video sender (no renegotiation), and `set_screen_share` tells the
// room. One participant shares at a time; the host may switch sharing off
// for participants (the share button is disabled then).

import type { MeetingMedia } from "./media";
import type { SignalingChannel } from "./signaling";

export class ScreenShare {
  private track: MediaStreamTrack | null = null;

  constructor(
    private readonly media: MeetingMedia,
    private readonly channel: SignalingChannel,
    /** Says something to the user. */
    private readonly say: (text: string) => void,
  ) {}

  get sharing(): boolean {
    return this.track !== null;
  }

  /**
   * Asks the browser for a screen and sends it. `otherSharer` is the name of
   * whoever shares already (sharing is refused then); `startVideo` turns the
   * camera flag on, since video that is off is not forwarded.
   */
  async start(otherSharer: string | null, startVideo: () => void): Promise<void> {
    if (this.track) return;
    if (otherSharer) {
      this.say(`${otherSharer} is sharing; one at a time. ${otherSharer} 正在共享。`);
      return;
    }
    if (!this.media.canSwapVideo) {
      this.say("Sharing needs a camera connection. 需要视频连接才能共享。");
      return;
    }
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    } catch {
      return; // The user chose not to share.
    }
    const track = stream.getVideoTracks()[0];
    if (!track || !this.channel.isOpen) {
      for (const t of stream.getTracks()) t.stop();
      return;
    }
    this.track = track;
    // The browser's own "Stop sharing" bar ends the track.
    track.addEventListener("ended", () => void this.stop());
    await this.media.swapVideo(track);
    startVideo();
    this.channel.send({ type: "set_screen_share", sharing: true });
  }

  /** Goes back to the camera. */
  async stop(): Promise<void> {
    const track = this.track;
    if (!track) return;
    this.track = null;
    track.stop();
    if (!this.channel.isOpen) return;
    await this.media.swapVideo(null).catch(() => undefined);
    this.channel.send({ type: "set_screen_share", sharing: false });
  }

  /** Releases the capture (the meeting is over). */
  close(): void {
    this.track?.stop();
    this.track = null;
  }
}
