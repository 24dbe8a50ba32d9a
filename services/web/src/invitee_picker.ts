// Picks colleagues from the enterprise directory (`GET /api/v1/directory`):
// type part of a name, e-mail or department, click a match to add it; each
// chosen person is a chip that removes them again. With nothing typed, the
// user's frequent contacts (常用联系人) are offered; the star beside a match
// makes someone one, or no longer one. Used by the schedule form (invitees),
// the in-meeting invitation dialog and "New chat".

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
  /** The user's frequent contacts, once loaded. */
  private frequent: DirectoryEntry[] = [];

  /** `exclude`: account ids not to offer (e.g. oneself, people already in the meeting). */
  constructor(
    private readonly token: string,
    private readonly exclude: () => Set<string> = () => new Set(),
  ) {
    this.input.addEventListener("input", () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.search(), SEARCH_DELAY_MS);
    });
    this.input.addEventListener("focus", () => {
      if (!this.input.value.trim()) this.showResults([]);
    });
    this.root = h("div", { class: "invitee-picker" }, this.chips, this.input, this.results);
    this.results.hidden = true;
    void api.frequentContacts(token).then(
      (contacts) => {
        this.frequent = contacts;
        if (!this.input.value.trim() && document.activeElement === this.input) this.showResults([]);
      },
      // Without them the picker still searches.
      () => undefined,
    );
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

  /** Shows the matches of a search, or with nothing typed the frequent contacts. */
  private showResults(found: DirectoryEntry[]): void {
    const excluded = this.exclude();
    const typed = this.input.value.trim() !== "";
    const offered = (typed ? found : this.frequent).filter((entry) => !this.chosen.has(entry.id) && !excluded.has(entry.id));
    this.results.replaceChildren(
      ...(!typed && offered.length ? [h("li", { class: "muted invitee-heading", testid: "invitee-frequent" }, "Frequent contacts 常用联系人")] : []),
      ...offered.map((entry) => this.option(entry)),
    );
    if (offered.length === 0 && typed) {
      this.results.append(h("li", { class: "empty" }, "Nobody found 未找到"));
    }
    this.results.hidden = this.results.childElementCount === 0;
  }

  private option(entry: DirectoryEntry): HTMLLIElement {
    const starred = this.frequent.some((contact) => contact.id === entry.id);
    return h(
      "li",
      { role: "option", class: "invitee-option" },
      h(
        "button",
        { type: "button", class: "link-button", testid: `invitee-option-${entry.id}`, onclick: () => this.add(entry) },
        entry.display_name,
        entry.department ? h("span", { class: "muted" }, ` · ${entry.department}`) : "",
        entry.email ? h("span", { class: "muted" }, ` · ${entry.email}`) : "",
      ),
      h(
        "button",
        {
          type: "button",
          class: `star${starred ? " on" : ""}`,
          testid: `invitee-star-${entry.id}`,
          "aria-pressed": String(starred),
          title: starred ? "Remove from frequent contacts 移出常用联系人" : "Add to frequent contacts 设为常用联系人",
          onclick: () => void this.toggleFrequent(entry, starred),
        },
        starred ? "★" : "☆",
      ),
    );
  }

  private async toggleFrequent(entry: DirectoryEntry, starred: boolean): Promise<void> {
    try {
      if (starred) await api.removeFrequentContact(this.token, entry.id);
      else await api.addFrequentContact(this.token, entry.id);
      this.frequent = starred
        ? this.frequent.filter((contact) => contact.id !== entry.id)
        : [...this.frequent, entry].sort((a, b) => a.display_name.localeCompare(b.display_name));
    } catch (error) {
      this.results.append(h("li", { class: "empty" }, error instanceof Error ? error.message : String(error)));
      return;
    }
    if (this.input.value.trim()) void this.search();
    else this.showResults([]);
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
