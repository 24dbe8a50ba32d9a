// `/console`: the management console of tenant administrators (F-ADM).
// The page shell: who may see it (signed out: sign in first; a member: a
// clear "administrators only"), the header with the language switch, and
// the tabs, each in its own module. The tab shown is kept in the address
// (`/console#licence`), so a reload stays on it.

import { ApiRequestError, api } from "./api";
import { accountsTab } from "./console_accounts";
import { auditTab } from "./console_audit";
import { departmentsTab } from "./console_departments";
import { devicesTab } from "./console_devices";
import { keysTab } from "./console_keys";
import { licenceTab } from "./console_licence";
import { mediaTab } from "./console_media";
import { roomsTab } from "./console_rooms";
import type { ConsoleContext, ConsoleTab } from "./console_ui";
import { h, show } from "./dom";
import { LANGUAGES, currentLanguage, setLanguage, t, type Language, type StringKey } from "./i18n";
import { exposeForInspection } from "./inspection";
import { localProfile } from "./local_profile";
import type { Profile, Session } from "./proto";

export interface ConsoleHandlers {
  /** Go to the home page (where one signs in). */
  onHome: () => void;
}

const TABS = ["accounts", "departments", "devices", "rooms", "media", "licence", "keys", "audit"] as const;
type TabId = (typeof TABS)[number];

const TAB_LABELS: Record<TabId, StringKey> = {
  accounts: "tab.accounts",
  departments: "tab.departments",
  devices: "tab.devices",
  rooms: "tab.rooms",
  media: "tab.media",
  licence: "tab.licence",
  keys: "tab.keys",
  audit: "tab.audit",
};

const OPEN_TAB: Record<TabId, (ctx: ConsoleContext) => ConsoleTab> = {
  accounts: accountsTab,
  departments: departmentsTab,
  devices: devicesTab,
  rooms: roomsTab,
  media: mediaTab,
  licence: licenceTab,
  keys: keysTab,
  audit: auditTab,
};

function tabFromAddress(): TabId {
  const wanted = location.hash.slice(1);
  return (TABS as readonly string[]).includes(wanted) ? (wanted as TabId) : "accounts";
}

/** Draws the console into `root`: after checking the session and the role. */
export function renderConsolePage(root: HTMLElement, handlers: ConsoleHandlers): void {
  exposeForInspection({ state: "console" });
  const redraw = () => renderConsolePage(root, handlers);
  const session = localProfile.session();
  if (!session) {
    showNotice(root, handlers, redraw, "console-signed-out", t("console.signInFirst"), "console.goSignIn");
    return;
  }
  const loading = h("p", { class: "console-loading", testid: "console-loading" }, t("console.loading"));
  show(root, frame(handlers, redraw, loading));
  void api.profile(session.token).then(
    (profile) => loading.isConnected && admit(root, handlers, session, profile),
    (e: unknown) => loading.isConnected && refuse(root, handlers, redraw, e),
  );
}

function admit(root: HTMLElement, handlers: ConsoleHandlers, session: Session, profile: Profile): void {
  if (profile.account.role !== "tenant_admin") {
    showNotice(root, handlers, () => renderConsolePage(root, handlers), "console-admins-only", t("console.adminsOnly"), "console.goHome");
    return;
  }
  new ConsolePage(root, handlers, session.token, profile).draw(tabFromAddress());
}

function refuse(root: HTMLElement, handlers: ConsoleHandlers, redraw: () => void, e: unknown): void {
  if (e instanceof ApiRequestError && e.status === 401) {
    localProfile.forgetSession();
    showNotice(root, handlers, redraw, "console-signed-out", t("console.signInAgain"), "console.goSignIn");
    return;
  }
  const retry = h("button", { type: "button", class: "secondary console-button", testid: "console-retry", onclick: redraw }, t("common.retry"));
  const message = h("div", { class: "error", role: "alert", testid: "console-error" }, e instanceof Error ? e.message : String(e));
  show(root, frame(handlers, redraw, h("section", { class: "card console-card" }, message, retry)));
}

