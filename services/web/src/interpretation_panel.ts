// The "Interpretation 传译" tab (F-INT-1, the manual's 5.1), shown when the
// meeting has interpretation: everyone chooses a language channel (or the
// original only) and may mute the original under it; the host lists the
// interpreters, adds one (participant, from and to language: a short list
// or any code typed), changes a pair, replaces an interpreter with another
// participant, and removes one. The rules are `interpretation.ts`.

import { h } from "./dom";
import {
  LANGUAGES,
  activeChannel,
  interpreterBadge,
  interpreterCommands,
  languageName,
  removeInterpreterCommand,
  type Listening,
} from "./interpretation";
import type { ClientMessage, HostCommand, Participant } from "./proto";
import { LIMITS } from "./proto";

const OTHER = "other";

/** A language picker: the short list, or "Other" with a code typed. */
class LanguagePicker {
  readonly select: HTMLSelectElement;
  readonly other: HTMLInputElement;
  readonly root: HTMLElement;

  constructor(testid: string, label: string, initial: string) {
    this.select = h(
      "select",
      { testid, "aria-label": label },
      ...LANGUAGES.map(([code, name]) => h("option", { value: code }, `${name} (${code})`)),
      h("option", { value: OTHER }, "Other 其他…"),
    );
    this.other = h("input", {
      testid: `${testid}-other`,
      maxlength: String(LIMITS.language_chars),
      placeholder: "e.g. pt 例如 pt",
      "aria-label": `${label}: code 语言代码`,
    });
    this.select.addEventListener("change", () => this.showOther());
    this.root = h("label", { class: "field compact" }, h("span", {}, label), this.select, this.other);
    this.value = initial;
  }

  get value(): string {
    return this.select.value === OTHER ? this.other.value : this.select.value;
  }

  set value(code: string) {
    if (LANGUAGES.some(([c]) => c === code)) {
      this.select.value = code;
    } else {
      this.select.value = OTHER;
      this.other.value = code;
    }
    this.showOther();
  }

  private showOther(): void {
    this.other.hidden = this.select.value !== OTHER;
  }
}

export class InterpretationPanel {
  readonly root: HTMLElement;
  private readonly channel = h("select", { testid: "language-channel", "aria-label": "Language channel 语言频道" });
  private readonly muteOriginal = h("input", { type: "checkbox", testid: "mute-original" });
  private readonly manager: HTMLElement;
  private readonly interpreterList = h("ul", { class: "interpreter-list", testid: "interpreter-list", "aria-label": "Interpreters 传译员" });
  private readonly who = h("select", { testid: "interpreter-participant", "aria-label": "Interpreter 传译员" });
  private readonly from = new LanguagePicker("interpreter-from", "From 源语言", "zh");
  private readonly to = new LanguagePicker("interpreter-to", "Into 目标语言", "en");
  private readonly replaces = h("select", { testid: "interpreter-replaces", "aria-label": "Replaces 替换" });
  private readonly error = h("p", { class: "error", testid: "interpreter-error", role: "alert" });
  private participants: Participant[] = [];
  private languages: string[] = [];
  /** The channel this listener chose (kept while its interpreter is away). */
  private chosen: string | null = null;

