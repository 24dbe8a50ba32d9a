//! A network namespace for one test, on this machine only: the Rust twin of
//! `tests/browser/harness/netns.js`. [`Namespace::udp_blocked`] drops all UDP
//! from the start, as on networks that allow only TCP; [`Namespace::open`]
//! lets it pass until the test calls [`Namespace::block_udp`] (a firewall
//! that starts dropping UDP mid-meeting). A veth pair links it to the host;
//! the host end has [`Namespace::host_ip`], which a server the test starts
//! listens on (and advertises). Code runs inside it on a thread of its own
//! ([`Namespace::run`]): the thread joins the namespace (`setns`) before its
//! tokio runtime starts, so every socket made there, and every thread it
//! spawns, is in the namespace.
//!
//! Needs root, `ip` and `iptables`; without them the constructors fail,
//! saying which.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsFd;
use std::process::Command;
use std::sync::atomic::{AtomicU8, Ordering};

use anyhow::{Context, bail};

/// Namespaces made by this process so far: each gets its own names and /30.
static MADE: AtomicU8 = AtomicU8::new(0);

/// A network namespace with a default route to the host end of its veth
/// pair, dropping all UDP in and out (but on its loopback) once blocked.
/// Dropping it deletes the namespace and the veth pair.
#[derive(Debug)]
pub struct Namespace {
    name: String,
    host_if: String,
    host_ip: Ipv4Addr,
    ns_ip: Ipv4Addr,
}