/** A page that only says something, with a link home. */
function showNotice(root: HTMLElement, handlers: ConsoleHandlers, redraw: () => void, testid: string, text: string, link: StringKey): void {
  const card = h(
    "section",
    { class: "card console-card console-notice", testid },
    h("h1", {}, t("console.title")),
    h("p", { role: "alert" }, text),
    homeLink(handlers, link, `${testid}-home`),
  );
  show(root, frame(handlers, redraw, card));
}

function homeLink(handlers: ConsoleHandlers, label: StringKey, testid: string): HTMLAnchorElement {
  const go = (event: Event) => {
    event.preventDefault();
    handlers.onHome();
  };
  return h("a", { href: "/", class: "console-home", testid, onclick: go }, t(label));
}

/** The header (brand, home, language) above `content`; the document's title and language follow. */
function frame(handlers: ConsoleHandlers, redraw: () => void, content: HTMLElement, extra?: HTMLElement): HTMLElement {
  document.title = t("console.documentTitle");
  document.documentElement.lang = currentLanguage() === "zh" ? "zh-CN" : "en";
  const header = h(
    "header",
    { class: "landing-header console-header" },
    h("div", { class: "brand" }, h("span", { class: "logo" }, t("brand.logo")), t("brand.name")),
    extra ?? null,
    h("div", { class: "console-header-actions" }, languageSwitch(redraw), homeLink(handlers, "console.home", "console-home")),
  );
  return h("div", { class: "landing console", testid: "console-page" }, header, content);
}

function languageSwitch(redraw: () => void): HTMLLabelElement {
  const select = h("select", { testid: "console-language", "aria-label": t("console.language") });
  for (const language of LANGUAGES) {
    select.append(h("option", { value: language, selected: language === currentLanguage() }, t(`language.${language}`)));
  }
  select.value = currentLanguage();
  select.addEventListener("change", () => {
    setLanguage(select.value as Language);
    redraw();
  });
  return h("label", { class: "console-language" }, h("span", {}, t("console.language")), select);
}

/** The console of a signed-in administrator: header, tabs, the open tab. */
class ConsolePage {
  private current: ConsoleTab | null = null;
  private readonly ctx: ConsoleContext;

  constructor(
    private readonly root: HTMLElement,
    private readonly handlers: ConsoleHandlers,
    token: string,
    private readonly profile: Profile,
  ) {
    this.ctx = { token, me: profile.account, signedOut: () => this.signedOut() };
  }

  /** Draws the whole page (again, e.g. in another language) with `tab` open. */
  draw(tab: TabId): void {
    this.current?.stop?.();
    const tabs = h("nav", { class: "console-tabs", role: "tablist", "aria-label": t("console.title") });
    const panel = h("div", { class: "console-panel", role: "tabpanel" });
    const who = h(
      "div",
      { class: "console-who" },
      h("span", { testid: "console-tenant" }, t("console.tenant", { name: this.profile.tenant_name })),
      h("span", {}, t("console.signedInAs", { name: this.profile.account.display_name })),
    );
    const card = h("section", { class: "card console-card" }, h("h1", {}, t("console.title")), tabs, panel);
    show(this.root, frame(this.handlers, () => this.draw(tabFromAddress()), card, who));
    this.open(tab, tabs, panel);
  }

  private open(tab: TabId, tabs: HTMLElement, panel: HTMLElement): void {
    this.current?.stop?.();
    history.replaceState(null, "", `/console#${tab}`);
    tabs.replaceChildren(...TABS.map((id) => this.tabButton(id, id === tab, tabs, panel)));
    this.current = OPEN_TAB[tab](this.ctx);
    panel.dataset.testid = `console-panel-${tab}`;
    panel.replaceChildren(this.current.root);
  }

  private tabButton(id: TabId, selected: boolean, tabs: HTMLElement, panel: HTMLElement): HTMLButtonElement {
    return h(
      "button",
      {
        type: "button",
        role: "tab",
        class: "console-tab",
        testid: `console-tab-${id}`,
        "aria-selected": String(selected),
        onclick: () => this.open(id, tabs, panel),
      },
      t(TAB_LABELS[id]),
    );
  }

  private signedOut(): void {
    this.current?.stop?.();
    this.current = null;
    localProfile.forgetSession();
    const redraw = () => renderConsolePage(this.root, this.handlers);
    showNotice(this.root, this.handlers, redraw, "console-signed-out", t("console.signInAgain"), "console.goSignIn");
  }
}
