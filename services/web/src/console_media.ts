// The console's Recording tab (录制与直播): whether the enterprise's hosts may
// record meetings in the cloud and stream them live, and how long recordings
// are kept. What the licence does not include shows as such and cannot be
// switched on; the retention is the licence's unless the administrator
// chooses fewer days (`GET`/`PUT /admin/media-policy`).

import { api } from "./api";
import { Feedback, section, type ConsoleContext, type ConsoleTab } from "./console_ui";
import { h } from "./dom";
import { t } from "./i18n";
import type { MediaPolicy } from "./proto";
import { LIMITS } from "./proto";

export function mediaTab(ctx: ConsoleContext): ConsoleTab {
  return new MediaTab(ctx);
}

class MediaTab implements ConsoleTab {
  readonly root: HTMLElement;
  private readonly feedback: Feedback;
  private readonly recording = h("input", { type: "checkbox", testid: "media-recording" });
  private readonly streaming = h("input", { type: "checkbox", testid: "media-streaming" });
  private readonly recordingNote = h("span", { class: "muted", testid: "media-recording-note" });
  private readonly streamingNote = h("span", { class: "muted", testid: "media-streaming-note" });
  /** Empty: the licence's retention. */
  private readonly retention = h("input", { type: "number", min: "1", step: "1", testid: "media-retention", "aria-label": t("media.retention") });
  private readonly retentionNote = h("p", { class: "muted", testid: "media-retention-note" });
  private readonly save = h("button", { type: "submit", class: "primary console-button", testid: "media-save" }, t("common.save"));

  constructor(private readonly ctx: ConsoleContext) {
    this.feedback = new Feedback(ctx, "media");
    const form = h(
      "form",
      { class: "console-form", testid: "media-form", "aria-busy": "true" },
      h("label", { class: "console-check" }, this.recording, t("media.recording"), " ", this.recordingNote),
      h("label", { class: "console-check" }, this.streaming, t("media.streaming"), " ", this.streamingNote),
      h("label", { class: "field" }, h("span", {}, t("media.retention")), this.retention),
      this.retentionNote,
      h("div", { class: "item-actions" }, this.save),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.submit(form);
    });
    this.root = h("div", { class: "console-tab-body", testid: "media-tab" }, ...this.feedback.nodes(), section(t("tab.media"), form));
    void this.feedback.run(async () => this.draw(await api.mediaPolicy(ctx.token))).then(() => form.setAttribute("aria-busy", "false"));
  }

  private draw(policy: MediaPolicy): void {
    this.recording.checked = policy.recording;
    this.recording.disabled = !policy.recording_licensed;
    this.recordingNote.textContent = policy.recording_licensed ? "" : t("media.notLicensed");
    this.streaming.checked = policy.streaming;
    this.streaming.disabled = !policy.streaming_licensed;
    this.streamingNote.textContent = policy.streaming_licensed ? "" : t("media.notLicensed");
    const max = policy.max_retention_days ?? LIMITS.retention_days;
    this.retention.max = String(max);
    this.retention.value = policy.retention_days === null ? "" : String(policy.retention_days);
    this.retention.placeholder = policy.max_retention_days === null ? t("media.keptForever") : t("media.days", { days: policy.max_retention_days });
    this.retentionNote.dataset.days = policy.effective_retention_days === null ? "" : String(policy.effective_retention_days);
    this.retentionNote.textContent =
      (policy.effective_retention_days === null ? t("media.keptNow") : t("media.keptDays", { days: policy.effective_retention_days })) +
      " " +
      t("media.retentionHelp", { max });
  }

  private async submit(form: HTMLFormElement): Promise<void> {
    const typed = this.retention.value.trim();
    this.save.disabled = true;
    form.setAttribute("aria-busy", "true");
    await this.feedback.run(async () => {
      const policy = await api.setMediaPolicy(this.ctx.token, {
        recording: this.recording.checked,
        streaming: this.streaming.checked,
        retention_days: typed === "" ? null : Number(typed),
      });
      this.draw(policy);
      this.feedback.done(t("media.saved"));
    });
    this.save.disabled = false;
    form.setAttribute("aria-busy", "false");
  }
}
