// Simultaneous interpretation rules as data (F-INT-1, the manual's 5.1 同声传译):
// the languages offered, how an interpreter is labelled, which channels a
// listener may choose, the host's commands to add, change, replace and
// remove an interpreter, and the playback gain of each participant's audio
// for one listener. The SFU decides what reaches a listener (the original
// from everyone, an interpreter's audio only to their channel's listeners);
// these decide how loud the page plays it (unit-tested).

import type { HostCommand, Participant } from "./proto";

/** An interpreter's languages, as the wire describes them. */
export type LanguagePair = NonNullable<Participant["interpreter"]>;

/** The languages the host picks from (any other code may be typed). */
export const LANGUAGES: readonly (readonly [code: string, name: string])[] = [
  ["zh", "中文 Chinese"],
  ["en", "English 英语"],
  ["ja", "日本語 Japanese"],
  ["ko", "한국어 Korean"],
  ["fr", "Français 法语"],
  ["de", "Deutsch 德语"],
  ["ru", "Русский 俄语"],
  ["es", "Español 西班牙语"],
  ["ar", "العربية 阿拉伯语"],
];

/** How loud the original plays under a chosen channel. */
export const ORIGINAL_UNDER_CHANNEL = 0.2;

/** A language's name for people, or its code when it is not in the list. */
export function languageName(code: string): string {
  return LANGUAGES.find(([c]) => c === code)?.[1] ?? code;
}

/** The tag next to an interpreter's name: "Interpreter zh→en 传译". */
export function interpreterBadge(pair: LanguagePair): string {
  return `Interpreter ${pair.from}→${pair.to} 传译`;
}

/**
 * A typed language code as the server takes it (trimmed, lower-cased: 2 to
 * `maxChars` (`LIMITS.language_chars`) letters, digits or '-', starting
 * with a letter), or `null` when it is not one.
 */
export function languageCode(text: string, maxChars: number): string | null {
  const code = text.trim().toLowerCase();
  if (code.length < 2 || code.length > maxChars) return null;
  return /^[a-z][a-z0-9-]*$/.test(code) ? code : null;
}

/** What one listener chose: a language channel (or the original only) and whether the original is silenced under it. */
export interface Listening {
  channel: string | null;
  muteOriginal: boolean;
}

/**
 * The channel a listener hears now: the one they chose while an interpreter
 * speaks into it (the server keeps the choice when the channel goes quiet,
 * and sends its audio again when an interpreter comes back to it).
 */
export function activeChannel(chosen: string | null, languages: readonly string[]): string | null {
  return chosen !== null && languages.includes(chosen) ? chosen : null;
}

/**
 * The gain `speaker`'s audio plays at for a listener of `channel`:
 * the channel's interpreter at full volume; the original (everyone who does
 * not interpret) at full volume without a channel, at
 * `ORIGINAL_UNDER_CHANNEL` under one, silent when the listener muted it;
 * an interpreter of another channel (the SFU does not send it) silent.
 */
export function playbackGain(listening: Listening, speaker: Pick<Participant, "interpreter">): number {
  const { channel, muteOriginal } = listening;
  if (speaker.interpreter) return channel !== null && speaker.interpreter.to === channel ? 1 : 0;
  if (channel === null) return 1;
  return muteOriginal ? 0 : ORIGINAL_UNDER_CHANNEL;
}

/** What the host filled in to add, change or replace an interpreter. */
export interface InterpreterForm {
  participantId: string;
  from: string;
  to: string;
  /** The interpreter this one takes over from, if any. */
  replaces: string | null;
}

/**
 * The host's commands for `form`: the new pair for the participant (which
 * adds them or changes their pair), then, when they replace someone, that
 * interpreter removed. The new one speaks first, so the channel never goes
 * quiet for its listeners. An error text when the form is not complete.
 */
export function interpreterCommands(form: InterpreterForm, maxChars: number): HostCommand[] | string {
  if (!form.participantId) return "Choose who interprets. 请选择传译员。";
  const from = languageCode(form.from, maxChars);
  const to = languageCode(form.to, maxChars);
  if (!from || !to) return "Languages are codes like zh, en or zh-hans. 语言请用 zh、en 等代码。";
  if (from === to) return "An interpreter interprets between two languages. 源语言与目标语言不能相同。";
  const commands: HostCommand[] = [{ action: "set_interpreter", participant_id: form.participantId, languages: { from, to } }];
  if (form.replaces && form.replaces !== form.participantId) {
    commands.push({ action: "set_interpreter", participant_id: form.replaces, languages: null });
  }
  return commands;
}

/** The host's command that makes `participantId` a listener again. */
export function removeInterpreterCommand(participantId: string): HostCommand {
  return { action: "set_interpreter", participant_id: participantId, languages: null };
}
