// The entry/exit chime (when the host switched it on): two short sine tones
// made with Web Audio, so there is no sound file to ship.

let context: AudioContext | null = null;

/** Rising tones for someone joining, falling for someone leaving. */
export function playChime(kind: "enter" | "exit"): void {
  try {
    context ??= new AudioContext();
    const ctx = context;
    const notes = kind === "enter" ? [660, 880] : [880, 660];
    notes.forEach((frequency, i) => {
      const oscillator = ctx.createOscillator();
      const gain = ctx.createGain();
      const start = ctx.currentTime + i * 0.15;
      oscillator.frequency.value = frequency;
      gain.gain.setValueAtTime(0.08, start);
      gain.gain.exponentialRampToValueAtTime(0.001, start + 0.14);
      oscillator.connect(gain).connect(ctx.destination);
      oscillator.start(start);
      oscillator.stop(start + 0.15);
    });
  } catch {
    // No audio output: the chime is a courtesy.
  }
}
