// Unit tests of the live-streaming rules: the indicator in each state, who
// sees which entries of its menu, and the start command the dialog sends.

import assert from "node:assert/strict";
import { test } from "node:test";
import { STREAMING_INDICATOR, liveMenuEntries, startStreamingCommand } from "../src/streaming.js";

test("everyone sees an indicator while the meeting is streamed, none when it is off", () => {
  assert.equal(STREAMING_INDICATOR.off, null);
  assert.match(STREAMING_INDICATOR.live ?? "", /^Live /);
  assert.match(STREAMING_INDICATOR.starting ?? "", /starting/);
  assert.match(STREAMING_INDICATOR.reconnecting ?? "", /reconnecting/);
});

test("watch and copy need a watch address; only hosts stop; nothing while off", () => {
  const watch_url = "https://live.example.com/w/1";
  assert.deepEqual(liveMenuEntries({ state: "live", watch_url }, false), ["watch", "copy"]);
  assert.deepEqual(liveMenuEntries({ state: "reconnecting", watch_url }, true), ["watch", "copy", "stop"]);
  assert.deepEqual(liveMenuEntries({ state: "starting" }, true), ["stop"]);
  assert.deepEqual(liveMenuEntries({ state: "live" }, false), []);
  assert.deepEqual(liveMenuEntries({ state: "off", watch_url }, true), []);
});

test("the start command is trimmed and leaves out an empty watch address", () => {
  assert.deepEqual(startStreamingCommand({ pushUrl: " rtmp://a.example/app ", streamKey: " k1 ", watchUrl: "https://w.example/x " }), {
    action: "start_streaming",
    push_url: "rtmp://a.example/app",
    stream_key: "k1",
    watch_url: "https://w.example/x",
  });
  const withoutWatch = startStreamingCommand({ pushUrl: "rtmp://a.example/app", streamKey: "k1", watchUrl: "  " });
  assert.equal("watch_url" in withoutWatch, false);
});