fn run(program: &str, args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("running {program} (is it installed?)"))?;
    if !output.status.success() {
        bail!(
            "{program} {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr),
            String::from_utf8_lossy(&output.stdout)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

impl Namespace {
    /// A namespace that drops all UDP from the start.
    pub fn udp_blocked() -> anyhow::Result<Self> {
        let ns = Self::open()?;
        ns.block_udp()?;
        Ok(ns)
    }

    /// From now on, no UDP goes in or out of the namespace (but on its own
    /// loopback, as firewalls leave it); TCP goes on.
    pub fn block_udp(&self) -> anyhow::Result<()> {
        // Inserted first so that they come before any earlier rule; the
        // loopback exceptions go in last, so they come before the drops.
        self.exec(&["iptables", "-I", "OUTPUT", "-p", "udp", "-j", "DROP"])?;
        self.exec(&["iptables", "-I", "INPUT", "-p", "udp", "-j", "DROP"])?;
        self.exec(&[
            "iptables", "-I", "OUTPUT", "-o", "lo", "-p", "udp", "-j", "ACCEPT",
        ])?;
        self.exec(&[
            "iptables", "-I", "INPUT", "-i", "lo", "-p", "udp", "-j", "ACCEPT",
        ])?;
        Ok(())
    }

    /// From now on, TCP leaves the namespace only towards `ports` of the
    /// host end (as on networks that let only TLS 443 out); other TCP is
    /// refused. Loopback stays open.
    pub fn allow_only_tcp_to(&self, ports: &[u16]) -> anyhow::Result<()> {
        let addresses: Vec<SocketAddrV4> = (ports.iter())
            .map(|port| SocketAddrV4::new(self.host_ip, *port))
            .collect();
        self.allow_only_tcp_to_addresses(&addresses)
    }

    /// From now on, TCP leaves the namespace only towards `addresses` (any
    /// address of this machine, reached through the host end); other TCP
    /// is refused. Loopback stays open.
    pub fn allow_only_tcp_to_addresses(&self, addresses: &[SocketAddrV4]) -> anyhow::Result<()> {
        for address in addresses {
            let (ip, port) = (address.ip().to_string(), address.port().to_string());
            self.exec(&[
                "iptables", "-A", "OUTPUT", "-p", "tcp", "-d", &ip, "--dport", &port, "-j",
                "ACCEPT",
            ])?;
        }
        self.exec(&["iptables", "-A", "OUTPUT", "-o", "lo", "-j", "ACCEPT"])?;
        self.exec(&[
            "iptables",
            "-A",
            "OUTPUT",
            "-p",
            "tcp",
            "-j",
            "REJECT",
            "--reject-with",
            "tcp-reset",
        ])?;
        Ok(())
    }

    /// A namespace whose UDP passes until [`Namespace::block_udp`]
    /// (10.232.<pid % 250>.<4k>/30: the browser tests' namespaces use
    /// 10.231/16).
    pub fn open() -> anyhow::Result<Self> {
        if !rustix::process::geteuid().is_root() {
            bail!("a network namespace needs root");
        }
        let made = MADE.fetch_add(1, Ordering::SeqCst);
        if made >= 64 {
            bail!("at most 64 namespaces per process");
        }
        let pid = std::process::id();
        let third = u8::try_from(pid % 250).expect("below 250");
        let ns = Self {
            name: format!("yh-rs-{pid}-{made}"),
            host_if: format!("yhrh{}{made}", pid % 100_000),
            host_ip: Ipv4Addr::new(10, 232, third, made * 4 + 1),
            ns_ip: Ipv4Addr::new(10, 232, third, made * 4 + 2),
        };
        // Dropped on failure: removes what was made so far.
        let ns_if = format!("yhrn{}{made}", pid % 100_000);
        let host_cidr = format!("{}/30", ns.host_ip);
        let ns_cidr = format!("{}/30", ns.ns_ip);
        let host_ip = ns.host_ip.to_string();
        run("ip", &["netns", "add", &ns.name])?;
        run(
            "ip",
            &[
                "link",
                "add",
                &ns.host_if,
                "type",
                "veth",
                "peer",
                "name",
                &ns_if,
            ],
        )?;
        run("ip", &["link", "set", &ns_if, "netns", &ns.name])?;
        run("ip", &["addr", "add", &host_cidr, "dev", &ns.host_if])?;
        run("ip", &["link", "set", &ns.host_if, "up"])?;
        ns.exec(&["ip", "link", "set", "lo", "up"])?;
        ns.exec(&["ip", "addr", "add", &ns_cidr, "dev", &ns_if])?;
        ns.exec(&["ip", "link", "set", &ns_if, "up"])?;
        ns.exec(&["ip", "route", "add", "default", "via", &host_ip])?;
        Ok(ns)
    }

    /// The namespace's name (`ip netns exec <name> …`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The host end's address: what a server reachable from the namespace
    /// listens on.
    pub fn host_ip(&self) -> Ipv4Addr {
        self.host_ip
    }

    /// The namespace end's address.
    pub fn ns_ip(&self) -> Ipv4Addr {
        self.ns_ip
    }

    /// Runs `args` inside the namespace (`ip netns exec`), returning its output.
    pub fn exec(&self, args: &[&str]) -> anyhow::Result<String> {
        let mut all = vec!["netns", "exec", &self.name];
        all.extend_from_slice(args);
        run("ip", &all)
    }

    /// UDP packets the namespace dropped so far, on their way out and in
    /// (the packet counters of the two DROP rules; an error before
    /// [`Namespace::block_udp`]).
    pub fn dropped_udp(&self) -> anyhow::Result<(u64, u64)> {
        let count = |chain: &str| -> anyhow::Result<u64> {
            let listing = self.exec(&["iptables", "-L", chain, "-v", "-x", "-n"])?;
            listing
                .lines()
                .map(str::split_whitespace)
                .filter_map(|mut fields| {
                    let packets = fields.next()?.parse::<u64>().ok()?;
                    let _bytes = fields.next()?;
                    let target = fields.next()?;
                    let protocol = fields.next()?;
                    // `-n` prints the protocol by name or number (17), by version.
                    (target == "DROP" && matches!(protocol, "udp" | "17")).then_some(packets)
                })
                .next()
                .with_context(|| format!("no UDP DROP rule in {chain}: {listing}"))
        };
        Ok((count("OUTPUT")?, count("INPUT")?))
    }

    /// Runs `task` inside the namespace, on a new thread with its own tokio
    /// runtime (current-thread, timers and I/O on), and returns its result.
    /// Talk to it through channels; tokio's work across runtimes.
    pub fn run<F, Fut, T>(&self, task: F) -> std::thread::JoinHandle<anyhow::Result<T>>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = T>,
        T: Send + 'static,
    {
        let path = format!("/run/netns/{}", self.name);
        std::thread::spawn(move || {
            let handle = std::fs::File::open(&path).with_context(|| format!("opening {path}"))?;
            rustix::thread::move_into_link_name_space(
                handle.as_fd(),
                Some(rustix::thread::LinkNameSpaceType::Network),
            )
            .with_context(|| format!("joining the network namespace {path}"))?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("tokio runtime in the namespace")?;
            Ok(runtime.block_on(task()))
        })
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        // Deleting the host end deletes its peer; then the namespace. Either
        // may be gone already (a failed `new`).
        let _ = run("ip", &["link", "del", &self.host_if]);
        let _ = run("ip", &["netns", "del", &self.name]);
    }
}
