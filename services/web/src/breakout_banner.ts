// The breakout banner above the gallery (F-BRK-1, the manual's 5.2), for
// everyone while a meeting has breakout rooms: the room one is in, "Join my
// room", the rooms one may choose, "Return to main room", "Ask for help",
// the countdown while the rooms close (and the time left before they close
// by themselves), and the host's broadcast, shown until dismissed. What is
// offered is `breakoutChoices` (`breakouts.ts`); the server decides.

import { h } from "./dom";
import { autoCloseSeconds, breakoutChoices, clock, countdownSeconds, roomName, type BreakoutState } from "./breakouts";
import type { ClientMessage, Participant } from "./proto";

/** How often the countdown is redrawn. */
const TICK_MS = 250;

export class BreakoutBanner {
  readonly root: HTMLElement;
  private readonly where = h("strong", { testid: "breakout-room-name" });
  private readonly countdown = h("span", { class: "countdown", testid: "breakout-countdown", role: "timer" });
  private readonly closesIn = h("span", { class: "closes-in", testid: "breakout-closes-in" });
  private readonly actions = h("span", { class: "breakout-actions" });
  private readonly message = h("div", { class: "breakout-broadcast", testid: "breakout-broadcast", role: "alert" });
  private state: BreakoutState | null = null;
  private self: Participant | null = null;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly send: (message: ClientMessage) => void) {
    this.message.hidden = true;
    this.root = h(
      "div",
      { class: "breakout-banner", testid: "breakout-banner" },
      h("div", { class: "breakout-line" }, this.where, this.countdown, this.closesIn, this.actions),
      this.message,
    );
    this.render();
  }

  /** The rooms and this participant as the server last described them. */
  update(state: BreakoutState | null, self: Participant | undefined): void {
    this.state = state;
    this.self = self ?? null;
    this.render();
  }

  /** The host's message to every room: shown prominently until dismissed. */
  showBroadcast(fromName: string, text: string): void {
    this.message.replaceChildren(
      h("span", { class: "from" }, `${fromName} to all rooms 主持人广播: `),
      h("span", { testid: "breakout-broadcast-text" }, text),
      h(
        "button",
        { type: "button", class: "row-button", testid: "breakout-broadcast-dismiss", onclick: () => (this.message.hidden = true) },
        "OK 知道了",
      ),
    );
    this.message.hidden = false;
    this.root.hidden = false;
  }

  close(): void {
    clearInterval(this.timer);
  }

  private render(): void {
    const state = this.state;
    const self = this.self;
    const inRoom = self?.breakout ?? null;
    this.root.hidden = (!state || (!state.open && inRoom === null)) && this.message.hidden;
    this.root.dataset.room = inRoom ?? "main";
    this.root.dataset.open = String(state?.open ?? false);
    this.where.textContent =
      inRoom === null ? `${roomName(state, null)}` : `You are in ${roomName(state, inRoom)} 您在 ${roomName(state, inRoom)}`;
    this.renderClock();
    const choices = self ? breakoutChoices(state, self) : null;
    const buttons: HTMLElement[] = [];
    if (choices?.joinAssigned) {
      const id = choices.joinAssigned;
      buttons.push(this.button("breakout-join-mine", `Join ${roomName(state, id)} 加入我的分组`, () => this.join(id)));
    }
    for (const room of choices?.choose ?? []) {
      if (self?.role === "host") continue; // The host moves from the breakout manager.
      buttons.push(this.button(`breakout-choose-${room.id}`, `Join ${room.name} 加入`, () => this.join(room.id)));
    }
    if (choices?.returnToMain) buttons.push(this.button("breakout-return", "Return to main room 返回主会场", () => this.join(null)));
    if (choices?.askForHelp) {
      buttons.push(
        this.button("breakout-ask-help", "Ask for help 请求帮助", (event) => {
          this.send({ type: "ask_for_help" });
          (event.currentTarget as HTMLButtonElement).textContent = "Help asked 已请求帮助";
        }),
      );
    }
    this.actions.replaceChildren(...buttons);
    const ticking = countdownSeconds(state, Date.now()) !== null || autoCloseSeconds(state, Date.now()) !== null;
    if (ticking && this.timer === undefined) this.timer = setInterval(() => this.renderClock(), TICK_MS);
    if (!ticking && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private renderClock(): void {
    const now = Date.now();
    const left = countdownSeconds(this.state, now);
    this.countdown.hidden = left === null;
    this.countdown.dataset.seconds = left === null ? "" : String(left);
    this.countdown.textContent = left === null ? "" : `Rooms close in ${clock(left)} 分组讨论将在 ${clock(left)} 后结束`;
    const auto = autoCloseSeconds(this.state, now);
    this.closesIn.hidden = auto === null;
    this.closesIn.textContent = auto === null ? "" : `Closes by itself in ${clock(auto)} 自动结束倒计时 ${clock(auto)}`;
  }

  private join(roomId: string | null): void {
    this.send({ type: "join_breakout", room_id: roomId });
  }

  private button(testid: string, text: string, onclick: (event: Event) => void): HTMLButtonElement {
    return h("button", { type: "button", class: "row-button", testid, onclick }, text);
  }
}
