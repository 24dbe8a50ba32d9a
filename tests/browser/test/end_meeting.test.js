// F-CTL-7: the host signs in, starts a meeting from the join page, and ends
// it for everyone; the server releases every media resource.

import assert from "node:assert/strict";
import { test } from "node:test";
import { HOST, withMeetingEnv } from "../harness/meeting_env.js";

test("host signs in, starts a meeting, ends it for all; the SFU is left empty", async (t) => {
  await withMeetingEnv(
    t,
    async ({ server, launch }) => {
      const host = await launch("Host");
      await host.page.goto(`${server.url}/`);
      await host.testid("signin-login").fill(HOST.email);
      await host.testid("signin-password").fill(HOST.password);
      await host.testid("signin-submit").click();
      await host.testid("signed-in-as").waitFor({ timeout: 10_000 });
      assert.equal(await host.testid("signed-in-as").innerText(), HOST.displayName);
      await host.testid("new-meeting-password").fill("1357");
      await host.testid("new-meeting").click();
      const hostId = await host.waitJoined();
      const number = await host.page.evaluate(() => window.yunhui.meetingNumber);
      assert.match(number, /^\d{9,11}$/);
      const me = await host.page.evaluate(() => window.yunhui.participants.find((p) => p.id === window.yunhui.participantId));
      assert.equal(me.role, "host");

      const guest = await launch("Guest 访客");
      await guest.joinByNumber(server.url, number, "1357");
      const guestId = await guest.waitJoined();
      await guest.waitForMediaFrom(hostId);
      await host.waitForMediaFrom(guestId);
      assert.ok(await host.testid("end-meeting").isVisible(), "host sees End for all");
      assert.equal(await guest.testid("end-meeting").isVisible(), false, "guest does not");
      assert.ok((await server.metric("yunhui_sfu_rooms")) >= 1);
      assert.ok((await server.metric("yunhui_sfu_peer_connections")) >= 1);

      await host.testid("end-meeting").click();
      for (const p of [host, guest]) {
        const ended = p.testid("meeting-ended");
        await ended.waitFor({ timeout: 10_000 });
        assert.match(await ended.innerText(), /host ended the meeting/i, `${p.name} sees who ended it`);
        assert.equal(await p.page.evaluate(() => window.yunhui.state), "ended");
      }
      assert.ok(guest.serverFrames.some((f) => f.type === "meeting_ended"), "guest got meeting_ended");

      assert.equal(await server.waitForMetric("yunhui_sfu_rooms", (v) => v === 0), 0, "no rooms left");
      assert.equal(await server.waitForMetric("yunhui_sfu_peer_connections", (v) => v === 0), 0, "no peer connections left");
    },
    { createMeeting: false },
  );
});
