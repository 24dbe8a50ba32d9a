// A network namespace for one test, on this machine only (needs root, `ip` and
// `iptables`): a veth pair links it to the host, the host end has `hostIp`, and
// inside it all UDP is dropped, as on networks that allow only TCP.
// `chromium` is a launcher that runs Chromium inside it; Playwright talks to
// the browser over a pipe, so no port has to cross the namespace.

import { execFileSync } from "node:child_process";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CHROMIUM } from "./browser.js";

const run = (cmd, args) => execFileSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });

/** Why this machine cannot make the namespace, or null when it can. */
export function netnsUnavailable() {
  if (process.getuid?.() !== 0) return "needs root to create a network namespace";
  for (const tool of ["ip", "iptables"]) {
    try {
      run("sh", ["-c", `command -v ${tool}`]);
    } catch {
      return `needs ${tool}`;
    }
  }
  return null;
}

/**
 * Creates the namespace; `remove()` deletes it, the veth pair and the launcher.
 * `index` (0..255) keeps concurrent namespaces apart. With `onlyTcpPorts`,
 * TCP too is dropped except to those ports of the host end (as on networks
 * that let only TCP 443 out): set them with `allowOnlyTcpTo(ports)` once the
 * server's ports are known.
 */
export async function udpBlockedNamespace(index = process.pid % 250) {
  const name = `yh-noudp-${process.pid}`;
  const hostIf = `yhh${process.pid % 100000}`;
  const nsIf = `yhn${process.pid % 100000}`;
  const hostIp = `10.231.${index}.1`;
  const nsIp = `10.231.${index}.2`;
  const dir = await mkdtemp(join(tmpdir(), "yunhui-netns-"));
  const chromium = join(dir, "chromium-in-netns");
  const remove = async () => {
    for (const [cmd, args] of [
      ["ip", ["link", "del", hostIf]],
      ["ip", ["netns", "del", name]],
    ]) {
      try {
        run(cmd, args);
      } catch {
        // Already gone.
      }
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    run("ip", ["netns", "add", name]);
    run("ip", ["link", "add", hostIf, "type", "veth", "peer", "name", nsIf]);
    run("ip", ["link", "set", nsIf, "netns", name]);
    run("ip", ["addr", "add", `${hostIp}/30`, "dev", hostIf]);
    run("ip", ["link", "set", hostIf, "up"]);
    const inNs = (args) => run("ip", ["netns", "exec", name, ...args]);
    inNs(["ip", "link", "set", "lo", "up"]);
    inNs(["ip", "addr", "add", `${nsIp}/30`, "dev", nsIf]);
    inNs(["ip", "link", "set", nsIf, "up"]);
    inNs(["ip", "route", "add", "default", "via", hostIp]);
    // No UDP in or out, loopback included: only TCP reaches the server.
    inNs(["iptables", "-A", "OUTPUT", "-p", "udp", "-j", "DROP"]);
    inNs(["iptables", "-A", "INPUT", "-p", "udp", "-j", "DROP"]);
    await writeFile(chromium, `#!/bin/sh\nexec ip netns exec ${name} ${CHROMIUM} "$@"\n`);
    await chmod(chromium, 0o755);
  } catch (error) {
    await remove();
    throw error;
  }
  /** From now on, only TCP to `ports` of the host end leaves the namespace. */
  const allowOnlyTcpTo = (ports) => {
    const inNs = (args) => run("ip", ["netns", "exec", name, ...args]);
    for (const port of ports) {
      inNs(["iptables", "-A", "OUTPUT", "-p", "tcp", "-d", hostIp, "--dport", String(port), "-j", "ACCEPT"]);
    }
    inNs(["iptables", "-A", "OUTPUT", "-o", "lo", "-j", "ACCEPT"]);
    inNs(["iptables", "-A", "OUTPUT", "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"]);
  };
  return { name, hostIp, nsIp, chromium, remove, allowOnlyTcpTo };
}
