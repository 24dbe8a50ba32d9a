// The console's API keys tab: the enterprise's keys (name, permissions,
// created, last used; Revoke), and a form that creates one with the chosen
// permissions. A new key's secret is shown once, with a Copy button.

import { api } from "./api";
import { Feedback, button, confirmAction, emptyRow, formatTime, section, table, type ConsoleContext, type ConsoleTab } from "./console_ui";
import { h } from "./dom";
import { t, type StringKey } from "./i18n";
import type { ApiKey, ApiScope, CreatedApiKey } from "./proto";

/** Every scope, with its label: a scope missing here fails to compile. */
const SCOPES: Record<ApiScope, StringKey> = {
  profile: "scope.profile",
  directory_read: "scope.directory_read",
  accounts_manage: "scope.accounts_manage",
  api_keys_manage: "scope.api_keys_manage",
  meetings_read: "scope.meetings_read",
  meetings_manage: "scope.meetings_manage",
  webhooks_manage: "scope.webhooks_manage",
  audit_read: "scope.audit_read",
  chat: "scope.chat",
};
const COLUMNS: readonly StringKey[] = ["common.name", "keys.scopes", "keys.colCreated", "keys.colLastUsed", "common.actions"];
/** A key's name: 1 to 64 characters. */
const NAME_CHARS = 64;

export function keysTab(ctx: ConsoleContext): ConsoleTab {
  return new KeysTab(ctx);
}

class KeysTab implements ConsoleTab {
  readonly root: HTMLElement;
  private readonly feedback: Feedback;
  private readonly name = h("input", { testid: "api-key-name", required: true, maxlength: String(NAME_CHARS), autocomplete: "off" });
  private readonly scopes = new Map<ApiScope, HTMLInputElement>();
  private readonly secret = h("div", { class: "console-secret", testid: "api-key-secret-box" });
  private readonly rows = h("tbody", { testid: "api-key-rows" });

  constructor(private readonly ctx: ConsoleContext) {
    this.feedback = new Feedback(ctx, "keys");
    this.secret.hidden = true;
    this.root = h(
      "div",
      { class: "console-tab-body", testid: "keys-tab" },
      ...this.feedback.nodes(),
      this.secret,
      section(t("keys.new"), this.form()),
      section(t("keys.list"), table("api-key-table", COLUMNS, this.rows)),
    );
    void this.load();
  }

  private form(): HTMLFormElement {
    const boxes = (Object.keys(SCOPES) as ApiScope[]).map((scope) => {
      const input = h("input", { type: "checkbox", name: "scope", value: scope, testid: `api-key-scope-${scope}` });
      this.scopes.set(scope, input);
      return h("label", { class: "check" }, input, h("span", {}, t(SCOPES[scope])));
    });
    return h(
      "form",
      { class: "console-form", testid: "api-key-form", onsubmit: (event: Event) => (event.preventDefault(), void this.create()) },
      h("label", { class: "field" }, h("span", {}, t("keys.name")), this.name),
      h("fieldset", { class: "console-scopes" }, h("legend", {}, t("keys.scopes")), ...boxes),
      h("button", { type: "submit", class: "primary console-button", testid: "api-key-create" }, t("keys.create")),
    );
  }

  private async load(): Promise<void> {
    await this.feedback.run(async () => {
      const keys = await api.apiKeys(this.ctx.token);
      this.rows.replaceChildren(...(keys.length ? keys.map((k) => this.row(k)) : [emptyRow(COLUMNS.length, "keys.none")]));
    });
  }

  private row(key: ApiKey): HTMLTableRowElement {
    return h(
      "tr",
      { testid: `api-key-${key.id}`, "data-scopes": key.scopes.join(" ") },
      h("td", {}, key.name),
      h("td", {}, key.scopes.map((s) => t(SCOPES[s])).join(", ")),
      h("td", {}, formatTime(key.created_at)),
      h("td", {}, key.last_used_at === null ? t("keys.never") : formatTime(key.last_used_at)),
      h("td", {}, button(t("keys.revoke"), `api-key-revoke-${key.id}`, () => void this.revoke(key))),
    );
  }

  private async create(): Promise<void> {
    const scopes = [...this.scopes].filter(([, input]) => input.checked).map(([scope]) => scope);
    if (scopes.length === 0) {
      this.feedback.fail(new Error(t("keys.pickScope")));
      return;
    }
    const name = this.name.value.trim();
    await this.feedback.run(async () => {
      this.showSecret(await api.createApiKey(this.ctx.token, { name, scopes }));
      this.name.value = "";
      for (const input of this.scopes.values()) input.checked = false;
      this.feedback.done();
      await this.load();
    });
  }

  /** The new key's secret, once: a read-only field, Copy, and the warning. */
  private showSecret(created: CreatedApiKey): void {
    const field = h("input", { readonly: true, value: created.key, testid: "api-key-secret", "aria-label": t("keys.secretTitle", { name: created.api_key.name }) });
    const said = h("span", { class: "muted", role: "status", testid: "api-key-copy-status" });
    const copy = async () => {
      field.select();
      // Outside a secure context there is no clipboard: the promise fails.
      said.textContent = await Promise.resolve()
        .then(() => navigator.clipboard.writeText(created.key))
        .then(
        () => t("keys.copied"),
        () => t("keys.copyFailed"),
      );
    };
    this.secret.replaceChildren(
      h("strong", {}, t("keys.secretTitle", { name: created.api_key.name })),
      h("p", { testid: "api-key-secret-hint" }, t("keys.shownOnce")),
      h("div", { class: "console-secret-row" }, field, button(t("keys.copy"), "api-key-copy", () => void copy(), "primary"), said),
    );
    this.secret.hidden = false;
  }

  private async revoke(key: ApiKey): Promise<void> {
    const yes = await confirmAction("confirm-revoke-key", t("keys.revokeTitle", { name: key.name }), t("keys.revokeText"), t("keys.revoke"));
    if (!yes) return;
    if (await this.feedback.run(() => api.revokeApiKey(this.ctx.token, key.id).then(() => this.feedback.done()))) await this.load();
  }
}
