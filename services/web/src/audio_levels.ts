// Levels of played audio, as numbers: the RMS of one block of samples and the
// loudest block of the last moments (speech, and the test browsers' fake
// microphone, come in short bursts, so one block alone is often silence).
// No Web Audio here, so it is unit-tested; `audio_playback.ts` feeds it.

/** Root mean square of `samples` (-1..1): 0 for silence or no samples. */
export function rms(samples: ArrayLike<number>): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i] ?? 0;
    sum += s * s;
  }
  return Math.sqrt(sum / samples.length);
}

/** The loudest of the levels added in the last `windowMs`. */
export class LevelWindow {
  private readonly samples: { at: number; level: number }[] = [];

  constructor(private readonly windowMs: number) {}

  add(level: number, at: number): void {
    this.samples.push({ at, level });
    this.drop(at);
  }

  /** The loudest level within the window before `now` (0 when none). */
  peak(now: number): number {
    this.drop(now);
    return this.samples.reduce((max, s) => Math.max(max, s.level), 0);
  }

  private drop(now: number): void {
    while (this.samples.length > 0 && (this.samples[0]?.at ?? now) <= now - this.windowMs) this.samples.shift();
  }
}
