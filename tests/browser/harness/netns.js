// A network namespace for one test, on this machine only (needs root, `ip`,
// `iptables` and `tc`): a veth pair links it to the host, the host end has
// `hostIp`. `udpBlockedNamespace` drops all UDP inside it, as on networks that
// allow only TCP; `shapedNamespace` leaves UDP alone and can limit what reaches
// the namespace (a `tbf` token bucket on the host end) or drop a share of it at
// random (an iptables `statistic` match), as on a poor link. `chromium` is a
// launcher that runs Chromium inside it; Playwright talks to the browser over a
// pipe, so no port has to cross the namespace.

import { execFileSync } from "node:child_process";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CHROMIUM } from "./browser.js";

const run = (cmd, args) => execFileSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });

/** Why this machine cannot make the namespace, or null when it can. */
export function netnsUnavailable() {
  if (process.getuid?.() !== 0) return "needs root to create a network namespace";
  for (const tool of ["ip", "iptables", "tc"]) {
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
  const ns = await makeNamespace(`yh-noudp-${process.pid}`, index, { blockUdp: true });
  /** From now on, only TCP to `ports` of the host end leaves the namespace. */
  const allowOnlyTcpTo = (ports) => {
    for (const port of ports) {
      ns.inNs(["iptables", "-A", "OUTPUT", "-p", "tcp", "-d", ns.hostIp, "--dport", String(port), "-j", "ACCEPT"]);
    }
    ns.inNs(["iptables", "-A", "OUTPUT", "-o", "lo", "-j", "ACCEPT"]);
    ns.inNs(["iptables", "-A", "OUTPUT", "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"]);
  };
  return { ...ns, allowOnlyTcpTo };
}

/**
 * Creates a namespace whose downlink the test can degrade:
 * - `limitDownlink(kbit)`: a token bucket (`tc tbf`) on the host end caps what
 *   reaches the namespace at `kbit` kbit/s, with a queue of at most 200 ms;
 * - `liftDownlinkLimit()`: removes it;
 * - `dropIncoming(probability)`: inside the namespace, drops that share of the
 *   UDP arriving, at random; `stopDropping()` ends it; `droppedIncoming()`
 *   counts the packets it dropped so far;
 * - `blockUdp()`: from now on no UDP goes in or out (a firewall that starts
 *   dropping UDP); TCP goes on.
 */
export async function shapedNamespace(index = (process.pid + 1) % 250) {
  const ns = await makeNamespace(`yh-shaped-${process.pid}`, index, { blockUdp: false });
  const limitDownlink = (kbit) => {
    // replace: add the first time, change it after.
    run("tc", ["qdisc", "replace", "dev", ns.hostIf, "root", "tbf", "rate", `${kbit}kbit`, "burst", "16kb", "latency", "200ms"]);
  };
  const liftDownlinkLimit = () => {
    try {
      run("tc", ["qdisc", "del", "dev", ns.hostIf, "root"]);
    } catch {
      // No limit set.
    }
  };
  const dropRule = (probability) => ["INPUT", "-p", "udp", "-m", "statistic", "--mode", "random", "--probability", String(probability), "-j", "DROP"];
  let dropping = null;
  const dropIncoming = (probability) => {
    if (dropping !== null) ns.inNs(["iptables", "-D", ...dropRule(dropping)]);
    ns.inNs(["iptables", "-A", ...dropRule(probability)]);
    dropping = probability;
  };
  const stopDropping = () => {
    if (dropping === null) return;
    ns.inNs(["iptables", "-D", ...dropRule(dropping)]);
    dropping = null;
  };
  const droppedIncoming = () => {
    const listing = ns.inNs(["iptables", "-L", "INPUT", "-v", "-x", "-n"]).toString();
    const rule = listing.split("\n").find((line) => line.includes("statistic mode random"));
    return rule ? Number(rule.trim().split(/\s+/)[0]) : 0;
  };
  const blockUdp = () => {
    ns.inNs(["iptables", "-I", "OUTPUT", "-p", "udp", "-j", "DROP"]);
    ns.inNs(["iptables", "-I", "INPUT", "-p", "udp", "-j", "DROP"]);
  };
  return { ...ns, limitDownlink, liftDownlinkLimit, dropIncoming, stopDropping, droppedIncoming, blockUdp };
}

async function makeNamespace(name, index, { blockUdp }) {
  const hostIf = `yh${blockUdp ? "h" : "s"}${process.pid % 100000}`;
  const nsIf = `yh${blockUdp ? "n" : "t"}${process.pid % 100000}`;
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
    // No IPv6 on the host end: its link-local address would come a moment after
    // the link is up, and a browser on the host that sees an address change
    // then aborts what it is loading (net::ERR_NETWORK_CHANGED).
    run("sysctl", ["-q", "-w", `net.ipv6.conf.${hostIf}.disable_ipv6=1`]);
    run("ip", ["link", "set", hostIf, "up"]);
    const inNs = (args) => run("ip", ["netns", "exec", name, ...args]);
    inNs(["ip", "link", "set", "lo", "up"]);
    inNs(["ip", "addr", "add", `${nsIp}/30`, "dev", nsIf]);
    inNs(["ip", "link", "set", nsIf, "up"]);
    inNs(["ip", "route", "add", "default", "via", hostIp]);
    if (blockUdp) {
      // No UDP in or out, loopback included: only TCP reaches the server.
      inNs(["iptables", "-A", "OUTPUT", "-p", "udp", "-j", "DROP"]);
      inNs(["iptables", "-A", "INPUT", "-p", "udp", "-j", "DROP"]);
    }
    // Let the host's network settle before any browser starts.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await writeFile(chromium, `#!/bin/sh\nexec ip netns exec ${name} ${CHROMIUM} "$@"\n`);
    await chmod(chromium, 0o755);
  } catch (error) {
    await remove();
    throw error;
  }
  const inNs = (args) => run("ip", ["netns", "exec", name, ...args]);
  return { name, hostIf, hostIp, nsIp, chromium, remove, inNs };
}

/**
 * The selected candidate pair of each of the page's peer connections: the
 * local candidate's protocol (`local`), type, TCP type, relay protocol and
 * TURN URL, and the remote candidate's protocol and port.
 */
export function selectedPaths(participant) {
  return participant.page.evaluate(async () => {
    const result = {};
    for (const role of ["publisherPc", "subscriberPc"]) {
      const pc = window.yunhui[role];
      if (!pc) continue;
      const stats = await pc.getStats();
      let pairId;
      stats.forEach((s) => {
        if (s.type === "transport" && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
      });
      const pair = pairId && stats.get(pairId);
      const local = pair && stats.get(pair.localCandidateId);
      const remote = pair && stats.get(pair.remoteCandidateId);
      result[role] = {
        local: local?.protocol,
        type: local?.candidateType,
        tcpType: local?.tcpType,
        relayProtocol: local?.relayProtocol,
        url: local?.url,
        remote: remote?.protocol,
        remotePort: remote?.port,
      };
    }
    return result;
  });
}
