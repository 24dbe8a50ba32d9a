// F-ACC-1 (refresh tokens, in the browser): a page whose stored session has
// run out renews it with its refresh token before using it. Two tabs of one
// browser load at once; they take turns (a Web Lock), so the refresh token
// is presented once: had both presented it, the server would have ended the
// whole sign-in. Afterwards the page is signed in with a new token that
// works, and the old token no longer does.

import assert from "node:assert/strict";
import { test } from "node:test";
import { HOST, withMeetingEnv } from "../harness/meeting_env.js";

const SESSION_KEY = "yunhui.session";

async function status(server, token) {
  const response = await fetch(`${server.url}/api/v1/me`, { headers: { Authorization: `Bearer ${token}` } });
  return response.status;
}

test("a run-out session is renewed on load, once for two tabs, and the old token stops working", async (t) => {
  await withMeetingEnv(
    t,
    async ({ server, launch }) => {
      const user = await launch("Hana");
      const page = user.page;
      await user.signIn(server.url, HOST);
      const before = await page.evaluate((key) => JSON.parse(localStorage.getItem(key)), SESSION_KEY);
      assert.ok(before.refresh_token, "the stored session has a refresh token");
      // As if a week had passed: the token has run out, its refresh token has not.
      await page.evaluate((key) => {
        const session = JSON.parse(localStorage.getItem(key));
        session.expires_at = Math.floor(Date.now() / 1000) - 60;
        localStorage.setItem(key, JSON.stringify(session));
      }, SESSION_KEY);

      const second = await page.context().newPage();
      await Promise.all([page.reload(), second.goto(`${server.url}/`)]);
      await user.testid("signed-in-as").waitFor({ timeout: 10_000 });
      await second.getByTestId("signed-in-as").waitFor({ timeout: 10_000 });

      const after = await page.evaluate((key) => JSON.parse(localStorage.getItem(key)), SESSION_KEY);
      assert.notEqual(after.token, before.token, "a new token");
      assert.notEqual(after.refresh_token, before.refresh_token, "a new refresh token");
      assert.ok(after.expires_at * 1000 > Date.now() + 86_400_000, "good for days again");
      assert.equal(await status(server, after.token), 200, "the new token works: the sign-in was not ended");
      assert.equal(await status(server, before.token), 401, "the old token ended with the renewal");

      // The page goes on using it.
      await page.getByRole("button", { name: "My meetings 我的会议" }).click();
      await page.getByRole("list", { name: /Upcoming meetings/ }).getByText(/No upcoming meetings/).waitFor();
      await second.close();
    },
    { createMeeting: false },
  );
});
