// Unit tests of the layout rules (F-CTL-8) the browser tests cannot reach
// with two browsers: gallery pages of 25, quality by tile count, speaker
// view's four thumbnails.

import assert from "node:assert/strict";
import { test } from "node:test";
import { computeLayout, customSequence, GALLERY_PAGE_SIZE, MAX_PAGE_SIZE, type LayoutInput } from "../src/view_layout.js";

function people(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `p${String(i).padStart(2, "0")}`);
}

function input(order: string[], overrides: Partial<LayoutInput> = {}): LayoutInput {
  return { order, selfId: order[0] ?? "p00", mode: "gallery", page: 0, spotlight: null, sharing: null, activeSpeaker: null, ...overrides };
}

test("gallery pages hold 25 tiles; off-page video is not received", () => {
  const order = people(30);
  const first = computeLayout(input(order));
  assert.equal(first.pages, 2);
  assert.equal(first.shown.size, GALLERY_PAGE_SIZE);
  assert.equal(first.subscriptions.length, GALLERY_PAGE_SIZE - 1, "own video is never subscribed");
  assert.ok(first.subscriptions.every((s) => s.quality === "low"), "25 tiles are small");
  assert.ok(!first.subscriptions.some((s) => s.participant_id === "p29"));

  const second = computeLayout(input(order, { page: 5 }));
  assert.equal(second.page, 1, "a page past the end is clamped");
  assert.deepEqual([...second.shown.keys()], ["p25", "p26", "p27", "p28", "p29"]);
  assert.ok(second.subscriptions.every((s) => s.quality === "medium"), "5 tiles are medium");
});

test("quality follows the tile size", () => {
  assert.ok(computeLayout(input(people(4))).subscriptions.every((s) => s.quality === "high"));
  assert.ok(computeLayout(input(people(9))).subscriptions.every((s) => s.quality === "medium"));
  assert.ok(computeLayout(input(people(10))).subscriptions.every((s) => s.quality === "low"));
});

test("a spotlight is the main picture, the others thumbnails", () => {
  const layout = computeLayout(input(people(6), { spotlight: "p03" }));
  assert.equal(layout.main, "p03");
  assert.equal(layout.shown.get("p03"), "main");
  assert.equal(layout.shown.get("p01"), "thumb");
  const qualities = Object.fromEntries(layout.subscriptions.map((s) => [s.participant_id, s.quality]));
  assert.deepEqual(qualities, { p01: "low", p02: "low", p03: "high", p04: "low", p05: "low" });
});

test("speaker view: the active speaker (never oneself) in the main picture, up to four thumbnails", () => {
  const order = people(8);
  const layout = computeLayout(input(order, { mode: "speaker", activeSpeaker: "p05" }));
  assert.equal(layout.main, "p05");
  assert.deepEqual([...layout.shown.entries()].filter(([, size]) => size === "thumb").map(([id]) => id), ["p00", "p01", "p02", "p03"]);
  assert.equal(layout.subscriptions.length, 4, "main + 3 thumbnails (one is oneself); the rest off");
  assert.equal(layout.subscriptions.find((s) => s.participant_id === "p05")?.quality, "high");

  const speakingSelf = computeLayout(input(order, { mode: "speaker", activeSpeaker: "p00" }));
  assert.equal(speakingSelf.main, "p01", "one's own voice does not take the main picture");
  const spotlit = computeLayout(input(order, { mode: "speaker", activeSpeaker: "p05", spotlight: "p07" }));
  assert.equal(spotlit.main, "p07", "the host's spotlight wins over the active speaker");
  const alone = computeLayout(input(["p00"], { mode: "speaker" }));
  assert.equal(alone.main, "p00");
  assert.deepEqual(alone.subscriptions, []);
});

test("someone else's shared screen is the main picture at full quality, unless there is a spotlight", () => {
  const order = people(12);
  const sharing = computeLayout(input(order, { sharing: "p07" }));
  assert.equal(sharing.main, "p07");
  assert.equal(sharing.subscriptions.find((s) => s.participant_id === "p07")?.quality, "high");
  assert.equal(computeLayout(input(order, { sharing: "p07", spotlight: "p03" })).main, "p03");
  assert.equal(computeLayout(input(order, { sharing: "p00" })).main, null, "one's own screen stays a tile");
  assert.equal(computeLayout(input(order, { mode: "speaker", sharing: "p07", activeSpeaker: "p02" })).main, "p07");
});

test("room mode's gallery shows up to 49 per screen", () => {
  const order = people(60);
  const layout = computeLayout(input(order, { pageSize: 49 }));
  assert.equal(layout.shown.size, 49);
  assert.equal(layout.pages, 2);
  assert.equal(layout.columns, 7);
  assert.equal(computeLayout(input(order, { pageSize: 500 })).shown.size, MAX_PAGE_SIZE, "never more than 49");
  assert.equal(computeLayout(input(order, { pageSize: 36 })).columns, 6);
});

test("the custom view puts the fixed order first, leaves oneself out, and its screens go round", () => {
  const order = ["me", "a", "b", "c", "d", "e"];
  const custom = { order: ["d", "gone", "b"], perScreen: 2 };
  const screens = [0, 1, 2, 3, -1].map((page) => computeLayout(input(order, { selfId: "me", mode: "custom", page, custom })));
  assert.deepEqual(
    screens.map((l) => [...l.shown.keys()]),
    [["d", "b"], ["a", "c"], ["e"], ["d", "b"], ["e"]],
  );
  assert.equal(screens[0]?.pages, 3);
  assert.equal(screens[3]?.page, 0, "past the last screen comes the first");
  assert.deepEqual(
    screens[1]?.subscriptions.map((s) => s.participant_id),
    ["a", "c"],
    "only the screen's participants are received",
  );
});

test("one per screen is a full picture at high quality; alone, the terminal shows itself", () => {
  const layout = computeLayout(input(["me", "a", "b"], { selfId: "me", mode: "custom", page: 1, custom: { order: [], perScreen: 1 } }));
  assert.equal(layout.main, "b");
  assert.deepEqual(layout.subscriptions, [{ participant_id: "b", quality: "high" }]);
  assert.deepEqual(customSequence(["me"], "me", ["x"]), ["me"]);
});
