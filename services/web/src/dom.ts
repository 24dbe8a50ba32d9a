// A tiny element builder so views read as a tree instead of imperative DOM calls.

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | number | boolean | EventListener | undefined>;

/**
 * Creates an element. Attribute rules: `testid` becomes `data-testid`,
 * `on<event>` functions become listeners, `true` sets an empty attribute,
 * `false`/`undefined` leave it out.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") {
      el.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "testid") {
      el.dataset.testid = String(value);
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child);
  }
  return el;
}

/** Replaces everything in `root` with `view`. */
export function show(root: HTMLElement, view: Node): void {
  root.replaceChildren(view);
}

/** "123456789" -> "123 456 789" (how meeting numbers are read out). */
export function formatMeetingNumber(number: string): string {
  const digits = number.replace(/\D/g, "");
  return digits.replace(/(\d{3})(?=\d)/g, "$1 ").trim();
}
