// Labelled form controls shared by the landing pages: each control sits
// inside its <label>, so its accessible name is the label text.

import { h } from "./dom";

type Control = HTMLInputElement | HTMLSelectElement;

/** A label above its control. */
export function field(label: string, control: Control): HTMLLabelElement {
  return h("label", { class: "field" }, h("span", {}, label), control);
}

/** A checkbox with its label beside it. */
export function checkbox(label: string, name: string, checked: boolean): { label: HTMLLabelElement; input: HTMLInputElement } {
  const input = h("input", { type: "checkbox", name, checked });
  return { input, label: h("label", { class: "check" }, input, h("span", {}, label)) };
}

/** A <select> of `options` ([value, text] pairs) with `selected` chosen. */
export function select(name: string, options: readonly (readonly [string, string])[], selected: string): HTMLSelectElement {
  const el = h("select", { name });
  for (const [value, text] of options) el.append(h("option", { value, selected: value === selected }, text));
  el.value = selected;
  return el;
}
