// Starts the real all-in-one server (`$YUNHUI_BIN up`) on free loopback ports
// with a throw-away data directory, and talks to it over REST.

import { spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { appendFileSync, existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, "../../..");
export const webDir = process.env.YUNHUI_WEB_DIR ?? join(repoRoot, "services/web/dist");

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;

export function freeTcpPort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

export function freeUdpPort() {
  return new Promise((resolvePort, reject) => {
    const socket = createSocket("udp4");
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => {
      const { port } = socket.address();
      socket.close(() => resolvePort(port));
    });
  });
}

/** Whether `port` can be listened on for TCP on every address. */
function tcpFree(port) {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.once("error", () => resolveFree(false));
    server.listen(port, "0.0.0.0", () => server.close(() => resolveFree(true)));
  });
}

/**
 * A UDP port whose number is also free for TCP and is none of `taken`: the
 * SFU takes its media port's number on both (ICE over TCP), and the SIP
 * gateway may too. A UDP port alone once collided with the HTTP port.
 */
export async function freeUdpAndTcpPort(taken = []) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freeUdpPort();
    if (!taken.includes(port) && (await tcpFree(port))) return port;
  }
  throw new Error("found no port free on both UDP and TCP");
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Fails with a sentence saying what to set up, instead of a spawn ENOENT. */
function requireBinary() {
  const bin = process.env.YUNHUI_BIN;
  if (!bin) {
    throw new Error(
      "YUNHUI_BIN is not set: point it at the all-in-one `yunhui` binary " +
        "(cargo build -p yunhui-installer; $CARGO_TARGET_DIR/debug/yunhui)",
    );
  }
  if (!existsSync(bin)) throw new Error(`YUNHUI_BIN=${bin} does not exist`);
  if (!existsSync(join(webDir, "index.html"))) {
    throw new Error(`no built web client in ${webDir}: run npm ci && npm run build in services/web`);
  }
  return bin;
}

/**
 * A running `yunhui up`, on loopback or on `host` (an address of this machine,
 * which it also advertises for media), with the enterprise's e-mail
 * `companyDomains` (registrations from them wait for approval). `stop()` is
 * safe to call more than once.
 * @returns {Promise<YunhuiServer>}
 */
export async function startServer({ host = "127.0.0.1", companyDomains = [] } = {}) {
  const bin = requireBinary();
  const dataDir = await mkdtemp(join(tmpdir(), "yunhui-e2e-"));
  const port = await freeTcpPort();
  const mediaPort = await freeUdpAndTcpPort([port]);
  const sipPort = await freeUdpAndTcpPort([port, mediaPort]);
  // TURN (UDP and TCP on one number) and TURN over TLS, never the defaults
  // (3478, 5349): servers of concurrent runs would share them.
  const turnPort = await freeUdpAndTcpPort([port, mediaPort, sipPort]);
  let turnTlsPort = await freeTcpPort();
  while ([port, mediaPort, sipPort, turnPort].includes(turnTlsPort)) turnTlsPort = await freeTcpPort();
  const listen = `${host}:${port}`;
  const args = [
    "up", "--data-dir", dataDir, "--listen", listen, "--media-port", String(mediaPort), "--sip-port", String(sipPort),
    "--turn-port", String(turnPort), "--turn-tls-port", String(turnTlsPort), "--web-dir", webDir,
    ...companyDomains.flatMap((domain) => ["--company-domain", domain]),
  ];
  const server = new YunhuiServer(() => spawnYunhui(bin, args), `http://${listen}`, dataDir);
  server.ports = { http: port, media: mediaPort, sip: sipPort, turn: turnPort, turnTls: turnTlsPort };
  try {
    await server.waitReady();
  } catch (error) {
    await server.stop();
    throw new Error(`${error.message}\n--- server log ---\n${server.logTail()}`);
  }
  return server;
}

function spawnYunhui(bin, args) {
  return spawn(bin, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "info" },
  });
}

