//! `yunhui preflight`: can this host run Yunhui? Checks the operating system,
//! CPU, kernel and its modules, kernel settings (the UDP buffer caps
//! `net.core.rmem_max`/`wmem_max`), cgroup version, SELinux and Kylin's kysec,
//! free disk, ports and time sync against the rules in `airgap/preflight.toml`, prints a pass/warn/fail
//! table (or JSON) and exits non-zero when any check fails.

pub mod facts;
pub mod rules;

use std::path::PathBuf;

use anyhow::Context;
use serde::Serialize;

use self::facts::Facts;
use self::rules::{Profile, Rules, Verdict};

/// Options of `yunhui preflight`.
#[derive(Debug, clap::Args)]
pub struct PreflightArgs {
    /// Which kind of host this is: all-in-one, cluster-node or install-host.
    #[arg(long, default_value = "all-in-one")]
    pub profile: String,
    /// `table` for people, `json` for programs.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    /// The bundle to be installed: this host's architecture must be one it
    /// ships, and free space must be 3x its size.
    #[arg(long)]
    pub bundle: Option<PathBuf>,
    /// Read the host's files (os-release, /proc, /sys) under this directory,
    /// e.g. a mounted target system.
    #[arg(long, default_value = "/")]
    pub root: PathBuf,
    /// A rules file to use instead of the built-in one.
    #[arg(long)]
    pub rules: Option<PathBuf>,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// A table.
    Table,
    /// One JSON document.
    Json,
}

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked.
    pub check: String,
    /// The outcome.
    pub verdict: Verdict,
    /// What was found, and what to do when it is not a pass.
    pub detail: String,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The profile checked against.
    pub profile: String,
    /// The worst verdict.
    pub verdict: Verdict,
    /// Every check.
    pub checks: Vec<Check>,
}

/// Runs preflight and prints the report; `Ok(false)` when a check failed.
pub fn run(args: PreflightArgs) -> anyhow::Result<bool> {
    let text = match &args.rules {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("reading the rules file {}", path.display()))?,
        None => rules::EMBEDDED_RULES.to_string(),
    };
    let rules = Rules::parse(&text).map_err(anyhow::Error::msg)?;
    let profile = rules.profiles.get(&args.profile).with_context(|| {
        format!(
            "unknown profile {:?}; choose one of: {}",
            args.profile,
            rules
                .profiles
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    let facts = Facts::read(&args.root);
    let mut checks = evaluate(&rules, profile, &facts);
    if let Some(path) = &args.bundle {
        let host = facts.cpu.as_ref().map(|cpu| rules.match_cpu(cpu));
        checks.push(match crate::bundle::archive::read_manifest(path) {
            Ok(manifest) => {
                let arches: Vec<String> = manifest.targets.iter().map(|t| t.arch.clone()).collect();
                match &host {
                    Some(cpu) => check_bundle_arch(&cpu.arch, &cpu.model, &arches),
                    None => Check {
                        check: "bundle architecture".into(),
                        verdict: Verdict::Warn,
                        detail: format!(
                            "cannot read this host's CPU; the bundle ships {}",
                            arches.join(", ")
                        ),
                    },
                }
            }
            Err(e) => Check {
                check: "bundle architecture".into(),
                verdict: Verdict::Fail,
                detail: format!("cannot read the bundle's manifest: {e}"),
            },
        });
    }
    let bundle_bytes = match &args.bundle {
        Some(path) => bundle_size(path)?,
        None => profile.bundle_bytes,
    };
    checks.push(check_disk(bundle_bytes));
    checks.extend(check_ports(profile));
    let report = Report {
        profile: args.profile.clone(),
        verdict: checks
            .iter()
            .map(|c| c.verdict)
            .max()
            .unwrap_or(Verdict::Pass),
        checks,
    };
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Output::Table => print_table(&report),
    }
    Ok(report.verdict != Verdict::Fail)
}

/// The checks that depend only on the host's files (pure, for tests).
pub fn evaluate(rules: &Rules, profile: &Profile, facts: &Facts) -> Vec<Check> {
    let mut checks = Vec::new();
    let check = |name: &str, verdict: Verdict, detail: String| Check {
        check: name.into(),
        verdict,
        detail,
    };
    checks.push(match &facts.os {
        Some(os) => {
            let m = rules.match_os(os);
            check(
                "operating system",
                m.verdict,
                format!("{} — {}", m.name, m.detail),
            )
        }
        None => check(
            "operating system",
            Verdict::Warn,
            "no /etc/os-release".into(),
        ),
    });
    checks.push(match &facts.cpu {
        Some(cpu) => {
            let m = rules.match_cpu(cpu);
            check("cpu", m.verdict, m.detail)
        }
        None => check("cpu", Verdict::Warn, "cannot read /proc/cpuinfo".into()),
    });
    checks.push(match &facts.kernel {
        Some(kernel) => {
            let (verdict, detail) = rules.check_kernel(kernel);
            check("kernel", verdict, detail)
        }
        None => check(
            "kernel",
            Verdict::Warn,
            "cannot read the kernel release".into(),
        ),
    });
    for name in &profile.modules {
        let (verdict, detail) = match rules.module(name) {
            Some(module) => module.check(facts),
            None => (Verdict::Warn, "no [[module]] rule describes it".into()),
        };
        checks.push(check(&format!("module {name}"), verdict, detail));
    }
    for rule in profile.sysctls(rules) {
        let (verdict, detail) = rule.check(facts.sysctls.get(&rule.name).map(String::as_str));
        checks.push(check(&format!("sysctl {}", rule.name), verdict, detail));
    }
    let (verdict, detail) = profile.check_cgroup(facts.cgroup, facts.kernel.as_deref());
    checks.push(check("cgroup", verdict, detail));
    let (verdict, detail) = profile.check_selinux(&facts.selinux);
    checks.push(check("selinux", verdict, detail));
    // Only Kylin has kysec; other hosts get no line for it.
    if let Some(kysec) = &facts.kysec {
        let (verdict, detail) = profile.check_kysec(kysec);
        checks.push(check("kysec", verdict, detail));
    }
    let (verdict, detail) = rules::check_time_sync(&facts.time_sync);
    checks.push(check("time sync", verdict, detail));
    checks
}

/// Whether a bundle shipping `arches` can run on a host whose CPU
/// (`model`) runs `host_arch` images.
pub fn check_bundle_arch(host_arch: &str, model: &str, arches: &[String]) -> Check {
    let shipped = arches.join(", ");
    let (verdict, detail) = if arches.iter().any(|a| a == host_arch) {
        (
            Verdict::Pass,
            format!("this host runs {host_arch} images; the bundle ships {shipped}"),
        )
    } else if host_arch == "unknown" {
        (
            Verdict::Fail,
            format!(
                "this host's CPU ({model}) runs none of the architectures Yunhui builds; the bundle ships {shipped}"
            ),
        )
    } else {
        (
            Verdict::Fail,
            format!(
                "this host is {host_arch} ({model}), and the bundle ships {shipped} only: none of its images runs here; build a bundle with --arch {host_arch}"
            ),
        )
    };
    Check {
        check: "bundle architecture".into(),
        verdict,
        detail,
    }
}

fn bundle_size(path: &std::path::Path) -> anyhow::Result<u64> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("reading the bundle {}", path.display()))?;
    if meta.is_file() {
        return Ok(meta.len());
    }
    let mut total = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let meta = entry.metadata()?;
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                total += meta.len();
            }
        }
    }
    Ok(total)
}

