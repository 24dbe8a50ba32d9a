// F-CTL-2, F-CTL-6, F-WEB-2: chat to everyone and privately, history for a
// late joiner (without the private message), chat switched off by the host
// (participants may still write to the host; sharing off disables their
// share button), a raised hand the host sees
// and lowers, and a reaction shown on the sender's tile.

import assert from "node:assert/strict";
import { test } from "node:test";
import { HOST, withMeetingEnv } from "../harness/meeting_env.js";

/** Sends a chat message from `p` to `recipientId` ("" for everyone). */
async function sendChat(p, recipientId, text) {
  await p.testid("tab-chat").click();
  await p.testid("chat-to").selectOption(recipientId);
  await p.testid("chat-input").fill(text);
  await p.page.getByRole("button", { name: /^Send/ }).click();
}

/** The chat messages `p` shows: { from, private, text }. */
function chatLog(p) {
  return p.page.evaluate(() =>
    [...document.querySelectorAll('[data-testid="chat-message"]')].map((li) => ({
      from: li.getAttribute("data-from"),
      private: li.getAttribute("data-private") === "true",
      text: li.querySelector('[data-testid="chat-text"]').textContent,
    })),
  );
}

async function waitForChat(p, text) {
  await p.page.waitForFunction(
    (text) => [...document.querySelectorAll('[data-testid="chat-text"]')].some((el) => el.textContent === text),
    text,
    { timeout: 10_000 },
  );
}

test("chat in public and in private, history on join, chat off; a raised hand reaches the host", async (t) => {
  await withMeetingEnv(t, async ({ server, meeting, launch }) => {
    const host = await launch("Hana");
    await host.signIn(server.url, HOST);
    const hostId = await host.joinByLink(meeting.join_url);
    const alice = await launch("Alice");
    const aliceId = await alice.joinByLink(meeting.join_url);
    await host.testid(`participant-${aliceId}`).waitFor();

    // Public: Alice to everyone. The host's chat tab counts it as unread.
    await sendChat(alice, "", "Hello everyone 大家好");
    await host.testid("chat-unread").waitFor({ timeout: 10_000 });
    await host.testid("tab-chat").click();
    await waitForChat(host, "Hello everyone 大家好");
    assert.deepEqual(await chatLog(host), [{ from: aliceId, private: false, text: "Hello everyone 大家好" }]);

    // Private: the host to Alice, from the participant's "More" menu.
    await host.testid("tab-participants").click();
    await host.testid(`host-more-${aliceId}`).click();
    await host.testid(`host-chat-${aliceId}`).click();
    assert.equal(await host.testid("chat-to").inputValue(), aliceId, "the chat opens addressed to Alice");
    await host.testid("chat-input").fill("Just for you 私聊");
    await host.testid("chat-send").click();
    await waitForChat(alice, "Just for you 私聊");
    const atAlice = await chatLog(alice);
    assert.deepEqual(atAlice[1], { from: hostId, private: true, text: "Just for you 私聊" });
    assert.match(await alice.testid("chat-messages").innerText(), /Privately to you/);

    // A late joiner gets the public history, not the private message.
    const carol = await launch("Carol");
    await carol.joinByLink(meeting.join_url);
    await carol.testid("tab-chat").click();
    await waitForChat(carol, "Hello everyone 大家好");
    const atCarol = await chatLog(carol);
    assert.deepEqual(atCarol, [{ from: aliceId, private: false, text: "Hello everyone 大家好" }], "history without the private message");
    assert.ok(!carol.serverFrames.some((f) => f.type === "chat" && f.message.to !== null), "no private frame reached Carol");

    // Chat off: Alice cannot write to everyone, but may still write to the host.
    await host.testid("tab-participants").click();
    await host.testid("security-toggle").click();
    await host.testid("option-allow_chat").uncheck();
    await host.testid("option-allow_screen_share").uncheck();
    await alice.page.waitForSelector('[data-testid="toggle-share"][disabled]', { timeout: 10_000 });
    assert.equal(await host.testid("toggle-share").isDisabled(), false, "the host may still share");
    await alice.page.waitForSelector('[data-testid="chat-send"][disabled]', { timeout: 10_000 });
    assert.match(await alice.testid("chat-hint").innerText(), /write to the host/);
    const options = await host.page.evaluate(() => ({
      chat: document.querySelector('[data-testid="option-allow_chat"]').checked,
      share: document.querySelector('[data-testid="option-allow_screen_share"]').checked,
    }));
    assert.deepEqual(options, { chat: false, share: false }, "two quick changes both stick");
    const lastState = alice.serverFrames.filter((f) => f.type === "meeting_state").at(-1);
    assert.equal(lastState.options.allow_chat, false, "the server's last word keeps chat off");
    await sendChat(alice, hostId, "Question for the host 提问");
    await host.testid("tab-chat").click();
    await waitForChat(host, "Question for the host 提问");
    assert.deepEqual((await chatLog(host)).at(-1), { from: aliceId, private: true, text: "Question for the host 提问" });

    // Raise hand: the host sees it in the list and on the tile, and lowers it.
    await alice.page.getByRole("button", { name: /Raise hand/ }).click();
    await host.testid("tab-participants").click();
    await host.page.waitForSelector(`[data-testid="participant-${aliceId}"][data-hand-raised="true"]`, { timeout: 10_000 });
    assert.ok(await host.testid(`tile-${aliceId}`).getByTestId("hand-badge").isVisible(), "the tile shows the hand");
    await host.page.getByRole("button", { name: /Lower Alice's hand/ }).click();
    await alice.page.waitForSelector('[data-testid="toggle-hand"][aria-pressed="false"]', { timeout: 10_000 });
    await host.page.waitForSelector(`[data-testid="participant-${aliceId}"][data-hand-raised="false"]`, { timeout: 5000 });

    // A reaction shows on Alice's tile at the host.
    await alice.testid("reactions-toggle").click();
    await alice.page.getByRole("menuitem", { name: /React 👏/ }).click();
    const reaction = host.testid(`tile-${aliceId}`).getByTestId("reaction");
    await reaction.waitFor({ timeout: 10_000 });
    assert.equal(await reaction.innerText(), "👏");
  });
});
