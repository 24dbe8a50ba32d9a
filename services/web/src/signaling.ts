// The WebSocket signaling channel (at the URL the deployment's discovery
// document names; without one, `/api/v1/signal`): JSON frames typed by
// `ClientMessage` / `ServerMessage` from the generated protocol.
//
// Messages that arrive while nobody listens are queued, so the hand-over from
// the join page to the meeting room never drops an early `subscriber_offer`.

import { PROTOCOL_VERSION, type ClientMessage, type ErrorCode, type ServerMessage } from "./proto";
import { deployment } from "./deployment";
import { localProfile } from "./local_profile";

/** An `error` frame from the server (the socket stays usable). */
export class SignalingError extends Error {
  constructor(
    readonly code: ErrorCode | "connection_failed" | "protocol_mismatch",
    message: string,
  ) {
    super(message);
    this.name = "SignalingError";
  }
}

/** The signaling URL the deployment's discovery document names (`deployment.ts`). */
export function signalingUrl(): string {
  return deployment().signaling;
}

type Listener = (message: ServerMessage) => void;

export class SignalingChannel {
  private listener: Listener | null = null;
  private readonly queue: ServerMessage[] = [];
  private readonly closeListeners = new Set<(event: CloseEvent) => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.addEventListener("message", (event) => this.receive(event));
    socket.addEventListener("close", (event) => {
      for (const fn of this.closeListeners) fn(event);
    });
  }

  /** Connects and waits for the server's `hello`. */
  static open(url = signalingUrl(), timeoutMs = 10_000): Promise<SignalingChannel> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      const channel = new SignalingChannel(socket);
      let settled = false;
      const fail = (message: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.close();
        reject(new SignalingError("connection_failed", message));
      };
      const timer = setTimeout(
        () => fail("The meeting server did not answer. Please try again. 服务器无响应，请重试。"),
        timeoutMs,
      );
      socket.addEventListener("error", () =>
        fail("Cannot connect to the meeting server. 无法连接会议服务器。"),
      );
      channel.listen((message) => {
        if (message.type !== "hello" || settled) return;
        settled = true;
        clearTimeout(timer);
        channel.unlisten();
        if (message.protocol_version !== PROTOCOL_VERSION) {
          socket.close();
          reject(
            new SignalingError(
              "protocol_mismatch",
              `The server speaks protocol ${message.protocol_version}, this page speaks ${PROTOCOL_VERSION}. Reload the page.`,
            ),
          );
          return;
        }
        resolve(channel);
      });
    });
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  send(message: ClientMessage): void {
    if (this.isOpen) this.socket.send(JSON.stringify(message));
  }

  /** Routes every incoming message to `listener`, first flushing the queue. */
  listen(listener: Listener): void {
    this.listener = listener;
    while (this.listener === listener && this.queue.length > 0) {
      listener(this.queue.shift() as ServerMessage);
    }
  }

  /** Stops delivering; messages queue until the next `listen`. */
  unlisten(): void {
    this.listener = null;
  }

  onClose(fn: (event: CloseEvent) => void): () => void {
    this.closeListeners.add(fn);
    return () => this.closeListeners.delete(fn);
  }

  close(): void {
    this.listener = null;
    this.closeListeners.clear();
    this.socket.close();
  }

  private receive(event: MessageEvent): void {
    if (typeof event.data !== "string") return;
    let message: ServerMessage;
    try {
      message = JSON.parse(event.data) as ServerMessage;
    } catch {
      console.warn("yunhui: ignoring a malformed signaling frame");
      return;
    }
    if (this.listener) this.listener(message);
    else this.queue.push(message);
  }
}

/** What the server said when the join succeeded. */
export type Joined = Extract<ServerMessage, { type: "joined" }>;
/** What the server said when it put the join on hold. */
export type Waiting = Extract<ServerMessage, { type: "waiting" }>;
export type JoinRequest = Omit<Extract<ClientMessage, { type: "join" }>, "type">;

/**
 * Sends `join` and waits for `joined` or `error`. A join on hold reports each
 * `waiting` to `onWaiting` and keeps waiting: the host admits (`joined`),
 * turns the joiner away (`error` `entry_denied`) or ends the meeting
 * (`meeting_ended`, rejected as code `meeting_ended`). On success the channel
 * is left paused (messages queue) for the meeting room to pick up.
 */
export function joinMeeting(
  channel: SignalingChannel,
  request: JoinRequest,
  onWaiting: (waiting: Waiting) => void = () => undefined,
): Promise<Joined> {
  return new Promise((resolve, reject) => {
    const stopWatchingClose = channel.onClose(() => {
      reject(new SignalingError("connection_failed", "The connection to the meeting server closed. 连接已断开。"));
    });
    const settle = () => {
      channel.unlisten();
      stopWatchingClose();
    };
    channel.listen((message) => {
      switch (message.type) {
        case "joined":
          settle();
          resolve(message);
          break;
        case "error":
          settle();
          reject(new SignalingError(message.code, message.message));
          break;
        case "meeting_ended":
          settle();
          reject(new SignalingError("meeting_ended", "The host ended the meeting. 主持人已结束会议。"));
          break;
        case "waiting":
          onWaiting(message);
          break;
        default:
          break;
      }
    });
    const deviceId = localProfile.deviceId();
    channel.send({ type: "join", ...request, ...(deviceId ? { device_id: deviceId } : {}) });
  });
}
