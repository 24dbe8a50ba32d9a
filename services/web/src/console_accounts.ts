// The console's Accounts tab: registrations waiting for approval (Approve,
// Reject) and every account of the enterprise with its role and whether it
// may sign in (Disable / Enable).

import { api } from "./api";
import { Feedback, button, confirmAction, emptyRow, section, table, type ConsoleContext, type ConsoleTab } from "./console_ui";
import { h } from "./dom";
import { t, type StringKey } from "./i18n";
import type { Account, AccountRole, AccountStatus } from "./proto";

const ROLES: Record<AccountRole, StringKey> = { member: "role.member", tenant_admin: "role.tenant_admin" };
const STATUSES: Record<AccountStatus, StringKey> = {
  active: "status.active",
  pending: "status.pending",
  rejected: "status.rejected",
  disabled: "status.disabled",
};
const COLUMNS: readonly StringKey[] = ["accounts.colName", "accounts.colLogin", "accounts.colDepartment", "accounts.colRole", "accounts.colStatus", "common.actions"];

function login(account: Account): string {
  return account.email ?? account.phone ?? "";
}

export function accountsTab(ctx: ConsoleContext): ConsoleTab {
  return new AccountsTab(ctx);
}

class AccountsTab implements ConsoleTab {
  readonly root: HTMLElement;
  private readonly feedback: Feedback;
  private readonly pending = h("ul", { class: "console-list", testid: "pending-accounts", "aria-busy": "true" });
  private readonly rows = h("tbody", { testid: "account-rows" });

  constructor(private readonly ctx: ConsoleContext) {
    this.feedback = new Feedback(ctx, "accounts");
    this.pending.setAttribute("aria-label", t("accounts.pending"));
    this.root = h(
      "div",
      { class: "console-tab-body", testid: "accounts-tab" },
      ...this.feedback.nodes(),
      section(t("accounts.pending"), this.pending),
      section(t("accounts.all"), table("all-accounts", COLUMNS, this.rows)),
    );
    void this.load();
  }

  private async load(): Promise<void> {
    await this.feedback.run(async () => {
      const [pending, all] = await Promise.all([api.adminAccounts(this.ctx.token, "pending"), api.adminAccounts(this.ctx.token)]);
      this.drawPending(pending);
      this.drawAll(all);
    });
    this.pending.setAttribute("aria-busy", "false");
  }

  private drawPending(accounts: Account[]): void {
    this.pending.replaceChildren(
      ...(accounts.length ? accounts.map((a) => this.pendingItem(a)) : [h("li", { class: "empty", testid: "no-pending" }, t("accounts.noPending"))]),
    );
  }

  private pendingItem(account: Account): HTMLLIElement {
    return h(
      "li",
      { class: "console-item", testid: `pending-${account.id}` },
      h("div", { class: "console-item-info" }, h("strong", {}, account.display_name), h("span", { class: "muted" }, login(account))),
      h(
        "div",
        { class: "item-actions" },
        button(t("accounts.approve"), `approve-${account.id}`, () => void this.decide(account, true), "primary"),
        button(t("accounts.reject"), `reject-${account.id}`, () => void this.decide(account, false)),
      ),
    );
  }

  private async decide(account: Account, approve: boolean): Promise<void> {
    const name = account.display_name;
    if (!approve && !(await confirmAction("confirm-reject", t("accounts.rejectTitle", { name }), t("accounts.rejectText"), t("accounts.reject")))) return;
    const ok = await this.feedback.run(() => api.decideRegistration(this.ctx.token, account.id, { approve }).then(() => undefined));
    if (!ok) return;
    await this.load();
    this.feedback.done(t(approve ? "accounts.approved" : "accounts.rejected", { name }));
  }

  private drawAll(accounts: Account[]): void {
    this.rows.replaceChildren(...(accounts.length ? accounts.map((a) => this.accountRow(a)) : [emptyRow(COLUMNS.length, "accounts.noAccounts")]));
  }

  private accountRow(account: Account): HTMLTableRowElement {
    const self = account.id === this.ctx.me.id;
    return h(
      "tr",
      { testid: `account-${account.id}`, "data-status": account.status, "data-role": account.role },
      h("td", {}, account.display_name, self ? h("span", { class: "muted" }, ` ${t("accounts.you")}`) : null),
      h("td", {}, login(account)),
      h("td", {}, account.department ?? ""),
      h("td", {}, this.roleSelect(account)),
      h("td", { testid: `account-status-${account.id}` }, t(STATUSES[account.status])),
      h("td", {}, this.statusButton(account)),
    );
  }

  private roleSelect(account: Account): HTMLSelectElement {
    const select = h("select", {
      testid: `account-role-${account.id}`,
      "aria-label": t("accounts.roleOf", { name: account.display_name }),
      disabled: account.status !== "active",
    });
    for (const role of Object.keys(ROLES) as AccountRole[]) {
      select.append(h("option", { value: role, selected: role === account.role }, t(ROLES[role])));
    }
    select.value = account.role;
    select.addEventListener("change", () => void this.setRole(account, select.value as AccountRole));
    return select;
  }

  private async setRole(account: Account, role: AccountRole): Promise<void> {
    await this.feedback.run(() => api.setAccountRole(this.ctx.token, account.id, { role }).then(() => this.feedback.done()));
    await this.load();
  }

  /** Disable an active account, enable a disabled one; nothing for registrations. */
  private statusButton(account: Account): HTMLButtonElement | null {
    if (account.status === "active") return button(t("accounts.disable"), `account-disable-${account.id}`, () => void this.setDisabled(account, true));
    if (account.status === "disabled") return button(t("accounts.enable"), `account-enable-${account.id}`, () => void this.setDisabled(account, false));
    return null;
  }

  private async setDisabled(account: Account, disabled: boolean): Promise<void> {
    const name = account.display_name;
    if (disabled && !(await confirmAction("confirm-disable", t("accounts.disableTitle", { name }), t("accounts.disableText"), t("accounts.disable")))) return;
    await this.feedback.run(() => api.setAccountStatus(this.ctx.token, account.id, { disabled }).then(() => this.feedback.done()));
    await this.load();
  }
}
