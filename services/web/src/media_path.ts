// Whether media still gets through, and when to ask the server to connect it
// anew (`restart_media`): the signaling socket may live on while the media
// path dies (a firewall starts dropping UDP, a NAT forgets the mapping, the
// route changes). A connection that failed, or stayed disconnected longer
// than a short blip, is replaced by fresh ones, which gather candidates again
// and may find another way (ICE-TCP, TURN). While the path stays dead the
// request is repeated, further and further apart.
//
// `decide` is the policy, a pure function of what was observed; `PathWatch`
// observes the connections and keeps the time.

/** How long a connection may stay `disconnected` before media is restarted:
 * browsers report a few seconds without answers as disconnected and recover
 * on their own when the blip ends. */
export const DISCONNECTED_GRACE_MS = 4000;

/** How long after a restart was asked for, while the connections are still
 * not up, it is asked for again: the n-th repeat waits the n-th entry (the
 * last one from then on). Longer than the server's shortest interval
 * between two restarts (`LIMITS.media_restart_interval_ms`). */
export const RETRY_AFTER_MS = [10_000, 20_000, 30_000];

export interface PathObservation {
  now: number;
  /** The states of the connections that were negotiated (have a remote description). */
  states: RTCPeerConnectionState[];
  /** Since when a connection has been `disconnected` (null: none is). */
  disconnectedSince: number | null;
  /** When a restart was last asked for while the path was down (null: not since it was last up). */
  lastRequest: number | null;
  /** Restarts asked for since the path was last up. */
  attempts: number;
}

export type PathDecision =
  /** Every negotiated connection is up. */
  | { kind: "up" }
  /** Nothing to do now; look again in `ms` (null: at the next change). */
  | { kind: "wait"; ms: number | null }
  /** Ask the server to restart media now. */
  | { kind: "restart" };

export function decide(o: PathObservation): PathDecision {
  if (o.states.length > 0 && o.states.every((state) => state === "connected")) return { kind: "up" };
  if (o.lastRequest !== null) {
    const delay = RETRY_AFTER_MS[Math.min(Math.max(o.attempts - 1, 0), RETRY_AFTER_MS.length - 1)];
    const waited = o.now - o.lastRequest;
    return waited >= delay ? { kind: "restart" } : { kind: "wait", ms: delay - waited };
  }
  if (o.states.includes("failed")) return { kind: "restart" };
  if (o.disconnectedSince !== null) {
    const waited = o.now - o.disconnectedSince;
    return waited >= DISCONNECTED_GRACE_MS ? { kind: "restart" } : { kind: "wait", ms: DISCONNECTED_GRACE_MS - waited };
  }
  // Not negotiated yet, or connecting for the first time: the browser fails
  // a connection that cannot connect.
  return { kind: "wait", ms: null };
}

/**
 * Watches a participant's connections (`connections()`, read anew at each
 * look, since a restart replaces them) and calls `restart` when `decide`
 * says so. `look()` is called on every connection state change.
 */
export class PathWatch {
  private disconnectedSince: number | null = null;
  private lastRequest: number | null = null;
  private attempts = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  /** Restarts asked for so far. */
  requested = 0;

  constructor(
    private readonly connections: () => RTCPeerConnection[],
    private readonly restart: () => void,
  ) {}

  look(): void {
    if (this.stopped) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const now = Date.now();
    const states = this.connections()
      .filter((pc) => pc.remoteDescription !== null)
      .map((pc) => pc.connectionState);
    if (!states.includes("disconnected")) this.disconnectedSince = null;
    else this.disconnectedSince ??= now;
    const decision = decide({ now, states, disconnectedSince: this.disconnectedSince, lastRequest: this.lastRequest, attempts: this.attempts });
    switch (decision.kind) {
      case "up":
        this.lastRequest = null;
        this.attempts = 0;
        return;
      case "wait":
        if (decision.ms !== null) this.timer = setTimeout(() => this.look(), decision.ms);
        return;
      case "restart":
        this.lastRequest = now;
        this.attempts += 1;
        this.requested += 1;
        this.disconnectedSince = null;
        console.warn(`yunhui: media path down (${states.join(", ")}); asking the server to restart media (attempt ${this.attempts})`);
        this.restart();
        this.look();
        return;
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