export class YunhuiServer {
  /** @param {() => import("node:child_process").ChildProcess} spawnChild */
  constructor(spawnChild, url, dataDir) {
    this.spawnChild = spawnChild;
    this.url = url;
    this.dataDir = dataDir;
    this.log = [];
    this.stopped = false;
    this.attach(spawnChild());
  }

  /** @param {import("node:child_process").ChildProcess} child */
  attach(child) {
    this.child = child;
    this.exited = new Promise((r) => child.once("exit", (code, signal) => r({ code, signal })));
    const keep = (chunk) => {
      // YUNHUI_SERVER_LOG=<file> keeps the whole log there, for a test being written.
      if (process.env.YUNHUI_SERVER_LOG) appendFileSync(process.env.YUNHUI_SERVER_LOG, chunk);
      this.log.push(...chunk.toString().split("\n").filter(Boolean));
      if (this.log.length > 2000) this.log.splice(0, this.log.length - 2000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
  }

  /** Kills the server at once, as a crashed process or a lost pod dies: no goodbye to anyone. */
  async crash() {
    this.child.kill("SIGKILL");
    await this.exited;
  }

  /** Starts the server again after `crash`, on the same ports and data. */
  async restart() {
    this.attach(this.spawnChild());
    await this.waitReady();
  }

  logTail(lines = 60) {
    return this.log.slice(-lines).join("\n");
  }

  async waitReady() {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let exitedEarly = null;
    this.exited.then((status) => (exitedEarly = status));
    while (Date.now() < deadline) {
      if (exitedEarly) throw new Error(`yunhui exited before it was ready (${JSON.stringify(exitedEarly)})`);
      try {
        const response = await fetch(`${this.url}/readyz`);
        if (response.status === 200) return;
      } catch {
        // Not listening yet.
      }
      await sleep(150);
    }
    throw new Error(`yunhui was not ready at ${this.url}/readyz within ${READY_TIMEOUT_MS} ms`);
  }

  async stop() {
    if (this.stopped) return;
    this.stopped = true;
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill("SIGTERM");
      const timeout = sleep(STOP_TIMEOUT_MS).then(() => "timeout");
      if ((await Promise.race([this.exited, timeout])) === "timeout") {
        this.child.kill("SIGKILL");
        await this.exited;
      }
    }
    await rm(this.dataDir, { recursive: true, force: true });
  }

  /** JSON request; throws with the server's ApiError on non-2xx. */
  async api(method, path, body, token) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers.Authorization = `Bearer ${token}`;
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path} -> ${response.status}: ${text}`);
    return text ? JSON.parse(text) : undefined;
  }

  /** The administrator's login and password, as `yunhui up` printed them on first start. */
  adminCredentials() {
    for (const line of this.log) {
      const match = /Administrator account: (\S+) \/ (\S+)/.exec(line);
      if (match) return { email: match[1], password: match[2] };
    }
    throw new Error("yunhui up printed no administrator account");
  }

  /** Registers an account and signs it in. */
  async createAccount({ email, password, displayName }) {
    await this.api("POST", "/api/v1/accounts", { email, password, display_name: displayName });
    const session = await this.api("POST", "/api/v1/sessions", { login: email, password });
    return { email, password, session, token: session.token };
  }

  /** Sum of every series of a Prometheus metric on /metrics (null if absent), of those with `labels` when given. */
  async metric(name, labels = {}) {
    const response = await fetch(`${this.url}/metrics`);
    const text = await response.text();
    let total = null;
    for (const line of text.split("\n")) {
      if (line.startsWith("#")) continue;
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
      const labelled = Object.entries(labels).every(([key, value]) => (match?.[2] ?? "").includes(`${key}="${value}"`));
      if (match && match[1] === name && labelled) total = (total ?? 0) + Number(match[3]);
    }
    return total;
  }

  /** Polls a metric until `predicate(value)` holds; returns the last value. */
  async waitForMetric(name, predicate, timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs;
    let value = await this.metric(name);
    while (!predicate(value) && Date.now() < deadline) {
      await sleep(200);
      value = await this.metric(name);
    }
    return value;
  }
}
