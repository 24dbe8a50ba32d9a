// `/chats`: the signed-in user's group chats (F-DIR-2). On the left the
// chats, the one with the latest message first, each with its unread count;
// "New chat" names one and picks colleagues from the directory. On the right
// the chat open now (kept in the address, `/chats#<id>`): its history, oldest
// at the top with earlier pages on request, a box to write in, and "Start a
// meeting", which opens an instant meeting and rings the other members. New
// messages arrive on the socket that listens for calls (`watchGroupChats`);
// the open chat is marked read up to what it shows.

import { ApiRequestError, api } from "./api";
import { watchGroupChats } from "./call_listener";
import { formatMeetingNumber, h, show } from "./dom";
import { t } from "./i18n";
import { exposeForInspection } from "./inspection";
import { InviteePicker } from "./invitee_picker";
import { localProfile } from "./local_profile";
import { LIMITS, type GroupChat, type GroupChatMessage, type Session } from "./proto";
import { browserTimeZone, wallClock } from "./schedule_time";
import { mergeMessages } from "./chat_history";

export interface ChatsPageHandlers {
  /** Join a meeting started from a chat (one's own or a colleague's). */
  onJoin: (meeting: { meetingNumber: string; linkKey: string }) => void;
  onMeetings: () => void;
  onHome: () => void;
}

/** Messages fetched per page of history. */
const PAGE = 50;

/** Draws the page into `root`; it stops watching for messages when it leaves the document. */
export function renderChatsPage(root: HTMLElement, handlers: ChatsPageHandlers): void {
  const session = localProfile.session();
  const header = h(
    "header",
    { class: "landing-header chats-header" },
    h("div", { class: "brand" }, h("span", { class: "logo" }, "云"), "Yunhui 云会"),
    h("button", { class: "link-button", type: "button", onclick: () => handlers.onHome() }, t("console.home")),
    h("button", { class: "link-button", type: "button", testid: "chats-meetings", onclick: () => handlers.onMeetings() }, t("chats.myMeetings")),
  );
  if (!session) {
    exposeForInspection({ state: "chats" });
    show(root, h("div", { class: "landing" }, header, h("section", { class: "card" }, h("h1", {}, t("chats.title")), h("p", { testid: "chats-signed-out" }, t("chats.signInFirst")))));
    return;
  }
  new ChatsPage(root, header, session, handlers).start();
}

class ChatsPage {
  private chats: GroupChat[] = [];
  private open: GroupChat | null = null;
  /** The open chat's messages shown, oldest first. */
  private messages: GroupChatMessage[] = [];
  /** Whether the server may have messages older than the first shown. */
  private moreBefore = false;
  private readonly list = h("ul", { class: "chat-list", testid: "chat-list", "aria-label": t("chats.title") });
  private readonly pane = h("section", { class: "chat-pane", testid: "chat-pane" });
  private readonly error = h("div", { class: "error", role: "alert", testid: "chats-error" });
  private readonly view: HTMLElement;
  private stopWatching: () => void = () => undefined;

  constructor(
    private readonly root: HTMLElement,
    header: HTMLElement,
    private readonly session: Session,
    private readonly handlers: ChatsPageHandlers,
  ) {
    const newChat = h("button", { class: "primary", type: "button", testid: "chat-new", onclick: () => this.showNewChatForm() }, t("chats.new"));
    this.view = h(
      "div",
      { class: "landing chats", testid: "chats-page" },
      header,
      h(
        "div",
        { class: "card chats-card" },
        h("div", { class: "card-title" }, h("h1", {}, t("chats.title")), newChat),
        this.error,
        h("div", { class: "chats-layout" }, this.list, this.pane),
      ),
    );
  }

  start(): void {
    document.title = t("chats.documentTitle");
    show(this.root, this.view);
    this.stopWatching = watchGroupChats((message) => {
      if (!this.view.isConnected) return this.stopWatching();
      void this.received(message);
    });
    this.pane.replaceChildren(h("p", { class: "muted" }, t("chats.pick")));
    this.expose();
    void this.loadList().then(() => {
      const wanted = decodeURIComponent(location.hash.slice(1));
      const chat = this.chats.find((c) => c.id === wanted);
      if (chat) void this.openChat(chat);
    });
  }

  private async loadList(): Promise<void> {
    try {
      this.chats = await api.chats(this.session.token);
      this.drawList();
    } catch (e) {
      this.fail(e);
    }
  }

  private drawList(): void {
    this.list.replaceChildren(
      ...(this.chats.length ? this.chats.map((chat) => this.chatItem(chat)) : [h("li", { class: "empty", testid: "chats-empty" }, t("chats.none"))]),
    );
    this.expose();
  }

