// Live streaming in the meeting (F-REC-2, the manual's 3.3.4 会议直播): the
// indicator everyone sees at the top left, whose drop-down watches, copies
// the watch link and (for hosts) stops the stream, and the host's "Live
// stream" button in the footer, whose dialog asks for the push address,
// stream key and watch address. Both draw only `MeetingState.streaming`;
// a start waits in the dialog for the server's new state (or its error).

import { h } from "./dom";
import { field } from "./form_fields";
import { localProfile } from "./local_profile";
import type { ErrorCode, HostCommand, LiveStream } from "./proto";
import { LASTING_REFUSALS } from "./recordings";
import { STOP_STREAMING, STREAMING_INDICATOR, liveMenuEntries, startStreamingCommand } from "./streaming";

/** How long a start waits for the server's answer before the dialog takes clicks again. */
const PENDING_TIMEOUT_MS = 10_000;

const OFF: LiveStream = { state: "off" };

/** The red "Live" tag at the top left and its drop-down; hidden while not streaming. */
export class LiveIndicator {
  private readonly label = h("span", { testid: "live-label", role: "status" });
  private readonly watch = h(
    "a",
    { role: "menuitem", testid: "live-watch", target: "_blank", rel: "noopener noreferrer", onclick: () => this.close() },
    "Watch 观看",
  );
  private readonly copy = h(
    "button",
    { type: "button", role: "menuitem", testid: "live-copy", onclick: () => void this.copyLink() },
    "Copy link 复制直播链接",
  );
  private readonly stop = h(
    "button",
    { type: "button", role: "menuitem", class: "danger", testid: "live-stop", onclick: () => this.stopStream() },
    "Stop 停止直播",
  );
  private readonly menu = h("div", { class: "menu live-menu-items", role: "menu" }, this.watch, this.copy, this.stop);
  readonly root = h(
    "details",
    { class: "live-menu", testid: "live-indicator" },
    h(
      "summary",
      { class: "tag live" },
      h("span", { class: "live-dot", "aria-hidden": "true" }),
      this.label,
    ),
    this.menu,
  );
  private stream: LiveStream = OFF;

  constructor(
    private readonly send: (command: HostCommand) => void,
    private readonly say: (text: string) => void,
  ) {
    // A click anywhere else closes the menu.
    document.addEventListener("click", (event) => {
      if (this.root.open && !this.root.contains(event.target as Node)) this.close();
    });
    this.show(OFF, false);
  }

  show(stream: LiveStream, isHost: boolean): void {
    this.stream = stream;
    const text = STREAMING_INDICATOR[stream.state];
    this.root.hidden = text === null;
    this.root.dataset.state = stream.state;
    this.label.textContent = text ?? "";
    const entries = liveMenuEntries(stream, isHost);
    this.watch.hidden = !entries.includes("watch");
    this.copy.hidden = !entries.includes("copy");
    this.stop.hidden = !entries.includes("stop");
    if (stream.watch_url) this.watch.href = stream.watch_url;
    else this.watch.removeAttribute("href");
    this.root.classList.toggle("no-menu", entries.length === 0);
    if (text === null || entries.length === 0) this.close();
  }

  private close(): void {
    this.root.open = false;
  }

  private async copyLink(): Promise<void> {
    const url = this.stream.watch_url;
    this.close();
    if (!url) return;
    try {
      await navigator.clipboard.writeText(url);
      this.say("Live link copied. 直播链接已复制。");
    } catch {
      this.say(url);
    }
  }

  private stopStream(): void {
    this.close();
    this.send(STOP_STREAMING);
  }
}

/**
 * The host's "Live stream" button and its dialog; shown to hosts of a
 * meeting whose settings allow live streaming, while it is not streamed.
 */
export class StreamingControls {
  private readonly button = h(
    "button",
    { type: "button", class: "control stream-open", testid: "stream-open", onclick: () => this.openDialog() },
    h("span", { class: "live-dot", "aria-hidden": "true" }),
    h("span", {}, "Live stream 直播"),
  );
  readonly root = h("span", { class: "control-wrap streaming-controls" }, this.button);
  private dialog: StreamDialog | null = null;
  /** Why this meeting cannot be streamed, once the server said so. */
  private refusal: string | null = null;
  private stream: LiveStream = OFF;
  private visible = false;

  constructor(
    private readonly meetingNumber: string,
    private readonly send: (command: HostCommand) => void,
  ) {
    this.draw();
  }

  /** The meeting's live stream, whether it may be streamed, and the viewer's role, as the server last said. */
  render(stream: LiveStream, allowed: boolean, isHost: boolean): void {
    this.stream = stream;
    this.visible = isHost && allowed;
    // Started (the server took it), or no longer this viewer's to start: the dialog is done.
    if (this.dialog && (stream.state !== "off" || !this.visible)) this.closeDialog();
    this.draw();
  }

