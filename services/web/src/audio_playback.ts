// Plays everyone's received audio through Web Audio, one chain per remote
// participant: their audio track → GainNode (the volume the interpretation
// rules give them, `interpretation.ts`) → AnalyserNode → the speakers. The
// analyser sits after the gain, so `levels()` is what this page actually
// plays of each participant (the loudest block of the last two seconds).
// The tiles' <audio> elements stay attached but muted: Chromium's Web Audio
// gets no sound from a remote WebRTC track that no media element plays.

import { LevelWindow, rms } from "./audio_levels";

/** How often the analysers are read. */
const SAMPLE_MS = 50;
/** How far back `levels()` looks. */
const LEVEL_WINDOW_MS = 2000;

interface Voice {
  track: MediaStreamTrack;
  source: MediaStreamAudioSourceNode;
  gain: GainNode;
  analyser: AnalyserNode;
  window: LevelWindow;
}

export class AudioPlayback {
  private context: AudioContext | null = null;
  private readonly voices = new Map<string, Voice>();
  /** The gain each participant should play at (1 until told otherwise). */
  private readonly gains = new Map<string, number>();
  private readonly watchedStreams = new WeakSet<MediaStream>();
  private readonly buffer = new Float32Array(4096);
  private timer: ReturnType<typeof setInterval> | undefined;
  private closed = false;
  private readonly resume = () => void this.context?.resume().catch(() => undefined);

  /** Plays `stream`'s audio track for `participantId` (again, when the track changed; stops when it has none). */
  attach(participantId: string, stream: MediaStream): void {
    if (this.closed) return;
    if (!this.watchedStreams.has(stream)) {
      this.watchedStreams.add(stream);
      // A renegotiation takes a track away: play what is left.
      stream.addEventListener("removetrack", () => this.attach(participantId, stream));
      stream.addEventListener("addtrack", () => this.attach(participantId, stream));
    }
    const track = stream.getAudioTracks()[0];
    const voice = this.voices.get(participantId);
    if (voice && voice.track === track) return;
    if (voice) this.silence(participantId);
    if (!track) return;
    const context = this.audioContext();
    const source = context.createMediaStreamSource(new MediaStream([track]));
    const gain = context.createGain();
    gain.gain.value = this.gains.get(participantId) ?? 1;
    const analyser = context.createAnalyser();
    analyser.fftSize = this.buffer.length;
    source.connect(gain).connect(analyser).connect(context.destination);
    this.voices.set(participantId, { track, source, gain, analyser, window: new LevelWindow(LEVEL_WINDOW_MS) });
    this.timer ??= setInterval(() => this.sample(), SAMPLE_MS);
  }

  /** Sets the volume `participantId` plays at (0 silences, 1 is as received). */
  setGain(participantId: string, gain: number): void {
    this.gains.set(participantId, gain);
    const voice = this.voices.get(participantId);
    if (voice && voice.gain.gain.value !== Math.fround(gain)) voice.gain.gain.value = gain;
  }

  /** The participant left. */
  remove(participantId: string): void {
    this.silence(participantId);
    this.gains.delete(participantId);
  }

  /** What each participant with a playing audio track is played at, after the gain: the RMS (0..1) of the loudest recent block. */
  levels(): Record<string, number> {
    const now = performance.now();
    const levels: Record<string, number> = {};
    for (const [id, voice] of this.voices) levels[id] = voice.window.peak(now);
    return levels;
  }

  /** The gain each playing participant is played at now (the node's 32-bit value, to six decimals). */
  playingGains(): Record<string, number> {
    const gains: Record<string, number> = {};
    for (const [id, voice] of this.voices) gains[id] = Math.round(voice.gain.gain.value * 1e6) / 1e6;
    return gains;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    for (const id of [...this.voices.keys()]) this.silence(id);
    document.removeEventListener("click", this.resume);
    void this.context?.close().catch(() => undefined);
  }

  private audioContext(): AudioContext {
    if (!this.context) {
      this.context = new AudioContext();
      // Started without a click on this page (autoplay rules): the next click starts it.
      if (this.context.state === "suspended") {
        this.resume();
        document.addEventListener("click", this.resume);
      }
    }
    return this.context;
  }

  private silence(participantId: string): void {
    const voice = this.voices.get(participantId);
    if (!voice) return;
    voice.source.disconnect();
    voice.gain.disconnect();
    voice.analyser.disconnect();
    this.voices.delete(participantId);
  }

  private sample(): void {
    const now = performance.now();
    for (const voice of this.voices.values()) {
      voice.analyser.getFloatTimeDomainData(this.buffer);
      voice.window.add(rms(this.buffer), now);
    }
  }
}
