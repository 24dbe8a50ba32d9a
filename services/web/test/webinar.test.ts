// Unit tests of the webinar rules the page follows: who sends media, what
// the host may do to each role, and how the Q&A orders questions.

import assert from "node:assert/strict";
import { test } from "node:test";
import type { Participant, Question } from "../src/proto.js";
import { ROLE_TAGS, answersQuestions, maySendMedia, maySendVideo, questionOrder, roleActions } from "../src/webinar.js";

function person(role: Participant["role"], talk_allowed = false): Participant {
  return {
    id: "p1",
    display_name: "P",
    role,
    audio_muted: true,
    video_enabled: false,
    audio_locked: false,
    hand_raised: false,
    sharing_screen: false,
    signed_in: false,
    talk_allowed,
    breakout: null,
    interpreter: null,
  };
}

test("attendees send nothing until allowed to talk, and then no video", () => {
  assert.equal(maySendMedia(person("attendee")), false);
  assert.equal(maySendMedia(person("attendee", true)), true);
  assert.equal(maySendVideo(person("attendee", true)), false);
  assert.equal(maySendMedia(person("panelist")), true);
  assert.equal(maySendVideo(person("participant")), true);
});

test("the panel answers questions; attendees and ordinary participants do not", () => {
  assert.equal(answersQuestions(person("host")), true);
  assert.equal(answersQuestions(person("panelist")), true);
  assert.equal(answersQuestions(person("attendee")), false);
  assert.equal(answersQuestions(undefined), false);
  assert.equal(ROLE_TAGS.participant, null);
  assert.match(ROLE_TAGS.attendee ?? "", /观众/);
});

test("the host allows or stops an attendee's talking and moves people between panel and audience", () => {
  assert.deepEqual(
    roleActions(person("attendee")).map((a) => a.command),
    [
      { action: "allow_talk", participant_id: "p1", allowed: true },
      { action: "set_role", participant_id: "p1", role: "panelist" },
    ],
  );
  assert.deepEqual(roleActions(person("attendee", true))[0]?.command, { action: "allow_talk", participant_id: "p1", allowed: false });
  assert.deepEqual(roleActions(person("panelist")).map((a) => a.action), ["make_attendee"]);
  assert.deepEqual(roleActions(person("host")), []);
  assert.deepEqual(roleActions(person("participant")), []);
});

test("open questions come first, oldest first, then answered, then dismissed", () => {
  const q = (id: string, at: number, answered: boolean, dismissed: boolean): Question => ({
    id,
    asker: "a",
    asker_name: "A",
    text: id,
    answers: answered ? [{ by_name: "H", text: "x", private: false }] : [],
    public: answered,
    dismissed,
    asked_at_ms: at,
  });
  const order = questionOrder([q("dismissed", 1, false, true), q("answered", 2, true, false), q("late", 5, false, false), q("early", 3, false, false)]);
  assert.deepEqual(order.map((x) => x.id), ["early", "late", "answered", "dismissed"]);
});
