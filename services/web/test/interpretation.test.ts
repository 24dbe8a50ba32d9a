// Unit tests of the interpretation rules the page follows: how loud each
// participant plays for a listener, which channel is heard, and the host's
// commands to add, change, replace and remove an interpreter.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ORIGINAL_UNDER_CHANNEL,
  activeChannel,
  interpreterBadge,
  interpreterCommands,
  languageCode,
  languageName,
  playbackGain,
  removeInterpreterCommand,
} from "../src/interpretation.js";

const original = { interpreter: null };
const intoEnglish = { interpreter: { from: "zh", to: "en" } };
const intoJapanese = { interpreter: { from: "zh", to: "ja" } };

test("without a channel the original plays at full volume and no interpreter is heard", () => {
  const listening = { channel: null, muteOriginal: false };
  assert.equal(playbackGain(listening, original), 1);
  assert.equal(playbackGain(listening, intoEnglish), 0);
  assert.equal(playbackGain({ channel: null, muteOriginal: true }, original), 1, "muting the original needs a channel");
});

test("under a channel its interpreter plays at full volume, the original quieter or muted, other channels not at all", () => {
  const english = { channel: "en", muteOriginal: false };
  assert.equal(playbackGain(english, intoEnglish), 1);
  assert.equal(playbackGain(english, original), ORIGINAL_UNDER_CHANNEL);
  assert.ok(ORIGINAL_UNDER_CHANNEL > 0 && ORIGINAL_UNDER_CHANNEL < 1);
  assert.equal(playbackGain(english, intoJapanese), 0);
  const muted = { channel: "en", muteOriginal: true };
  assert.equal(playbackGain(muted, original), 0);
  assert.equal(playbackGain(muted, intoEnglish), 1);
});

test("a chosen channel is heard only while an interpreter speaks into it", () => {
  assert.equal(activeChannel("en", ["en", "ja"]), "en");
  assert.equal(activeChannel("en", ["ja"]), null);
  assert.equal(activeChannel(null, ["en"]), null);
});

test("language codes are taken as the server takes them", () => {
  assert.equal(languageCode(" EN ", 16), "en");
  assert.equal(languageCode("zh-Hans", 16), "zh-hans");
  for (const bad of ["", "e", "1en", "en_US", "a-very-long-language-code", "中文"]) assert.equal(languageCode(bad, 16), null, bad);
  assert.match(languageName("ja"), /日本語/);
  assert.equal(languageName("eo"), "eo");
  assert.equal(interpreterBadge({ from: "zh", to: "en" }), "Interpreter zh→en 传译");
});

test("the host adds or changes an interpreter with one command, and a replacement also removes the old one, after", () => {
  assert.deepEqual(interpreterCommands({ participantId: "p2", from: "zh", to: "EN", replaces: null }, 16), [
    { action: "set_interpreter", participant_id: "p2", languages: { from: "zh", to: "en" } },
  ]);
  assert.deepEqual(interpreterCommands({ participantId: "p3", from: "zh", to: "en", replaces: "p2" }, 16), [
    { action: "set_interpreter", participant_id: "p3", languages: { from: "zh", to: "en" } },
    { action: "set_interpreter", participant_id: "p2", languages: null },
  ]);
  assert.equal((interpreterCommands({ participantId: "p2", from: "zh", to: "en", replaces: "p2" }, 16) as unknown[]).length, 1, "changing one's own pair removes nobody");
  assert.equal(typeof interpreterCommands({ participantId: "", from: "zh", to: "en", replaces: null }, 16), "string");
  assert.equal(typeof interpreterCommands({ participantId: "p2", from: "zh", to: "zh", replaces: null }, 16), "string");
  assert.equal(typeof interpreterCommands({ participantId: "p2", from: "zh", to: "x", replaces: null }, 16), "string");
  assert.deepEqual(removeInterpreterCommand("p2"), { action: "set_interpreter", participant_id: "p2", languages: null });
});
