// F-DIR-2 in the browser: Hana stars Carol as a frequent contact, makes a
// group chat with her from the frequent contacts and writes in it; Carol's open chats page shows it unread at
// once, she reads it (the server counts it read) and answers, and Hana sees
// the answer without reloading. Hana starts a meeting from the chat: Carol's
// page shows the announcement and rings, she accepts, and both are in the
// same meeting.

import assert from "node:assert/strict";
import { test } from "node:test";
import { HOST, withMeetingEnv } from "../harness/meeting_env.js";

const CAROL = { email: "carol@example.com", password: "carol-password-1", displayName: "Carol Chen 陈" };

/** Waits until the page's socket receives the signed-in account's calls and chat messages. */
async function waitListening(browser, accountId) {
  await browser.page.waitForFunction((id) => window.yunhui?.listeningAs === id, accountId, { timeout: 10_000 });
}

/** The messages the open chat shows, as "sender: text". */
async function shownMessages(browser) {
  return browser.page
    .getByTestId("chat-message")
    .evaluateAll((items) => items.map((li) => `${li.querySelector("strong")?.textContent}: ${li.querySelector(".chat-text")?.textContent ?? "(meeting)"}`));
}

test("a group chat made in the browser reaches a colleague at once, counts unread, and starts a meeting that rings her", async (t) => {
  await withMeetingEnv(
    t,
    async ({ server, host: hostAccount, launch }) => {
      const carolAccount = await server.createAccount(CAROL);
      const carolId = carolAccount.session.account.id;

      const carol = await launch("Carol");
      await carol.signIn(server.url, CAROL);
      await carol.page.goto(`${server.url}/chats`);
      await carol.testid("chats-empty").waitFor();
      await waitListening(carol, carolId);

      // Hana opens her chats from "My meetings" and makes one with Carol.
      const hana = await launch("Hana");
      await hana.signIn(server.url, HOST);
      await hana.page.goto(`${server.url}/meetings`);
      await hana.testid("my-chats").click();
      await hana.testid("chats-page").waitFor();
      await waitListening(hana, hostAccount.session.account.id);
      await hana.testid("chat-new").click();
      const form = hana.testid("chat-new-form");
      await form.getByTestId("chat-name").fill("Launch 发布小组");
      // She stars Carol as a frequent contact, and picks her from the frequent contacts.
      await form.getByTestId("invitee-search").fill("carol");
      await form.getByTestId(`invitee-star-${carolId}`).click();
      await form.locator(`[data-testid="invitee-star-${carolId}"][aria-pressed="true"]`).waitFor();
      const contacts = await server.api("GET", "/api/v1/me/contacts", undefined, hostAccount.token);
      assert.deepEqual(contacts.map((c) => c.id), [carolId], "the star made Carol a frequent contact");
      await form.getByTestId("invitee-search").fill("");
      await form.getByTestId("invitee-frequent").waitFor();
      await form.getByTestId(`invitee-option-${carolId}`).click();
      await form.getByTestId(`invitee-chip-${carolId}`).waitFor();
      await form.getByTestId("chat-create").click();
      await hana.testid("chat-title").getByText("Launch 发布小组").waitFor();
      assert.match(await hana.testid("chat-members").innerText(), /Carol Chen/);
      const chatId = await hana.page.evaluate(() => window.yunhui.groupChats.open);
      assert.ok(chatId, "the new chat is open on Hana's page");
      assert.equal(new URL(hana.page.url()).hash, `#${chatId}`, "the open chat is kept in the address");

      // Enter sends; the message is shown once.
      await hana.testid("chat-compose").fill("Release at 10, please review 请审阅");
      await hana.testid("chat-compose").press("Enter");
      await hana.testid("chat-message").getByText("Release at 10, please review 请审阅").waitFor();
      // The box empties when the server has taken the message; the copy it
      // pushes over the socket may be shown a moment before that.
      await hana.page
        .waitForFunction(() => document.querySelector('[data-testid="chat-compose"]')?.value === "", null, { timeout: 5_000 })
        .catch(() => {});
      assert.equal(await hana.testid("chat-compose").inputValue(), "", "the box is emptied once sent");

      // Carol's page learns of the chat from the pushed message, unread.
      const badge = carol.testid(`chat-unread-${chatId}`);
      await badge.waitFor({ timeout: 10_000 });
      assert.equal(await badge.innerText(), "1");
      let carolsChats = await server.api("GET", "/api/v1/chats", undefined, carolAccount.token);
      assert.equal(carolsChats[0].unread, 1, "the server counts it unread for Carol");

      // Carol opens it: read on the page and on the server.
      await carol.testid(`chat-item-${chatId}`).click();
      await carol.testid("chat-message").getByText("Release at 10, please review 请审阅").waitFor();
      await badge.waitFor({ state: "detached" });
      await carol.page.waitForFunction(() => window.yunhui.groupChats.unread && Object.values(window.yunhui.groupChats.unread).every((n) => n === 0));
      for (let i = 0; i < 50; i++) {
        carolsChats = await server.api("GET", "/api/v1/chats", undefined, carolAccount.token);
        if (carolsChats[0].unread === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(carolsChats[0].unread, 0, "opening the chat marked it read");

      // Carol answers; Hana's open chat shows it without a reload, and it stays read for her.
      await carol.testid("chat-compose").fill("Looks good 没问题");
      await carol.testid("chat-send").click();
      await hana.testid("chat-message").getByText("Looks good 没问题").waitFor({ timeout: 10_000 });
      assert.deepEqual(await shownMessages(hana), [`${HOST.displayName}: Release at 10, please review 请审阅`, "Carol Chen 陈: Looks good 没问题"]);
      await hana.page.waitForFunction((id) => window.yunhui.groupChats.unread[id] === 0, chatId);

      // Hana starts a meeting from the chat: she joins as its host, Carol's page announces it and rings.
      await hana.testid("chat-start-meeting").click();
      await hana.waitJoined();
      const number = await hana.page.evaluate(() => window.yunhui.meetingNumber);
      await carol.testid(`chat-meeting-${number}`).waitFor({ timeout: 10_000 });
      const call = carol.testid("incoming-call");
      await call.waitFor({ timeout: 10_000 });
      assert.match(await call.innerText(), /Launch 发布小组/);
      await carol.testid("incoming-call-confirm").click();
      const carolParticipant = await carol.waitJoined();
      assert.equal(await carol.page.evaluate(() => window.yunhui.meetingNumber), number, "Carol is in the chat's meeting");
      await hana.testid(`tile-${carolParticipant}`).waitFor({ timeout: 10_000 });

      // The history keeps all three, the meeting last.
      const history = await server.api("GET", `/api/v1/chats/${chatId}/messages?limit=10`, undefined, carolAccount.token);
      assert.deepEqual(
        history.map((m) => (m.meeting ? `meeting ${m.meeting.number}` : m.text)),
        [`meeting ${number}`, "Looks good 没问题", "Release at 10, please review 请审阅"],
      );
    },
    { createMeeting: false },
  );
});