  constructor(
    private readonly send: (message: ClientMessage) => void,
    private readonly host: (command: HostCommand) => void,
    /** The listener's choice changed: the page plays everyone at new gains. */
    private readonly onListening: () => void,
  ) {
    this.channel.addEventListener("change", () => this.choose(this.channel.value || null));
    this.muteOriginal.addEventListener("change", () => {
      this.render();
      this.onListening();
    });
    const form = h(
      "form",
      { class: "interpreter-form", testid: "interpreter-form" },
      h("label", { class: "field compact" }, h("span", {}, "Interpreter 传译员"), this.who),
      h("div", { class: "language-pair" }, this.from.root, this.to.root),
      h("label", { class: "field compact" }, h("span", {}, "Replaces 替换"), this.replaces),
      this.error,
      h("button", { type: "submit", class: "row-button primary-small", testid: "interpreter-assign" }, "Assign 指定传译员"),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.assign();
    });
    this.manager = h(
      "section",
      { class: "panel-section", testid: "interpreter-manager" },
      h("h3", {}, "Interpreters 传译员"),
      this.interpreterList,
      form,
    );
    this.root = h(
      "div",
      { class: "interpretation", testid: "interpretation-panel" },
      h(
        "section",
        { class: "panel-section" },
        h("h3", {}, "Listen to 收听"),
        h("label", { class: "field compact" }, h("span", {}, "Language channel 语言频道"), this.channel),
        h("label", { class: "check" }, this.muteOriginal, "Mute original audio 静音原声"),
      ),
      this.manager,
    );
    this.render();
  }

  /** What this listener hears now. */
  get listening(): Listening {
    return { channel: activeChannel(this.chosen, this.languages), muteOriginal: this.muteOriginal.checked };
  }

  /** The meeting's participants and channels as the server last described them, and whether the viewer manages interpreters. */
  update(participants: Participant[], languages: string[], isHost: boolean): void {
    this.participants = participants;
    this.languages = languages;
    this.manager.hidden = !isHost;
    this.render();
  }

  private choose(language: string | null): void {
    this.chosen = language;
    this.send({ type: "choose_language", language });
    this.render();
    this.onListening();
  }

  private assign(): void {
    const result = interpreterCommands(
      { participantId: this.who.value, from: this.from.value, to: this.to.value, replaces: this.replaces.value || null },
      LIMITS.language_chars,
    );
    if (typeof result === "string") {
      this.error.textContent = result;
      return;
    }
    this.error.textContent = "";
    for (const command of result) this.host(command);
    this.replaces.value = "";
  }

  /** Fills the form with an interpreter, to change their pair or hand their channel to someone else. */
  private edit(p: Participant): void {
    if (!p.interpreter) return;
    this.who.value = p.id;
    this.from.value = p.interpreter.from;
    this.to.value = p.interpreter.to;
  }

  private render(): void {
    const active = this.listening.channel;
    this.channel.replaceChildren(
      h("option", { value: "" }, "Original 原声"),
      ...this.languages.map((code) => h("option", { value: code }, languageName(code))),
    );
    this.channel.value = active ?? "";
    this.channel.dataset.channel = active ?? "";
    this.muteOriginal.disabled = active === null;

    const interpreters = this.participants.filter((p) => p.interpreter);
    this.interpreterList.replaceChildren(
      ...interpreters.map((p) =>
        h(
          "li",
          { testid: `interpreter-${p.id}`, "data-from": p.interpreter?.from ?? "", "data-to": p.interpreter?.to ?? "" },
          h("span", { class: "who" }, h("span", { class: "name" }, p.display_name), h("span", { class: "tag interpreter" }, p.interpreter ? interpreterBadge(p.interpreter) : "")),
          h(
            "span",
            { class: "row-actions" },
            h("button", { type: "button", class: "row-button", testid: `interpreter-edit-${p.id}`, onclick: () => this.edit(p) }, "Change 修改"),
            h(
              "button",
              { type: "button", class: "row-button danger", testid: `interpreter-remove-${p.id}`, onclick: () => this.host(removeInterpreterCommand(p.id)) },
              "Remove 移除",
            ),
          ),
        ),
      ),
    );
    if (interpreters.length === 0) this.interpreterList.append(h("li", { class: "empty" }, "No interpreters yet 暂无传译员"));

    const picked = this.who.value;
    this.who.replaceChildren(
      h("option", { value: "" }, "Choose… 请选择"),
      ...this.participants.map((p) => h("option", { value: p.id }, p.display_name)),
    );
    this.who.value = this.participants.some((p) => p.id === picked) ? picked : "";
    const replaced = this.replaces.value;
    this.replaces.replaceChildren(
      h("option", { value: "" }, "Nobody 无"),
      ...interpreters.map((p) => h("option", { value: p.id }, `${p.display_name} (${p.interpreter?.from}→${p.interpreter?.to})`)),
    );
    this.replaces.value = interpreters.some((p) => p.id === replaced) ? replaced : "";
  }
}
