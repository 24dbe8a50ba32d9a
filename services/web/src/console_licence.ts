// The console's Licence tab: what the enterprise's licence allows, how much
// of it is in use now, and the busiest moment so far. It reads
// `GET /admin/licence` again every 5 seconds while it is shown.

import { api } from "./api";
import { Feedback, formatTime, section, type ConsoleContext, type ConsoleTab } from "./console_ui";
import { h } from "./dom";
import { t, type StringKey } from "./i18n";
import type { LicenceTerms, LicenceUse } from "./proto";

export const LICENCE_REFRESH_MS = 5_000;

function termsText(terms: LicenceTerms): string {
  switch (terms.kind) {
    case "unlimited":
      return t("licence.unlimited");
    case "concurrent_ports":
      return t("licence.ports", { ports: terms.ports });
    case "cloud_rooms":
      return t("licence.rooms", { rooms: terms.rooms, capacity: terms.capacity });
  }
}

/** The limit on participants / meetings at once, if the licence has one. */
function limits(terms: LicenceTerms): { participants?: number; meetings?: number } {
  if (terms.kind === "concurrent_ports") return { participants: terms.ports };
  if (terms.kind === "cloud_rooms") return { meetings: terms.rooms };
  return {};
}

function usage(used: number, limit: number | undefined): string {
  return limit === undefined ? String(used) : t("licence.ofLimit", { used, limit });
}

function peak(count: number, at: number | null): string {
  return at === null ? String(count) : t("licence.peakAt", { count, time: formatTime(at) });
}

export function licenceTab(ctx: ConsoleContext): ConsoleTab {
  return new LicenceTab(ctx);
}

class LicenceTab implements ConsoleTab {
  readonly root: HTMLElement;
  private readonly feedback: Feedback;
  private readonly facts = h("dl", { class: "console-facts", testid: "licence-facts", "aria-busy": "true" });
  private readonly updated = h("p", { class: "muted", testid: "licence-updated" });
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(private readonly ctx: ConsoleContext) {
    this.feedback = new Feedback(ctx, "licence");
    this.root = h("div", { class: "console-tab-body", testid: "licence-tab" }, ...this.feedback.nodes(), section(t("tab.licence"), this.facts, this.updated));
    this.timer = setInterval(() => this.tick(), LICENCE_REFRESH_MS);
    void this.load();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Every 5 s while shown; a page that went elsewhere stops its timer. */
  private tick(): void {
    if (!this.root.isConnected) this.stop();
    else void this.load();
  }

  private async load(): Promise<void> {
    await this.feedback.run(async () => {
      this.draw(await api.licence(this.ctx.token));
      this.feedback.done();
    });
    this.facts.setAttribute("aria-busy", "false");
  }

  private draw(use: LicenceUse): void {
    const limit = limits(use.terms);
    this.facts.dataset.kind = use.terms.kind;
    this.facts.replaceChildren(
      ...fact("licence.terms", "licence-terms", use.terms.kind, termsText(use.terms)),
      ...fact("licence.participants", "licence-participants", use.participants, usage(use.participants, limit.participants)),
      ...fact("licence.meetings", "licence-meetings", use.meetings, usage(use.meetings, limit.meetings)),
      ...fact("licence.peakParticipants", "licence-peak-participants", use.peak_participants, peak(use.peak_participants, use.peak_participants_at)),
      ...fact("licence.peakMeetings", "licence-peak-meetings", use.peak_meetings, peak(use.peak_meetings, use.peak_meetings_at)),
    );
    this.updated.textContent = t("licence.updated", { time: new Date().toTimeString().slice(0, 8) });
  }
}

/** A term and its value; `data-value` carries the raw figure. */
function fact(label: StringKey, testid: string, value: number | string, shown: string): HTMLElement[] {
  return [h("dt", {}, t(label)), h("dd", { testid, "data-value": value }, shown)];
}
