// "Copy invitation" (F-MTG-5): the server's invitation text for a scheduled
// meeting, in Chinese or English, in a modal dialog with a Copy button.

import { ApiRequestError, api } from "./api";
import { h } from "./dom";
import type { Session } from "./proto";

type Lang = "zh" | "en";

export function openInvitationDialog(session: Session, meetingId: string): HTMLDialogElement {
  const text = h("textarea", { class: "invitation-text", readonly: true, rows: "16", "aria-label": "Invitation text 邀请信息" });
  const status = h("p", { class: "status", role: "status", "aria-live": "polite" });
  const langButtons = (["zh", "en"] as const).map((lang) =>
    h("button", { type: "button", class: "toggle", "aria-pressed": "false", onclick: () => void load(lang) }, lang === "zh" ? "中文" : "English"),
  );

  async function load(lang: Lang): Promise<void> {
    langButtons.forEach((b, i) => b.setAttribute("aria-pressed", String((i === 0) === (lang === "zh"))));
    status.textContent = "Loading… 加载中";
    try {
      text.value = await api.invitation(session.token, meetingId, lang);
      status.textContent = "";
    } catch (error) {
      text.value = "";
      status.textContent = error instanceof ApiRequestError ? error.message : String(error);
    }
  }

  async function copy(): Promise<void> {
    try {
      await navigator.clipboard.writeText(text.value);
    } catch {
      // No clipboard permission: fall back to the selection.
      text.select();
      document.execCommand("copy");
    }
    status.textContent = "Copied 已复制";
  }

  const dialog = h(
    "dialog",
    { class: "ask-dialog invitation-dialog", "aria-labelledby": "invitation-title", testid: "invitation-dialog" },
    h("h2", { id: "invitation-title" }, "Invitation 会议邀请"),
    h("div", { class: "lang-toggle", role: "group", "aria-label": "Language 语言" }, ...langButtons),
    text,
    status,
    h(
      "div",
      { class: "dialog-actions" },
      h("button", { class: "primary", type: "button", onclick: () => void copy() }, "Copy 复制"),
      h("button", { class: "secondary", type: "button", onclick: () => dialog.close() }, "Close 关闭"),
    ),
  );
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  void load(document.documentElement.lang.startsWith("zh") ? "zh" : "en");
  return dialog;
}
