// Unit tests of the breakout room rules the page follows: who is shown
// together, what a participant is offered, the countdown, and the host's
// create command from the manager's form.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  DEFAULT_BREAKOUT_OPTIONS,
  assignable,
  assignedRoom,
  autoCloseSeconds,
  breakoutChoices,
  clock,
  countdownSeconds,
  createCommand,
  optionsForm,
  optionsFromForm,
  roomName,
  shownInGrid,
  type BreakoutState,
} from "../src/breakouts.js";
import type { Role } from "../src/proto.js";

function state(overrides: Partial<BreakoutState> = {}): BreakoutState {
  return {
    rooms: [
      { id: "room-1", name: "Room 1", assigned: ["a"] },
      { id: "room-2", name: "Design 设计", assigned: ["b"] },
    ],
    assignment: "manual",
    options: { ...DEFAULT_BREAKOUT_OPTIONS },
    open: true,
    opened_at_ms: 1_000_000,
    ...overrides,
  };
}

const me = (id: string, breakout: string | null, role: Role = "participant") => ({ id, role, breakout });

test("the grid shows only those in the same room; the main room is null", () => {
  const people = [me("h", null, "host"), me("a", "room-1"), me("b", "room-2"), me("c", "room-1"), me("d", null)];
  assert.deepEqual(shownInGrid(people, me("a", "room-1")).map((p) => p.id), ["a", "c"]);
  assert.deepEqual(shownInGrid(people, me("h", null)).map((p) => p.id), ["h", "d"]);
});

test("rooms and assignments are looked up by id; a gone room reads as the main room", () => {
  const s = state();
  assert.equal(assignedRoom(s, "b"), "room-2");
  assert.equal(assignedRoom(s, "z"), null);
  assert.equal(assignedRoom(null, "a"), null);
  assert.equal(roomName(s, "room-2"), "Design 设计");
  assert.match(roomName(s, null), /Main room/);
  assert.match(roomName(s, "room-9"), /Main room/);
});

test("nothing is offered while the rooms are closed", () => {
  const choices = breakoutChoices(state({ open: false }), me("a", null));
  assert.deepEqual(choices, { inRoom: null, joinAssigned: null, choose: [], returnToMain: false, askForHelp: false });
  assert.equal(breakoutChoices(null, me("a", null)).joinAssigned, null);
});

test("a participant not in their room may join it; in it, they ask for help but return only when allowed", () => {
  const outside = breakoutChoices(state(), me("a", null));
  assert.equal(outside.joinAssigned, "room-1");
  assert.equal(outside.returnToMain, false);
  assert.equal(outside.askForHelp, false, "help is asked from a breakout room");
  assert.deepEqual(outside.choose, []);
  const inside = breakoutChoices(state(), me("a", "room-1"));
  assert.equal(inside.joinAssigned, null);
  assert.equal(inside.returnToMain, false);
  assert.equal(inside.askForHelp, true);
  const mayReturn = breakoutChoices(state({ options: { ...DEFAULT_BREAKOUT_OPTIONS, allow_return: true } }), me("a", "room-1"));
  assert.equal(mayReturn.returnToMain, true);
  assert.equal(breakoutChoices(state(), me("z", null)).joinAssigned, null, "unassigned: no room of one's own");
});

test("with choosing allowed a participant may pick any other room; a host visits any and always leaves", () => {
  const free = state({ options: { ...DEFAULT_BREAKOUT_OPTIONS, allow_choose: true } });
  assert.deepEqual(breakoutChoices(free, me("a", "room-1")).choose.map((r) => r.id), ["room-2"]);
  const host = breakoutChoices(state(), me("h", "room-2", "host"));
  assert.deepEqual(host.choose.map((r) => r.id), ["room-1"]);
  assert.equal(host.returnToMain, true);
  assert.equal(host.askForHelp, false);
  assert.equal(host.joinAssigned, null);
});

test("the countdown runs while closing; the automatic close counts from opening", () => {
  assert.equal(countdownSeconds(state(), 1_000_000), null);
  assert.equal(countdownSeconds(state({ closing_at_ms: 1_003_000 }), 1_000_100), 3);
  assert.equal(countdownSeconds(state({ closing_at_ms: 1_003_000 }), 1_009_000), 0);
  const closing = state({ options: { ...DEFAULT_BREAKOUT_OPTIONS, close_after_seconds: 600 } });
  assert.equal(autoCloseSeconds(closing, 1_000_000 + 60_000), 540);
  assert.equal(autoCloseSeconds({ ...closing, closing_at_ms: 2_000_000 }, 1_000_000), null);
  assert.equal(autoCloseSeconds(state(), 1_000_000), null);
  assert.equal(clock(65), "1:05");
  assert.equal(clock(3), "0:03");
});

test("the manager's form becomes the server's options and create command", () => {
  const form = { allowChoose: true, allowReturn: false, autoMove: false, closeAfterMinutes: "10", countdownSeconds: "3" };
  assert.deepEqual(optionsFromForm(form), { allow_choose: true, allow_return: false, auto_move: false, countdown_seconds: 3, close_after_seconds: 600 });
  assert.deepEqual(optionsFromForm({ ...form, closeAfterMinutes: " " }), { allow_choose: true, allow_return: false, auto_move: false, countdown_seconds: 3 });
  assert.equal(typeof optionsFromForm({ ...form, countdownSeconds: "-1" }), "string");
  assert.equal(typeof optionsFromForm({ ...form, countdownSeconds: "3601" }), "string");
  assert.equal(typeof optionsFromForm({ ...form, closeAfterMinutes: "0" }), "string");
  assert.deepEqual(optionsForm({ ...DEFAULT_BREAKOUT_OPTIONS, close_after_seconds: 600 }).closeAfterMinutes, "10");
  assert.deepEqual(createCommand("2", "manual", form, 50), {
    action: "create_breakouts",
    count: 2,
    assignment: "manual",
    options: { allow_choose: true, allow_return: false, auto_move: false, countdown_seconds: 3, close_after_seconds: 600 },
  });
  assert.equal(typeof createCommand("0", "random", form, 50), "string");
  assert.equal(typeof createCommand("51", "random", form, 50), "string");
  assert.equal(typeof createCommand("1.5", "random", form, 50), "string");
});

test("hosts are not assigned; everyone else is", () => {
  assert.deepEqual(assignable([me("h", null, "host"), me("a", null), me("p", null, "panelist")]).map((p) => p.id), ["a", "p"]);
});
