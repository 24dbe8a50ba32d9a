// F-MTG-2, F-CTL-5, F-JOIN-3 in the browser: the host picks an invitee from
// the enterprise directory in the schedule form; during a meeting the host
// invites a colleague from the directory, the colleague's browser (signed
// in, on the home page) rings, she joins with one click, and the host sees
// the call accepted.

import assert from "node:assert/strict";
import { test } from "node:test";
import { HOST, withMeetingEnv } from "../harness/meeting_env.js";

const CAROL = { email: "carol@example.com", password: "carol-password-1", displayName: "Carol Chen 陈" };

/** Types `query` into the picker inside `scope` and picks `accountId`. */
async function pick(scope, query, accountId) {
  await scope.getByTestId("invitee-search").fill(query);
  await scope.getByTestId(`invitee-option-${accountId}`).click();
  await scope.getByTestId(`invitee-chip-${accountId}`).waitFor();
}

test("invitees come from the directory; an in-meeting invitation rings the colleague's browser and she joins", async (t) => {
  await withMeetingEnv(
    t,
    async ({ server, host: hostAccount, launch }) => {
      const carolAccount = await server.createAccount(CAROL);
      const carolId = carolAccount.session.account.id;

      // Carol is signed in on the home page: her browser listens for calls.
      const carol = await launch("Carol");
      await carol.signIn(server.url, CAROL);

      // Hana schedules a meeting and invites Carol from the directory.
      const hana = await launch("Hana");
      await hana.signIn(server.url, HOST);
      await hana.page.goto(`${server.url}/meetings/new`);
      const form = hana.page.getByRole("form", { name: /Schedule a meeting/ });
      await form.getByTestId("invitee-search").fill("nobody-like-this");
      await form.getByTestId("invitee-results").getByText(/Nobody found/).waitFor();
      await pick(form, "CAROL", carolId);
      await form.getByRole("button", { name: "Schedule 预约" }).click();
      await hana.page.getByText(/Scheduled 已预约/).waitFor({ timeout: 10_000 });
      const upcoming = await server.api("GET", "/api/v1/upcoming", undefined, carolAccount.token);
      assert.equal(upcoming.length, 1, "Carol is invited to the scheduled meeting");
      const scheduled = await server.api("GET", `/api/v1/schedules/${upcoming[0].meeting_id}`, undefined, hostAccount.token);
      assert.deepEqual(
        scheduled.invitees.map((i) => i.account_id),
        [carolId],
      );

      // Hana starts a meeting and calls Carol into it.
      await hana.page.goto(`${server.url}/`);
      await hana.testid("new-meeting").click();
      await hana.waitJoined();
      await hana.testid("invite-people").click();
      const dialog = hana.testid("invite-dialog");
      await pick(dialog, "chen", carolId);
      await hana.testid("invite-dialog-confirm").click();
      await hana.page.waitForFunction((id) => window.yunhui.invites?.[id] === "ringing", carolId, { timeout: 10_000 });

      const call = carol.testid("incoming-call");
      await call.waitFor({ timeout: 10_000 });
      assert.match(await call.innerText(), /Hana Host/);
      await carol.testid("incoming-call-confirm").click();
      const carolParticipant = await carol.waitJoined();
      await hana.page.waitForFunction((id) => window.yunhui.invites?.[id] === "accepted", carolId, { timeout: 10_000 });
      await hana.testid(`tile-${carolParticipant}`).waitFor({ timeout: 10_000 });
      const number = await hana.page.evaluate(() => window.yunhui.meetingNumber);
      assert.equal(await carol.page.evaluate(() => window.yunhui.meetingNumber), number, "Carol is in Hana's meeting");
    },
    { createMeeting: false },
  );
});
