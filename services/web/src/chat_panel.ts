// Chat (F-CTL-2, F-CTL-6): to everyone or privately to one participant, and
// in a webinar to the panel (host and panelists). The history the meeting
// kept arrives as ordinary `chat` messages after joining. When the host
// switches chat off, participants may still write to a host (or the panel).

import { h } from "./dom";
import type { ChatMessage, Participant } from "./proto";
import { LIMITS } from "./proto";

const EVERYONE = "";
/** The recipient choice "the host and panelists" (a webinar's); never a participant id. */
const PANEL = "@panel";

export interface ChatPolicy {
  allowChat: boolean;
  selfIsHost: boolean;
  /** A webinar: the panel is a recipient. */
  webinar: boolean;
}

export class ChatPanel {
  readonly root: HTMLElement;
  private readonly log = h("ol", { class: "chat-log", testid: "chat-messages", role: "log", "aria-live": "polite", "aria-label": "Chat messages 聊天记录" });
  private readonly recipient = h("select", { testid: "chat-to", "aria-label": "Send to 发送给" });
  private readonly input = h("textarea", {
    testid: "chat-input",
    rows: 2,
    maxlength: String(LIMITS.chat_chars),
    placeholder: "Type a message 输入消息…",
    "aria-label": "Message 消息",
  });
  private readonly sendButton = h("button", { type: "submit", class: "row-button primary-small", testid: "chat-send" }, "Send 发送");
  private readonly hint = h("p", { class: "chat-hint", testid: "chat-hint" });
  private readonly seen = new Set<string>();
  private participants: Participant[] = [];
  private policy: ChatPolicy = { allowChat: true, selfIsHost: false, webinar: false };

  constructor(
    private readonly selfId: string,
    private readonly send: (to: string | undefined, text: string, toPanel: boolean) => void,
    /** Called for each message that arrives (for an unread counter). */
    private readonly onMessage: (message: ChatMessage) => void,
  ) {
    this.recipient.addEventListener("change", () => this.renderPolicy());
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        this.submit();
      }
    });
    this.root = h(
      "div",
      { class: "chat-panel", testid: "chat-panel" },
      this.log,
      h(
        "form",
        {
          class: "chat-form",
          onsubmit: (event: Event) => {
            event.preventDefault();
            this.submit();
          },
        },
        h("label", { class: "chat-to" }, h("span", {}, "To 发送给"), this.recipient),
        this.input,
        this.hint,
        this.sendButton,
      ),
    );
    this.renderRecipients();
  }

  add(message: ChatMessage): void {
    if (this.seen.has(message.id)) return;
    this.seen.add(message.id);
    const fromSelf = message.from === this.selfId;
    const privateTo = message.to === null ? null : message.to === this.selfId ? "you 我" : this.nameOf(message.to, "");
    const time = new Date(message.sent_at_ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    this.log.append(
      h(
        "li",
        {
          class: fromSelf ? "chat-message own" : "chat-message",
          testid: "chat-message",
          "data-from": message.from,
          "data-private": String(message.to !== null),
          "data-to-panel": String(message.to_panel),
          "data-breakout": message.breakout ?? "",
        },
        h(
          "div",
          { class: "chat-meta" },
          h("strong", {}, fromSelf ? "Me 我" : message.from_name),
          privateTo !== null ? h("span", { class: "tag private" }, `Privately to ${privateTo} 私聊`) : null,
          message.to_panel ? h("span", { class: "tag private" }, "To the panel 发给主持人和嘉宾") : null,
          message.breakout ? h("span", { class: "tag private", testid: "chat-breakout" }, "In this breakout room 本讨论组") : null,
          h("time", {}, time),
        ),
        h("div", { class: "chat-text", testid: "chat-text" }, message.text),
      ),
    );
    this.log.scrollTop = this.log.scrollHeight;
    this.onMessage(message);
  }

  setParticipants(participants: Participant[]): void {
    this.participants = participants;
    this.renderRecipients();
  }

  setPolicy(policy: ChatPolicy): void {
    this.policy = policy;
    this.renderRecipients();
  }

  /** Opens a private conversation with `participantId`. */
  chatWith(participantId: string): void {
    this.recipient.value = participantId;
    this.renderPolicy();
    this.input.focus();
  }

  private submit(): void {
    const text = this.input.value.trim();
    if (!text || this.sendButton.disabled) return;
    const toPanel = this.recipient.value === PANEL;
    const to = toPanel ? undefined : this.recipient.value || undefined;
    this.send(to, text, toPanel);
    this.input.value = "";
  }

  private renderRecipients(): void {
    const chosen = this.recipient.value;
    const others = this.participants.filter((p) => p.id !== this.selfId);
    const options = [
      h("option", { value: EVERYONE }, "Everyone 所有人"),
      this.policy.webinar ? h("option", { value: PANEL }, "Host and panelists 主持人和嘉宾") : null,
      ...others.map((p) => h("option", { value: p.id }, p.role === "host" ? `${p.display_name} (Host 主持人)` : p.display_name)),
    ];
    this.recipient.replaceChildren(...options.filter((o) => o !== null));
    const stillThere = others.some((p) => p.id === chosen) || (chosen === PANEL && this.policy.webinar);
    this.recipient.value = stillThere ? chosen : EVERYONE;
    this.renderPolicy();
  }

  /** With chat off, a participant may only write to a host. */
  private renderPolicy(): void {
    const restricted = !this.policy.allowChat && !this.policy.selfIsHost;
    const to = this.participants.find((p) => p.id === this.recipient.value);
    const allowed = !restricted || to?.role === "host" || this.recipient.value === PANEL;
    this.sendButton.disabled = !allowed;
    this.input.disabled = !allowed;
    this.hint.textContent = restricted
      ? "The host has turned chat off: you can still write to the host. 主持人已关闭聊天，您仍可私聊主持人。"
      : "";
  }

  private nameOf(participantId: string, fallback: string): string {
    return this.participants.find((p) => p.id === participantId)?.display_name ?? fallback;
  }
}
