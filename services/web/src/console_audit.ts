// The console's Audit log tab: what administrators (and API keys acting for
// them) did, newest first, 50 at a time; "Show older" asks for the entries
// written before the oldest one shown (ids sort as entries were written).

import { api } from "./api";
import { Feedback, emptyRow, section, table, timeElement, type ConsoleContext, type ConsoleTab } from "./console_ui";
import { h } from "./dom";
import { t, type StringKey } from "./i18n";
import type { AuditAction, AuditEntry } from "./proto";

export const AUDIT_PAGE = 50;

/** Every action's label: an action missing here fails to compile. */
const ACTIONS: Record<AuditAction, StringKey> = {
  "account.approved": "audit.account.approved",
  "account.rejected": "audit.account.rejected",
  "account.role_changed": "audit.account.role_changed",
  "account.disabled": "audit.account.disabled",
  "account.enabled": "audit.account.enabled",
  "department.created": "audit.department.created",
  "department.changed": "audit.department.changed",
  "department.deleted": "audit.department.deleted",
  "directory.provisioned": "audit.directory.provisioned",
  "device.created": "audit.device.created",
  "device.deleted": "audit.device.deleted",
  "api_key.created": "audit.api_key.created",
  "api_key.revoked": "audit.api_key.revoked",
  "webhook.created": "audit.webhook.created",
  "webhook.deleted": "audit.webhook.deleted",
  "cloud_room.members_changed": "audit.cloud_room.members_changed",
  "cloud_room.streaming_changed": "audit.cloud_room.streaming_changed",
  "media_policy.changed": "audit.media_policy.changed",
};
const COLUMNS: readonly StringKey[] = ["audit.colTime", "audit.colWho", "audit.colKey", "audit.colAction", "audit.colDetail"];

/** An action's label; one this page does not know yet is shown as sent. */
function actionLabel(action: AuditAction): string {
  const key = ACTIONS[action] as StringKey | undefined;
  return key ? t(key) : action;
}

export function auditTab(ctx: ConsoleContext): ConsoleTab {
  return new AuditTab(ctx);
}

class AuditTab implements ConsoleTab {
  readonly root: HTMLElement;
  private readonly feedback: Feedback;
  private readonly rows = h("tbody", { testid: "audit-rows" });
  private readonly more: HTMLButtonElement;
  private readonly end = h("p", { class: "muted", testid: "audit-end" }, t("audit.end"));
  /** The id of the oldest entry shown (the last of the last page): the next page is older. */
  private oldest: string | undefined;

  constructor(private readonly ctx: ConsoleContext) {
    this.feedback = new Feedback(ctx, "audit");
    this.more = h("button", { type: "button", class: "secondary console-button", testid: "audit-more", onclick: () => void this.load() }, t("audit.more"));
    this.more.hidden = true;
    this.end.hidden = true;
    this.root = h(
      "div",
      { class: "console-tab-body", testid: "audit-tab" },
      ...this.feedback.nodes(),
      section(t("tab.audit"), table("audit-table", COLUMNS, this.rows), this.more, this.end),
    );
    void this.load();
  }

  private async load(): Promise<void> {
    this.more.disabled = true;
    await this.feedback.run(async () => this.append(await api.auditLog(this.ctx.token, AUDIT_PAGE, this.oldest)));
    this.more.disabled = false;
  }

  private append(entries: AuditEntry[]): void {
    if (this.oldest === undefined && entries.length === 0) this.rows.replaceChildren(emptyRow(COLUMNS.length, "audit.none"));
    else this.rows.append(...entries.map(row));
    this.oldest = entries.at(-1)?.id ?? this.oldest;
    const full = entries.length === AUDIT_PAGE;
    this.more.hidden = !full;
    this.end.hidden = full || this.oldest === undefined;
  }
}

function row(entry: AuditEntry): HTMLTableRowElement {
  return h(
    "tr",
    { testid: `audit-${entry.id}`, "data-action": entry.action, "data-target": entry.target_id },
    h("td", {}, timeElement(entry.at)),
    h("td", {}, entry.actor_name),
    h("td", {}, entry.api_key_id ? h("code", {}, entry.api_key_id) : t("common.none")),
    h("td", {}, actionLabel(entry.action)),
    h("td", {}, entry.detail),
  );
}