fn check_disk(bundle_bytes: u64) -> Check {
    let dir = std::env::temp_dir();
    let needed = bundle_bytes.saturating_mul(3);
    match free_bytes(&dir) {
        Some(free) if free >= needed => Check {
            check: "disk".into(),
            verdict: Verdict::Pass,
            detail: format!(
                "{} free in {} (need {})",
                human(free),
                dir.display(),
                human(needed)
            ),
        },
        Some(free) => Check {
            check: "disk".into(),
            verdict: Verdict::Fail,
            detail: format!(
                "{} free in {}, need {} (3x the bundle); free space or set TMPDIR",
                human(free),
                dir.display(),
                human(needed)
            ),
        },
        None => Check {
            check: "disk".into(),
            verdict: Verdict::Warn,
            detail: format!("cannot read free space of {}", dir.display()),
        },
    }
}

fn free_bytes(dir: &std::path::Path) -> Option<u64> {
    let stat = rustix::fs::statvfs(dir).ok()?;
    Some(stat.f_bavail.saturating_mul(stat.f_frsize))
}

fn check_ports(profile: &Profile) -> Vec<Check> {
    let tcp = profile.tcp_ports.iter().map(|&port| {
        let free = std::net::TcpListener::bind(("0.0.0.0", port)).is_ok();
        (format!("tcp port {port}"), free)
    });
    let udp = profile.udp_ports.iter().map(|&port| {
        let free = std::net::UdpSocket::bind(("0.0.0.0", port)).is_ok();
        (format!("udp port {port}"), free)
    });
    tcp.chain(udp)
        .map(|(check, free)| Check {
            verdict: if free { Verdict::Pass } else { Verdict::Fail },
            detail: if free {
                "free".into()
            } else {
                "in use by another program (or not permitted)".into()
            },
            check,
        })
        .collect()
}

fn human(bytes: u64) -> String {
    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
    format!("{:.1} GiB", bytes as f64 / GIB)
}

fn print_table(report: &Report) {
    let width = report
        .checks
        .iter()
        .map(|c| c.check.len())
        .max()
        .unwrap_or(5)
        .max(5);
    println!("Preflight ({} profile)", report.profile);
    println!("{:<width$}  {:<6}  detail", "check", "result");
    for c in &report.checks {
        println!(
            "{:<width$}  {:<6}  {}",
            c.check,
            c.verdict.to_string().to_uppercase(),
            c.detail
        );
    }
    println!("overall: {}", report.verdict.to_string().to_uppercase());
}
