// Modal questions in the page (never `window.confirm`): the host's requests
// to unmute or start video, confirmations, and names to type. Each resolves
// once, with the user's answer; Escape counts as "no".

import { h } from "./dom";

interface ChoiceOptions {
  testid: string;
  title: string;
  text?: string;
  confirm: string;
  cancel: string;
  /** More content between the text and the buttons (e.g. a picker). */
  body?: HTMLElement;
  /** Closes the question unanswered (as "no") when aborted. */
  dismiss?: AbortSignal;
}

function openDialog(testid: string, content: HTMLElement): HTMLDialogElement {
  const dialog = h("dialog", { class: "ask-dialog", testid, "aria-labelledby": `${testid}-title` }, content);
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

/** Asks a yes/no question; resolves `true` for `confirm`. */
export function askChoice(options: ChoiceOptions): Promise<boolean> {
  return new Promise((resolve) => {
    let answered = false;
    const answer = (value: boolean) => {
      if (answered) return;
      answered = true;
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    const dialog = openDialog(
      options.testid,
      h(
        "form",
        { method: "dialog", onsubmit: (event: Event) => (event.preventDefault(), answer(true)) },
        h("h2", { id: `${options.testid}-title` }, options.title),
        options.text ? h("p", {}, options.text) : null,
        options.body ?? null,
        h(
          "div",
          { class: "dialog-actions" },
          h("button", { type: "button", class: "secondary", testid: `${options.testid}-cancel`, onclick: () => answer(false) }, options.cancel),
          h("button", { type: "submit", class: "primary", testid: `${options.testid}-confirm` }, options.confirm),
        ),
      ),
    );
    dialog.addEventListener("close", () => answer(false));
    options.dismiss?.addEventListener("abort", () => answer(false));
  });
}

interface TextOptions {
  testid: string;
  title: string;
  label: string;
  value: string;
  maxLength: number;
  confirm: string;
}

/** Asks for a line of text; resolves the trimmed text, or `null` when cancelled or empty. */
export function askText(options: TextOptions): Promise<string | null> {
  return new Promise((resolve) => {
    let answered = false;
    const answer = (value: string | null) => {
      if (answered) return;
      answered = true;
      dialog.close();
      dialog.remove();
      resolve(value && value.trim() ? value.trim() : null);
    };
    const input = h("input", {
      testid: `${options.testid}-input`,
      maxlength: String(options.maxLength),
      value: options.value,
      "aria-label": options.label,
    });
    const dialog = openDialog(
      options.testid,
      h(
        "form",
        { method: "dialog", onsubmit: (event: Event) => (event.preventDefault(), answer(input.value)) },
        h("h2", { id: `${options.testid}-title` }, options.title),
        h("label", { class: "field" }, h("span", {}, options.label), input),
        h(
          "div",
          { class: "dialog-actions" },
          h("button", { type: "button", class: "secondary", testid: `${options.testid}-cancel`, onclick: () => answer(null) }, "Cancel 取消"),
          h("button", { type: "submit", class: "primary", testid: `${options.testid}-confirm` }, options.confirm),
        ),
      ),
    );
    dialog.addEventListener("close", () => answer(null));
    input.select();
  });
}
