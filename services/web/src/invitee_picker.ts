// Picks colleagues from the enterprise directory (`GET /api/v1/directory`):
// type part of a name, e-mail or department, click a match to add it; each
// chosen person is a chip that removes them again. Used by the schedule
// form (invitees) and the in-meeting invitation dialog.

import { api } from "./api";
import { h } from "./dom";
import type { DirectoryEntry } from "./proto";
import { LIMITS } from "./proto";

const SEARCH_DELAY_MS = 200;

export class InviteePicker {
  readonly root: HTMLElement;
  private readonly chosen = new Map<string, string>();
  private readonly chips = h("div", { class: "invitee-chips", testid: "invitee-chips" });
  private readonly results = h("ul", { class: "invitee-results", testid: "invitee-results", role: "listbox", "aria-label": "Matches 搜索结果" });
  private readonly input = h("input", {
    type: "search",
    testid: "invitee-search",
    placeholder: "Search colleagues 搜索同事",
    autocomplete: "off",
    maxlength: String(LIMITS.directory_query_chars),
    "aria-label": "Search colleagues 搜索同事",
  });
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Only the answer to the latest search is shown. */
  private searchSeq = 0;

  /** `exclude`: account ids not to offer (e.g. oneself, people already in the meeting). */
  constructor(
    private readonly token: string,
    private readonly exclude: () => Set<string> = () => new Set(),
  ) {
    this.input.addEventListener("input", () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.search(), SEARCH_DELAY_MS);
    });
    this.root = h("div", { class: "invitee-picker" }, this.chips, this.input, this.results);
    this.results.hidden = true;
  }

  /** Account ids picked so far, in the order picked. */
  selected(): string[] {
    return [...this.chosen.keys()];
  }

  focus(): void {
    this.input.focus();
  }

  private async search(): Promise<void> {
    const query = this.input.value.trim();
    const seq = ++this.searchSeq;
    if (!query) {
      this.showResults([]);
      return;
    }
    try {
      const found = await api.directory(this.token, query);
      if (seq === this.searchSeq) this.showResults(found);
    } catch (error) {
      if (seq !== this.searchSeq) return;
      this.results.replaceChildren(h("li", { class: "empty" }, error instanceof Error ? error.message : String(error)));
      this.results.hidden = false;
    }
  }

  private showResults(found: DirectoryEntry[]): void {
    const excluded = this.exclude();
    const offered = found.filter((entry) => !this.chosen.has(entry.id) && !excluded.has(entry.id));
    this.results.replaceChildren(
      ...offered.map((entry) =>
        h(
          "li",
          { role: "option" },
          h(
            "button",
            { type: "button", class: "link-button", testid: `invitee-option-${entry.id}`, onclick: () => this.add(entry) },
            entry.display_name,
            entry.department ? h("span", { class: "muted" }, ` · ${entry.department}`) : "",
            entry.email ? h("span", { class: "muted" }, ` · ${entry.email}`) : "",
          ),
        ),
      ),
    );
    if (offered.length === 0 && this.input.value.trim()) {
      this.results.append(h("li", { class: "empty" }, "Nobody found 未找到"));
    }
    this.results.hidden = this.results.childElementCount === 0;
  }

  private add(entry: DirectoryEntry): void {
    this.chosen.set(entry.id, entry.display_name);
    this.input.value = "";
    this.showResults([]);
    this.renderChips();
    this.input.focus();
  }

  private renderChips(): void {
    this.chips.replaceChildren(
      ...[...this.chosen].map(([id, name]) =>
        h(
          "button",
          {
            type: "button",
            class: "chip",
            testid: `invitee-chip-${id}`,
            title: "Remove 移除",
            onclick: () => {
              this.chosen.delete(id);
              this.renderChips();
            },
          },
          `${name} ×`,
        ),
      ),
    );
  }
}
