// What the management console's tabs share: the context they run in, the
// line that shows the server's message after an action, confirmations,
// buttons, tables and times. Every text comes from i18n.ts.

import { askChoice } from "./ask_dialog";
import { ApiRequestError } from "./api";
import { h } from "./dom";
import { t, type Params, type StringKey } from "./i18n";
import type { Account } from "./proto";
import { browserTimeZone, wallClock } from "./schedule_time";

/** What a tab knows of the page it is in. */
export interface ConsoleContext {
  /** The administrator's session token. */
  readonly token: string;
  /** The signed-in administrator. */
  readonly me: Account;
  /** The server no longer takes the session: the page forgets it and says so. */
  signedOut(): void;
}

/** One tab's content; `stop` runs when the tab is left (timers end there). */
export interface ConsoleTab {
  readonly root: HTMLElement;
  stop?(): void;
}

/** A tab's error line (the server's message) and its status line (what just happened). */
export class Feedback {
  readonly error: HTMLDivElement;
  readonly status: HTMLParagraphElement;

  constructor(
    private readonly ctx: ConsoleContext,
    testid: string,
  ) {
    this.error = h("div", { class: "error", role: "alert", testid: `${testid}-error` });
    this.status = h("p", { class: "console-status", role: "status", testid: `${testid}-status` });
  }

  /** Both lines, to put at the top of the tab. */
  nodes(): HTMLElement[] {
    return [this.error, this.status];
  }

  fail(e: unknown): void {
    this.status.textContent = "";
    if (e instanceof ApiRequestError && e.status === 401) {
      this.ctx.signedOut();
      return;
    }
    this.error.textContent = e instanceof Error ? e.message : String(e);
  }

  done(text = ""): void {
    this.error.textContent = "";
    this.status.textContent = text;
  }

  /** Runs `action`, showing its failure; resolves whether it succeeded. */
  async run(action: () => Promise<void>): Promise<boolean> {
    try {
      await action();
      return true;
    } catch (e) {
      this.fail(e);
      return false;
    }
  }
}

/** A small button. */
export function button(label: string, testid: string, onclick: () => void, kind: "primary" | "secondary" = "secondary"): HTMLButtonElement {
  return h("button", { type: "button", class: `${kind} console-button`, testid, onclick }, label);
}

/** Asks before something that cannot be undone; resolves `true` to go on. */
export function confirmAction(testid: string, title: string, text: string, confirm: string): Promise<boolean> {
  return askChoice({ testid, title, text, confirm, cancel: t("common.cancel") });
}

/** A table with `headers` over `body`. */
export function table(testid: string, headers: readonly StringKey[], body: HTMLTableSectionElement): HTMLTableElement {
  return h(
    "table",
    { class: "console-table", testid },
    h("thead", {}, h("tr", {}, ...headers.map((key) => h("th", { scope: "col" }, t(key))))),
    body,
  );
}

/** A row of one cell across `columns`, saying the table is empty. */
export function emptyRow(columns: number, key: StringKey, params?: Params): HTMLTableRowElement {
  return h("tr", { class: "empty" }, h("td", { colspan: columns }, t(key, params)));
}

/** A section of a tab with its heading. */
export function section(heading: string, ...children: (Node | null)[]): HTMLElement {
  return h("section", { class: "console-section" }, h("h2", {}, heading), ...children);
}

/** An instant (seconds since the epoch) on the browser's clock: "2026-12-03 09:00". */
export function formatTime(at: number): string {
  const { date, time } = wallClock(at, browserTimeZone());
  return `${date} ${time}`;
}

/** A `<time>` element for an instant. */
export function timeElement(at: number): HTMLTimeElement {
  return h("time", { datetime: new Date(at * 1000).toISOString() }, formatTime(at));
}
