// Cloud recording in the meeting (F-REC-1): the indicator everyone sees in
// the header and the host's Record / Pause / Resume / Stop buttons in the
// footer. Both draw only `MeetingState.recording`; a click waits for the
// server's new state (or its error) before another is taken.

import { h } from "./dom";
import type { ErrorCode, HostCommand, RecordingState } from "./proto";
import { LASTING_REFUSALS, RECORDING_ACTIONS, RECORDING_STATES, type RecordingAction } from "./recordings";

/** How long a click waits for the server's answer before the buttons take clicks again. */
const PENDING_TIMEOUT_MS = 5000;

/** The red dot and "Recording" / "Recording paused", hidden when not recording. */
export class RecordingIndicator {
  private readonly label = h("span", { testid: "recording-label" });
  readonly root = h(
    "span",
    { class: "tag recording", testid: "recording-indicator", role: "status" },
    h("span", { class: "recording-dot", "aria-hidden": "true" }),
    this.label,
  );

  constructor() {
    this.show("off");
  }

  show(state: RecordingState): void {
    const text = RECORDING_STATES[state].indicator;
    this.root.hidden = text === null;
    this.root.dataset.state = state;
    this.label.textContent = text ?? "";
  }
}

/** The host's recording buttons; hidden for everyone else. */
export class RecordingControls {
  readonly root = h("span", { class: "control-wrap recording-controls", testid: "recording-controls" });
  private readonly buttons = new Map<RecordingAction, HTMLButtonElement>();
  /** A command sent and not yet answered. */
  private pending: RecordingAction | null = null;
  /** Why this meeting cannot be recorded, once the server said so. */
  private refusal: string | null = null;
  private state: RecordingState = "off";
  private isHost = false;
  private pendingTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly send: (command: HostCommand) => void) {
    for (const [action, { label }] of Object.entries(RECORDING_ACTIONS) as [RecordingAction, { label: string }][]) {
      const button = h(
        "button",
        { type: "button", class: `control record-${action}`, testid: `record-${action}`, onclick: () => this.click(action) },
        h("span", { class: "recording-dot", "aria-hidden": "true" }),
        h("span", {}, label),
      );
      this.buttons.set(action, button);
      this.root.append(button);
    }
    this.draw();
  }

  /** The meeting's recording state and the viewer's role, as the server last said. */
  render(state: RecordingState, isHost: boolean): void {
    if (state !== this.state) this.pending = null;
    this.state = state;
    this.isHost = isHost;
    this.draw();
  }

  /** An error from the server: it answers the command sent, if any. */
  refused(code: ErrorCode, message: string): void {
    if (this.pending === "start" && LASTING_REFUSALS.has(code)) this.refusal = message;
    this.pending = null;
    this.draw();
  }

  private click(action: RecordingAction): void {
    this.pending = action;
    this.draw();
    this.send(RECORDING_ACTIONS[action].command);
    // The server answers with a new state or an error; should neither come, take clicks again.
    clearTimeout(this.pendingTimer);
    this.pendingTimer = setTimeout(() => {
      this.pending = null;
      this.draw();
    }, PENDING_TIMEOUT_MS);
  }

  private draw(): void {
    this.root.hidden = !this.isHost;
    const shown = RECORDING_STATES[this.state].actions;
    for (const [action, button] of this.buttons) {
      button.hidden = !shown.includes(action);
      button.disabled = this.pending !== null || (action === "start" && this.refusal !== null);
    }
    // A disabled button shows no tooltip in every browser: the wrapper carries it too.
    const tip = this.state === "off" && this.refusal ? this.refusal : "";
    this.root.title = tip;
    const start = this.buttons.get("start");
    start?.setAttribute("title", tip);
    if (tip) start?.setAttribute("aria-description", tip);
    else start?.removeAttribute("aria-description");
  }
}