  /** An error from the server: a start waiting in the dialog takes it (`true`), else it is not about streaming. */
  refused(code: ErrorCode, message: string): boolean {
    if (!this.dialog?.pending) return false;
    if (LASTING_REFUSALS.has(code)) this.refusal = message;
    this.dialog.refused(message);
    this.draw();
    return true;
  }

  private openDialog(): void {
    if (this.dialog || this.refusal) return;
    const saved = localProfile.streamAddresses(this.meetingNumber);
    this.dialog = new StreamDialog(saved, {
      start: (form) => {
        localProfile.rememberStreamAddresses(this.meetingNumber, { pushUrl: form.pushUrl.trim(), watchUrl: form.watchUrl.trim() });
        this.send(startStreamingCommand(form));
      },
      cancelled: () => {
        this.dialog = null;
      },
    });
  }

  private closeDialog(): void {
    const dialog = this.dialog;
    this.dialog = null;
    dialog?.close();
  }

  private draw(): void {
    this.root.hidden = !this.visible || this.stream.state !== "off";
    this.button.disabled = this.refusal !== null;
    // A disabled button shows no tooltip in every browser: the wrapper carries it too.
    const tip = this.refusal ?? "";
    this.root.title = tip;
    this.button.title = tip;
    if (tip) this.button.setAttribute("aria-description", tip);
    else this.button.removeAttribute("aria-description");
  }
}

interface StreamDialogActions {
  start(form: { pushUrl: string; streamKey: string; watchUrl: string }): void;
  cancelled(): void;
}

/** The modal that asks for the push address, stream key and watch address. */
class StreamDialog {
  pending = false;
  private readonly pushUrl: HTMLInputElement;
  private readonly streamKey = h("input", {
    type: "password",
    testid: "stream-key",
    required: true,
    maxlength: "256",
    autocomplete: "off",
    spellcheck: "false",
  });
  private readonly watchUrl: HTMLInputElement;
  private readonly error = h("p", { class: "error", role: "alert", testid: "stream-error" });
  private readonly startButton = h("button", { type: "submit", class: "primary", testid: "stream-start" }, "Start streaming 开始直播");
  private readonly dialog: HTMLDialogElement;
  private pendingTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(saved: { pushUrl: string; watchUrl: string }, private readonly actions: StreamDialogActions) {
    this.pushUrl = h("input", {
      type: "text",
      testid: "stream-push-url",
      required: true,
      maxlength: "512",
      autocomplete: "off",
      spellcheck: "false",
      placeholder: "rtmp://live.example.com/app",
      value: saved.pushUrl,
    });
    this.watchUrl = h("input", {
      type: "url",
      testid: "stream-watch-url",
      maxlength: "1024",
      autocomplete: "off",
      placeholder: "https://live.example.com/watch/…",
      value: saved.watchUrl,
    });
    const form = h(
      "form",
      { method: "dialog", onsubmit: (event: Event) => (event.preventDefault(), this.submit()) },
      h("h2", { id: "stream-dialog-title" }, "Live stream 会议直播"),
      h(
        "p",
        {},
        "The speaker view and everyone's audio go to the streaming service. 演讲者视图和所有人的声音将推送到直播平台。",
      ),
      field("Push address (RTMP / RTMPS) 推流地址", this.pushUrl),
      field("Stream key 推流密钥", this.streamKey),
      field("Watch address (optional) 观看地址（可选）", this.watchUrl),
      this.error,
      h(
        "div",
        { class: "dialog-actions" },
        h("button", { type: "button", class: "secondary", testid: "stream-cancel", onclick: () => this.close() }, "Cancel 取消"),
        this.startButton,
      ),
    );
    this.dialog = h("dialog", { class: "ask-dialog stream-dialog", testid: "stream-dialog", "aria-labelledby": "stream-dialog-title" }, form);
    document.body.append(this.dialog);
    this.dialog.showModal();
    // Escape closes the dialog too.
    this.dialog.addEventListener("close", () => this.close());
    (saved.pushUrl ? this.streamKey : this.pushUrl).focus();
  }

  /** The server refused the start: say why and take clicks again. */
  refused(message: string): void {
    this.setPending(false);
    this.error.textContent = message;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.pendingTimer);
    this.dialog.close();
    this.dialog.remove();
    this.actions.cancelled();
  }

  private submit(): void {
    if (this.pending) return;
    this.error.textContent = "";
    this.setPending(true);
    this.actions.start({ pushUrl: this.pushUrl.value, streamKey: this.streamKey.value, watchUrl: this.watchUrl.value });
    // The server answers with a new state or an error; should neither come, take clicks again.
    this.pendingTimer = setTimeout(() => this.setPending(false), PENDING_TIMEOUT_MS);
  }

  private setPending(pending: boolean): void {
    this.pending = pending;
    clearTimeout(this.pendingTimer);
    this.startButton.disabled = pending;
    this.startButton.textContent = pending ? "Starting… 正在开始…" : "Start streaming 开始直播";
  }
}
