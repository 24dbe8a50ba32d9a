// A streaming service for live-streaming tests: nginx with the RTMP module
// (Debian's nginx and libnginx-mod-rtmp; tests/setup-machine installs them)
// on free loopback ports, one `live` application to push to, and
// nginx-rtmp's XML statistics (`rtmp_stat`), which list each stream being
// published by name. Everything (config, pid, temporary files) lives in a
// throw-away directory; `kill()` and `start()` take the service away and
// bring it back on the same ports, `stop()` ends nginx and removes it.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freeTcpPort } from "./server.js";

export const RTMP_MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so";
const NGINX = process.env.NGINX_PATH ?? "/usr/sbin/nginx";
const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts nginx-rtmp. `url` is the push address (`rtmp://127.0.0.1:PORT/live`,
 * to which a stream key is appended).
 * @returns {Promise<RtmpServer>}
 */
export async function startRtmpServer() {
  for (const [path, what] of [
    [NGINX, "nginx"],
    [RTMP_MODULE, "the RTMP module"],
  ]) {
    if (!existsSync(path)) {
      throw new Error(`${path} not found: install ${what} (tests/setup-machine: nginx libnginx-mod-rtmp)`);
    }
  }
  const dir = await mkdtemp(join(tmpdir(), "yunhui-rtmp-"));
  const rtmpPort = await freeTcpPort();
  let statPort = await freeTcpPort();
  while (statPort === rtmpPort) statPort = await freeTcpPort();
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((kind) => `  ${kind}_temp_path ${join(dir, kind)};`);
  const conf = [
    `load_module ${RTMP_MODULE};`,
    "daemon off;",
    "master_process off;",
    `pid ${join(dir, "nginx.pid")};`,
    "error_log stderr;",
    "events {}",
    "rtmp {",
    `  server { listen 127.0.0.1:${rtmpPort}; application live { live on; } }`,
    "}",
    "http {",
    "  access_log off;",
    ...temp,
    `  server { listen 127.0.0.1:${statPort}; location /stat { rtmp_stat all; } }`,
    "}",
    "",
  ].join("\n");
  const confPath = join(dir, "nginx.conf");
  await writeFile(confPath, conf);
  const server = new RtmpServer(dir, confPath, rtmpPort, statPort);
  try {
    await server.start();
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}

export class RtmpServer {
  constructor(dir, confPath, rtmpPort, statPort) {
    this.dir = dir;
    this.confPath = confPath;
    this.url = `rtmp://127.0.0.1:${rtmpPort}/live`;
    this.statUrl = `http://127.0.0.1:${statPort}/stat`;
    this.log = [];
    /** @type {import("node:child_process").ChildProcess | null} */
    this.child = null;
    this.exited = Promise.resolve(null);
    this.stopped = false;
  }

  /** Starts nginx (again, after `kill()`: same ports, same configuration) and waits until it answers. */
  async start() {
    const child = spawn(NGINX, ["-p", this.dir, "-c", this.confPath], { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    this.exited = new Promise((r) => child.once("exit", (code, signal) => r({ code, signal })));
    const keep = (chunk) => {
      this.log.push(...chunk.toString().split("\n").filter(Boolean));
      if (this.log.length > 500) this.log.splice(0, this.log.length - 500);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    try {
      await this.waitReady();
    } catch (error) {
      await this.kill();
      throw new Error(`${error.message}\n--- nginx log ---\n${this.log.join("\n")}`);
    }
  }

  async waitReady() {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let exited = null;
    this.exited.then((status) => (exited = status));
    while (Date.now() < deadline) {
      if (exited) throw new Error(`nginx exited before it was ready (${JSON.stringify(exited)})`);
      try {
        if ((await fetch(this.statUrl)).ok) return;
      } catch {
        // Not listening yet.
      }
      await sleep(100);
    }
    throw new Error(`nginx-rtmp's statistics did not answer at ${this.statUrl} within ${READY_TIMEOUT_MS} ms`);
  }

  /** The names of the streams being published now, from nginx-rtmp's statistics. */
  async publishing() {
    const xml = await (await fetch(this.statUrl)).text();
    const names = [];
    for (const [, stream] of xml.matchAll(/<stream>([\s\S]*?)<\/stream>/g)) {
      const name = /<name>([^<]*)<\/name>/.exec(stream)?.[1];
      // A stream's own <publishing/> sits after its clients (whose publisher has one too).
      const own = stream.replace(/<client>[\s\S]*?<\/client>/g, "");
      if (name !== undefined && own.includes("<publishing/>")) names.push(name);
    }
    return names;
  }

  /** Polls the statistics until `predicate(names published)` holds; returns the last names. */
  async waitForPublishing(predicate, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    let names = await this.publishing();
    while (!predicate(names) && Date.now() < deadline) {
      await sleep(250);
      names = await this.publishing();
    }
    return names;
  }

  /** Ends nginx (its connections drop), keeping its directory for `start()`. */
  async kill() {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timeout = sleep(STOP_TIMEOUT_MS).then(() => "timeout");
    if ((await Promise.race([this.exited, timeout])) === "timeout") {
      child.kill("SIGKILL");
      await this.exited;
    }
  }

  /** Ends nginx for good and removes its directory; safe to call more than once. */
  async stop() {
    if (this.stopped) return;
    this.stopped = true;
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }
}