  private chatItem(chat: GroupChat): HTMLLIElement {
    const last = chat.last_message;
    const preview = last ? `${last.sender_name}: ${last.meeting ? t("chats.startedMeeting") : last.text}` : t("chats.noMessages");
    return h(
      "li",
      { class: `chat-item${chat.id === this.open?.id ? " open" : ""}` },
      h(
        "button",
        { type: "button", class: "chat-item-button", testid: `chat-item-${chat.id}`, onclick: () => void this.openChat(chat) },
        h("span", { class: "chat-item-name" }, chat.name),
        h("span", { class: "chat-item-preview muted" }, preview),
        chat.unread > 0 ? h("span", { class: "badge", testid: `chat-unread-${chat.id}`, "aria-label": t("chats.unread", { count: chat.unread }) }, String(chat.unread)) : null,
      ),
    );
  }

  private async openChat(chat: GroupChat): Promise<void> {
    this.open = chat;
    this.messages = [];
    history.replaceState(null, "", `/chats#${encodeURIComponent(chat.id)}`);
    const messages = h("ol", { class: "chat-messages", testid: "chat-messages", "aria-live": "polite" });
    const compose = h("textarea", {
      testid: "chat-compose",
      rows: "2",
      maxlength: String(LIMITS.chat_chars),
      placeholder: t("chats.composePlaceholder"),
      "aria-label": t("chats.composePlaceholder"),
    });
    const send = h("button", { class: "primary", type: "submit", testid: "chat-send" }, t("chats.send"));
    const form = h("form", { class: "chat-compose" }, compose, send);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.send(compose, send);
    });
    compose.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    const startMeeting = h("button", { class: "secondary", type: "button", testid: "chat-start-meeting", onclick: () => void this.startMeeting(startMeeting) }, t("chats.startMeeting"));
    this.pane.replaceChildren(
      h(
        "div",
        { class: "chat-pane-title" },
        h("div", {}, h("h2", { testid: "chat-title" }, chat.name), h("p", { class: "muted chat-members", testid: "chat-members" }, chat.members.map((m) => m.display_name).join(", "))),
        startMeeting,
      ),
      messages,
      form,
    );
    this.drawList();
    try {
      const page = await api.chatMessages(this.session.token, chat.id, PAGE);
      if (this.open !== chat) return;
      // A message pushed while the page loaded is already shown.
      this.messages = mergeMessages(page.reverse(), this.messages);
      this.moreBefore = page.length === PAGE;
      this.drawMessages();
      await this.markRead();
      compose.focus();
    } catch (e) {
      this.fail(e);
    }
  }

  private drawMessages(): void {
    const list = this.pane.querySelector<HTMLElement>(".chat-messages");
    if (!list) return;
    const earlier = this.moreBefore
      ? h("li", { class: "chat-earlier" }, h("button", { class: "link-button", type: "button", testid: "chat-earlier", onclick: () => void this.loadEarlier() }, t("chats.earlier")))
      : null;
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.replaceChildren(
      ...(earlier ? [earlier] : []),
      ...(this.messages.length ? this.messages.map((m) => this.messageItem(m)) : [h("li", { class: "empty" }, t("chats.noMessages"))]),
    );
    if (atBottom || !earlier) list.scrollTop = list.scrollHeight;
    this.expose();
  }

  private messageItem(message: GroupChatMessage): HTMLLIElement {
    const mine = message.sender_account_id === this.session.account.id;
    const { date, time } = wallClock(message.sent_at, browserTimeZone());
    const meeting = message.meeting;
    return h(
      "li",
      { class: `chat-message${mine ? " mine" : ""}`, testid: "chat-message" },
      h(
        "div",
        { class: "chat-message-meta muted" },
        h("strong", {}, message.sender_name),
        " ",
        h("time", { datetime: new Date(message.sent_at * 1000).toISOString() }, `${date} ${time}`),
      ),
      meeting
        ? h(
            "div",
            { class: "chat-meeting", testid: `chat-meeting-${meeting.number}` },
            t("chats.meetingAnnounced", { topic: meeting.topic, number: formatMeetingNumber(meeting.number) }),
            " ",
            h(
              "button",
              {
                class: "primary",
                type: "button",
                testid: `chat-join-${meeting.number}`,
                onclick: () => this.handlers.onJoin({ meetingNumber: meeting.number, linkKey: meeting.link_key }),
              },
              t("chats.join"),
            ),
          )
        : h("div", { class: "chat-text" }, message.text),
    );
  }

  private async loadEarlier(): Promise<void> {
    const chat = this.open;
    const oldest = this.messages[0];
    if (!chat || !oldest) return;
    try {
      const page = await api.chatMessages(this.session.token, chat.id, PAGE, oldest.id);
      if (this.open !== chat) return;
      this.messages = mergeMessages(page.reverse(), this.messages);
      this.moreBefore = page.length === PAGE;
      this.drawMessages();
    } catch (e) {
      this.fail(e);
    }
  }

  private async send(compose: HTMLTextAreaElement, send: HTMLButtonElement): Promise<void> {
    const chat = this.open;
    const text = compose.value.trim();
    if (!chat || !text) return;
    send.disabled = true;
    try {
      const message = await api.postChatMessage(this.session.token, chat.id, { text });
      compose.value = "";
      this.error.textContent = "";
      void this.received(message);
    } catch (e) {
      // The text stays in the box to send again.
      this.fail(e);
    } finally {
      send.disabled = false;
      compose.focus();
    }
  }

  private async startMeeting(button: HTMLButtonElement): Promise<void> {
    const chat = this.open;
    if (!chat) return;
    button.disabled = true;
    try {
      const meeting = await api.startChatMeeting(this.session.token, chat.id);
      const linkKey = new URL(meeting.join_url, location.href).searchParams.get("k") ?? "";
      this.handlers.onJoin({ meetingNumber: meeting.number, linkKey });
    } catch (e) {
      button.disabled = false;
      this.fail(e);
    }
  }

  /** A message pushed to this page, or one it sent. */
  private async received(message: GroupChatMessage): Promise<void> {
    const chat = this.chats.find((c) => c.id === message.chat_id);
    if (!chat) return this.joinedChat(message.chat_id);
    const isNew = chat.last_message?.id !== message.id && !this.messages.some((m) => m.id === message.id);
    if (!chat.last_message || chat.last_message.id < message.id) chat.last_message = message;
    this.chats = [chat, ...this.chats.filter((c) => c !== chat)];
    if (chat === this.open) {
      this.messages = mergeMessages(this.messages, [message]);
      this.drawMessages();
      if (message.sender_account_id !== this.session.account.id) await this.markRead();
    } else if (isNew && message.sender_account_id !== this.session.account.id) {
      chat.unread += 1;
    }
    this.drawList();
  }

  /** A chat someone else just made with us: its unread count already counts the message. */
  private async joinedChat(id: string): Promise<void> {
    let fetched: GroupChat;
    try {
      fetched = await api.chat(this.session.token, id);
    } catch (e) {
      return this.fail(e);
    }
    const known = this.chats.find((c) => c.id === id);
    if (known) Object.assign(known, { unread: fetched.unread, last_message: fetched.last_message });
    else this.chats.unshift(fetched);
    this.drawList();
  }

  /** Marks the open chat read up to its newest message shown. */
  private async markRead(): Promise<void> {
    const chat = this.open;
    const newest = this.messages[this.messages.length - 1];
    if (!chat || !newest) return;
    chat.unread = 0;
    this.drawList();
    try {
      await api.markChatRead(this.session.token, chat.id, { up_to: newest.id });
    } catch (e) {
      this.fail(e);
    }
  }

  private showNewChatForm(): void {
    const name = h("input", { type: "text", testid: "chat-name", required: "", maxlength: String(LIMITS.group_chat_name_chars), "aria-label": t("chats.name") });
    const picker = new InviteePicker(this.session.token, () => new Set([this.session.account.id]));
    const create = h("button", { class: "primary", type: "submit", testid: "chat-create" }, t("chats.create"));
    const cancel = h("button", { class: "secondary", type: "button", onclick: () => (this.open ? void this.openChat(this.open) : this.pane.replaceChildren()) }, t("common.cancel"));
    const form = h(
      "form",
      { class: "chat-new-form", testid: "chat-new-form", "aria-label": t("chats.new") },
      h("h2", {}, t("chats.new")),
      h("label", { class: "field" }, h("span", {}, t("chats.name")), name),
      h("div", { class: "field" }, h("span", {}, t("chats.members")), picker.root),
      h("div", { class: "item-actions" }, cancel, create),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.create(name.value.trim(), picker.selected(), create);
    });
    this.pane.replaceChildren(form);
    name.focus();
  }

  private async create(name: string, members: string[], button: HTMLButtonElement): Promise<void> {
    if (!name) return;
    button.disabled = true;
    try {
      const chat = await api.createChat(this.session.token, { name, members });
      this.error.textContent = "";
      this.chats = [chat, ...this.chats.filter((c) => c.id !== chat.id)];
      await this.openChat(chat);
    } catch (e) {
      button.disabled = false;
      this.fail(e);
    }
  }

  private fail(e: unknown): void {
    this.error.textContent = e instanceof ApiRequestError ? e.message : String(e);
    if (e instanceof ApiRequestError && e.status === 401) {
      localProfile.forgetSession();
      this.error.textContent += ` ${t("console.signInAgain")}`;
    }
  }

  private expose(): void {
    exposeForInspection({
      state: "chats",
      groupChats: {
        open: this.open?.id ?? null,
        shown: this.messages.length,
        unread: Object.fromEntries(this.chats.map((c) => [c.id, c.unread])),
      },
    });
  }
}
