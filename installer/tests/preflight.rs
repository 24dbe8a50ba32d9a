//! `yunhui preflight` on fixtures taken from real systems: os-release of each
//! listed OS and /proc/cpuinfo of each listed CPU give the expected verdicts,
//! and each system's host tree (kernel release, module lists, kernel
//! configuration, cgroup, SELinux, kysec, time services) gives the verdict and
//! fix of what differs on it (F-OPS-4).

use crate::bundle_fixture;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use yunhui_installer::preflight::evaluate;
use yunhui_installer::preflight::facts::Facts;
use yunhui_installer::preflight::rules::{EMBEDDED_RULES, Rules, Verdict};

fn fixture(kind: &str, name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/preflight")
        .join(kind)
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A fake root with os-release, cpuinfo, kernel release and cgroup v2.
fn root(os: &str, cpu: &str, kernel: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("etc/os-release", &fixture("os", os));
    write("proc/cpuinfo", &fixture("cpu", cpu));
    write("proc/sys/kernel/osrelease", &format!("{kernel}\n"));
    write(
        "proc/modules",
        "overlay 151552 0 - Live 0x0\nnf_conntrack 176128 1 - Live 0x0\n",
    );
    write(
        &format!("lib/modules/{kernel}/modules.builtin"),
        "kernel/net/bridge/br_netfilter.ko\n",
    );
    write(
        "sys/fs/cgroup/cgroup.controllers",
        "cpuset cpu io memory pids\n",
    );
    write("run/systemd/timesync/synchronized", "");
    dir
}

/// Copies a captured `/proc/sys` tree (`fixtures/preflight/sysctl/<name>`,
/// e.g. `net/core/rmem_max`) into a fake root.
fn with_sysctls(root: &Path, name: &str) {
    let from = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/preflight/sysctl")
        .join(name);
    copy(&from, &root.join("proc/sys"));
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A fake root from a captured host tree (`fixtures/preflight/host/<host>`)
/// with its os-release and cpuinfo.
fn host_root(host: &str, os: &str, cpu: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/preflight/host")
            .join(host),
        dir.path(),
    );
    std::fs::write(dir.path().join("etc/os-release"), fixture("os", os)).unwrap();
    std::fs::write(dir.path().join("proc/cpuinfo"), fixture("cpu", cpu)).unwrap();
    dir
}

/// Every check of a profile on a root, by name.
fn checks_by_name(profile: &str, root: &Path) -> BTreeMap<String, (Verdict, String)> {
    let rules = rules();
    evaluate(&rules, &rules.profiles[profile], &Facts::read(root))
        .into_iter()
        .map(|c| (c.check, (c.verdict, c.detail)))
        .collect()
}

fn rules() -> Rules {
    Rules::parse(EMBEDDED_RULES).unwrap()
}

#[test]
fn operating_systems() {
    let rules = rules();
    let cases = [
        ("kylin-v10-sp1", "Kylin V10 SP1", Verdict::Pass),
        ("kylin-v10-sp2", "Kylin V10 SP2", Verdict::Pass),
        ("kylin-v10-sp3", "Kylin V10 SP3", Verdict::Pass),
        ("kylin-v10-sp3-2403", "Kylin V10 SP3 2403", Verdict::Pass),
        ("uos-20", "UnionTech OS 20", Verdict::Pass),
        ("openeuler-22.03", "openEuler 22.03 LTS", Verdict::Pass),
        ("openeuler-24.03", "openEuler 24.03 LTS", Verdict::Pass),
        ("debian-12", "Debian 12", Verdict::Pass),
        ("ubuntu-22.04", "Ubuntu 22.04 LTS", Verdict::Pass),
        ("rocky-9", "Rocky Linux 9", Verdict::Pass),
        ("centos-7", "CentOS 7", Verdict::Fail),
        ("alpine-3.19", "unrecognised Linux", Verdict::Warn),
    ];
    for (file, name, verdict) in cases {
        let facts = Facts::read(root(file, "intel-xeon-gold-6248", "5.10.0").path());
        let m = rules.match_os(facts.os.as_ref().unwrap());
        assert_eq!(
            (m.name.as_str(), m.verdict),
            (name, verdict),
            "{file}: {}",
            m.detail
        );
    }
}

#[test]
fn cpus() {
    let rules = rules();
    let cases = [
        (
            "kunpeng-920",
            "Huawei Kunpeng",
            "Kunpeng 920",
            "arm64",
            Verdict::Pass,
        ),
        (
            "phytium-ft2000plus",
            "Phytium",
            "FT-2000+/64",
            "arm64",
            Verdict::Pass,
        ),
        (
            "phytium-s2500",
            "Phytium",
            "FT-2000/4, D2000 or S2500",
            "arm64",
            Verdict::Pass,
        ),
        (
            "hygon-c86-7285",
            "Hygon",
            "Hygon C86 7285 32-core Processor",
            "amd64",
            Verdict::Pass,
        ),
        (
            "zhaoxin-kx-u6780a",
            "Zhaoxin",
            "ZHAOXIN KaiXian KX-U6780A@2.7GHz",
            "amd64",
            Verdict::Pass,
        ),
        (
            "zhaoxin-kh-40000",
            "Zhaoxin",
            "ZHAOXIN KH-40000/32@2.2GHz",
            "amd64",
            Verdict::Pass,
        ),
        (
            "loongson-3a5000",
            "Loongson",
            "Loongson-3A5000",
            "loong64",
            Verdict::Warn,
        ),
        (
            "loongson-3c5000l",
            "Loongson",
            "Loongson-3C5000L-LL",
            "loong64",
            Verdict::Warn,
        ),
        (
            "intel-xeon-gold-6248",
            "Intel",
            "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz",
            "amd64",
            Verdict::Pass,
        ),
        (
            "amd-epyc-7742",
            "AMD",
            "AMD EPYC 7742 64-Core Processor",
            "amd64",
            Verdict::Pass,
        ),
        (
            "unknown-riscv",
            "unknown",
            "unknown",
            "unknown",
            Verdict::Fail,
        ),
    ];
    for (file, vendor, model, arch, verdict) in cases {
        let facts = Facts::read(root("debian-12", file, "6.1.0").path());
        let m = rules.match_cpu(facts.cpu.as_ref().unwrap());
        assert_eq!(
            (
                m.vendor.as_str(),
                m.model.as_str(),
                m.arch.as_str(),
                m.verdict
            ),
            (vendor, model, arch, verdict),
            "{file}: {}",
            m.detail
        );
    }
}

#[test]
fn host_checks_for_a_cluster_node() {
    let rules = rules();
    let profile = &rules.profiles["cluster-node"];
    let dir = root(
        "kylin-v10-sp2",
        "kunpeng-920",
        "4.19.90-24.4.v2101.ky10.aarch64",
    );
    let checks = evaluate(&rules, profile, &Facts::read(dir.path()));
    let verdict = |name: &str| {
        checks
            .iter()
            .find(|c| c.check == name)
            .map(|c| c.verdict)
            .unwrap()
    };
    assert_eq!(verdict("operating system"), Verdict::Pass);
    assert_eq!(verdict("cpu"), Verdict::Pass);
    assert_eq!(
        verdict("kernel"),
        Verdict::Warn,
        "4.19 runs but 5.10 is recommended"
    );
    assert_eq!(verdict("module overlay"), Verdict::Pass);
    assert_eq!(verdict("module br_netfilter"), Verdict::Pass, "built in");
    assert_eq!(verdict("cgroup"), Verdict::Pass);
    assert_eq!(verdict("time sync"), Verdict::Pass);

    // The same host on cgroup v1, without br_netfilter and without time sync.
    std::fs::remove_file(dir.path().join("sys/fs/cgroup/cgroup.controllers")).unwrap();
    std::fs::remove_file(dir.path().join("run/systemd/timesync/synchronized")).unwrap();
    std::fs::write(
        dir.path()
            .join("lib/modules/4.19.90-24.4.v2101.ky10.aarch64/modules.builtin"),
        "",
    )
    .unwrap();
    let checks = evaluate(&rules, profile, &Facts::read(dir.path()));
    let verdict = |name: &str| {
        checks
            .iter()
            .find(|c| c.check == name)
            .map(|c| c.verdict)
            .unwrap()
    };
    assert_eq!(verdict("cgroup"), Verdict::Fail, "nodes need cgroup v2");
    assert_eq!(verdict("module br_netfilter"), Verdict::Fail);
    assert_eq!(verdict("time sync"), Verdict::Warn);
}

fn preflight(root: &Path, extra: &[&str]) -> (bool, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_yunhui"))
        .args([
            "preflight",
            "--output",
            "json",
            "--profile",
            "install-host",
            "--root",
        ])
        .arg(root)
        .args(extra)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.success(), report)
}

#[test]
fn command_reports_json_and_exit_status() {
    let good = root(
        "openeuler-24.03",
        "hygon-c86-7285",
        "6.6.0-28.0.0.34.oe2403.x86_64",
    );
    let (ok, report) = preflight(good.path(), &[]);
    let os = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "operating system")
        .unwrap();
    assert_eq!(os["verdict"], "pass");
    assert!(os["detail"].as_str().unwrap().contains("openEuler 24.03"));
    assert_ne!(report["verdict"], "fail", "{report:#}");
    assert!(ok, "{report:#}");

    let bad = root("centos-7", "intel-xeon-gold-6248", "3.10.0-1160.el7.x86_64");
    let (ok, report) = preflight(bad.path(), &[]);
    assert!(!ok, "a failing check makes the exit status non-zero");
    assert_eq!(report["verdict"], "fail");

    let out = Command::new(env!("CARGO_BIN_EXE_yunhui"))
        .args(["preflight", "--profile", "moon-base"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown profile") && err.contains("cluster-node"),
        "{err}"
    );
}

/// The "bundle architecture" check of a report.
fn arch_check(report: &serde_json::Value) -> serde_json::Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "bundle architecture")
        .cloned()
        .unwrap_or_else(|| panic!("no bundle architecture check in {report:#}"))
}

#[test]
fn a_host_the_bundle_has_no_images_for_fails_with_both_named() {
    let fixture = bundle_fixture::Fixture::create();
    let bundle = fixture.build("enterprise", "bundle");
    assert_eq!(
        bundle_fixture::manifest(&bundle)["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["arch"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["amd64", "arm64"]
    );
    let loongson = root(
        "kylin-v10-sp3",
        "loongson-3a5000",
        "4.19.190-6.4.lns8.loongarch64",
    );
    // The directory and the single file alike.
    for given in [bundle.clone(), bundle.with_file_name("bundle.tar.zst")] {
        let (ok, report) = preflight(loongson.path(), &["--bundle", given.to_str().unwrap()]);
        assert!(!ok, "{report:#}");
        let check = arch_check(&report);
        assert_eq!(check["verdict"], "fail", "{check}");
        let detail = check["detail"].as_str().unwrap();
        assert!(
            detail.contains("loong64")
                && detail.contains("Loongson")
                && detail.contains("amd64, arm64"),
            "{detail}"
        );
    }
    let hygon = root(
        "openeuler-24.03",
        "hygon-c86-7285",
        "6.6.0-28.0.0.34.oe2403.x86_64",
    );
    let (_, report) = preflight(hygon.path(), &["--bundle", bundle.to_str().unwrap()]);
    assert_eq!(arch_check(&report)["verdict"], "pass", "{report:#}");
}

#[test]
fn udp_buffer_caps_below_what_the_sfu_asks_for_warn() {
    let rules = rules();
    let sysctl_checks = |profile: &str, dir: &Path| {
        let checks = evaluate(&rules, &rules.profiles[profile], &Facts::read(dir));
        let find = |name: &str| {
            checks
                .iter()
                .find(|c| c.check == name)
                .map(|c| (c.verdict, c.detail.clone()))
                .unwrap_or_else(|| panic!("{profile}: no {name:?} check in {checks:#?}"))
        };
        (
            find("sysctl net.core.rmem_max"),
            find("sysctl net.core.wmem_max"),
        )
    };
    for profile in ["all-in-one", "cluster-node"] {
        // The kernel's default cap: the node works, media drops under load.
        let dir = root(
            "kylin-v10-sp2",
            "kunpeng-920",
            "4.19.90-24.4.v2101.ky10.aarch64",
        );
        with_sysctls(dir.path(), "kernel-default");
        let (rmem, wmem) = sysctl_checks(profile, dir.path());
        for ((verdict, detail), name) in [(rmem, "rmem_max"), (wmem, "wmem_max")] {
            assert_eq!(verdict, Verdict::Warn, "{profile} {name}: {detail}");
            assert!(
                detail.starts_with("212992: below 16777216")
                    && detail.contains(&format!("sysctl -w net.core.{name}=16777216"))
                    && detail.contains("/etc/sysctl.d/"),
                "{profile} {name}: {detail}"
            );
        }

        // Raised to 32 MiB: passes.
        let dir = root(
            "openeuler-24.03",
            "hygon-c86-7285",
            "6.6.0-28.0.0.34.oe2403.x86_64",
        );
        with_sysctls(dir.path(), "raised-32mib");
        let (rmem, wmem) = sysctl_checks(profile, dir.path());
        assert_eq!(rmem.0, Verdict::Pass, "{profile}: {}", rmem.1);
        assert_eq!(wmem.0, Verdict::Pass, "{profile}: {}", wmem.1);
        assert_eq!(rmem.1, "33554432 (at least 16777216)");

        // Each setting on its own line: only the receive side was raised.
        let dir = root("debian-12", "intel-xeon-gold-6248", "6.1.0-18-amd64");
        with_sysctls(dir.path(), "rmem-only");
        let (rmem, wmem) = sysctl_checks(profile, dir.path());
        assert_eq!(
            (rmem.0, wmem.0),
            (Verdict::Pass, Verdict::Warn),
            "{profile}"
        );

        // Nothing under /proc/sys/net: unknown, a warning that says so.
        let dir = root("debian-12", "intel-xeon-gold-6248", "6.1.0-18-amd64");
        let (rmem, wmem) = sysctl_checks(profile, dir.path());
        for (verdict, detail) in [rmem, wmem] {
            assert_eq!(verdict, Verdict::Warn, "{profile}: {detail}");
            assert!(
                detail.starts_with("cannot read /proc/sys/net/core/"),
                "{detail}"
            );
        }
    }

    // The install host runs no SFU.
    let dir = root("debian-12", "intel-xeon-gold-6248", "6.1.0-18-amd64");
    with_sysctls(dir.path(), "kernel-default");
    let checks = evaluate(
        &rules,
        &rules.profiles["install-host"],
        &Facts::read(dir.path()),
    );
    assert!(
        !checks.iter().any(|c| c.check.starts_with("sysctl")),
        "{checks:#?}"
    );
}

#[test]
fn the_report_shows_the_udp_buffer_caps() {
    let dir = root(
        "kylin-v10-sp2",
        "kunpeng-920",
        "4.19.90-24.4.v2101.ky10.aarch64",
    );
    with_sysctls(dir.path(), "rmem-only");
    let out = Command::new(env!("CARGO_BIN_EXE_yunhui"))
        .args(["preflight", "--profile", "all-in-one", "--root"])
        .arg(dir.path())
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    let line = |name: &str| {
        table
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| {
                panic!(
                    "no {name} line in\n{table}{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            })
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        line("sysctl net.core.rmem_max"),
        "sysctl net.core.rmem_max PASS 33554432 (at least 16777216)"
    );
    let wmem = line("sysctl net.core.wmem_max");
    assert!(
        wmem.starts_with("sysctl net.core.wmem_max WARN 212992: below 16777216")
            && wmem.contains("sysctl -w net.core.wmem_max=16777216"),
        "{wmem}"
    );
}

/// One expected line of a report: the check, its verdict, and words its
/// detail must contain.
type Expect = (&'static str, Verdict, &'static [&'static str]);

fn assert_checks(what: &str, checks: &BTreeMap<String, (Verdict, String)>, expected: &[Expect]) {
    for (name, verdict, words) in expected {
        let (got, detail) = checks
            .get(*name)
            .unwrap_or_else(|| panic!("{what}: no {name:?} check in {checks:#?}"));
        assert_eq!(got, verdict, "{what}, {name}: {detail}");
        for word in *words {
            assert!(
                detail.contains(word),
                "{what}, {name}: {word:?} not in {detail:?}"
            );
        }
    }
}

#[test]
fn each_domestic_system_is_judged_on_what_differs_with_a_fix() {
    use Verdict::{Fail, Pass, Warn};
    let cases: &[(&str, &str, &str, &[Expect])] = &[
        (
            "kylin-v10-sp1",
            "kylin-v10-sp1",
            "kunpeng-920",
            &[
                ("operating system", Pass, &["Kylin V10 SP1", "(Tercel)"]),
                (
                    "cpu",
                    Pass,
                    &["Huawei Kunpeng Kunpeng 920 (arm64, 2 logical CPUs)"],
                ),
                (
                    "kernel",
                    Warn,
                    &["4.19.90-23.6.v2101.ky10.aarch64", "5.10 or newer"],
                ),
                ("module nf_conntrack", Pass, &["loaded"]),
                (
                    "module overlay",
                    Warn,
                    &["modprobe overlay", "/etc/modules-load.d/", "ftype=1"],
                ),
                ("module br_netfilter", Warn, &["modprobe br_netfilter"]),
                (
                    "cgroup",
                    Fail,
                    &[
                        "v1:",
                        "systemd.unified_cgroup_hierarchy=1",
                        "grubby",
                        "kernel 4.19.90-23.6.v2101.ky10.aarch64 has cgroup v2, but Kubernetes recommends 5.8",
                    ],
                ),
                (
                    "selinux",
                    Pass,
                    &["not running (/etc/selinux/config: disabled)"],
                ),
                (
                    "kysec",
                    Warn,
                    &[
                        "kysec_status = 1, kysec_exectl = 1",
                        "containerd, runc and kubelet",
                        "setstatus softmode",
                    ],
                ),
                (
                    "time sync",
                    Warn,
                    &[
                        "chronyd is installed",
                        "systemctl enable --now chronyd",
                        "/etc/chrony.conf",
                    ],
                ),
            ],
        ),
        (
            "kylin-v10-sp2",
            "kylin-v10-sp2",
            "phytium-s2500",
            &[
                ("operating system", Pass, &["Kylin V10 SP2", "(Sword)"]),
                ("cpu", Pass, &["Phytium FT-2000/4, D2000 or S2500 (arm64"]),
                ("module nf_conntrack", Pass, &["loaded"]),
                ("module overlay", Pass, &["loaded"]),
                ("module br_netfilter", Pass, &["loaded"]),
                (
                    "cgroup",
                    Fail,
                    &["v1:", "systemd.unified_cgroup_hierarchy=1"],
                ),
                (
                    "selinux",
                    Warn,
                    &[
                        "permissive now",
                        "enforcing at the next boot",
                        "SELINUX=permissive",
                    ],
                ),
                ("kysec", Pass, &["execution control off (kysec_exectl = 0)"]),
                ("time sync", Pass, &["chronyd runs"]),
            ],
        ),
        (
            "kylin-v10-sp3",
            "kylin-v10-sp3",
            "hygon-c86-7285",
            &[
                ("operating system", Pass, &["Kylin V10 SP3", "(Lance)"]),
                (
                    "cpu",
                    Pass,
                    &["Hygon Hygon C86 7285 32-core Processor (amd64"],
                ),
                ("kernel", Warn, &["4.19.90-52.22.v2207.ky10.x86_64"]),
                ("cgroup", Pass, &["v2 (unified)"]),
                ("selinux", Pass, &["disabled"]),
                ("kysec", Pass, &["off (kysec_status = 0)"]),
                ("time sync", Pass, &["chronyd runs"]),
            ],
        ),
        (
            "uos-20",
            "uos-20",
            "hygon-c86-7285",
            &[
                ("operating system", Pass, &["UnionTech OS 20"]),
                ("kernel", Warn, &["4.19.0-91.82.152.uelc20.x86_64"]),
                (
                    "module nf_conntrack",
                    Warn,
                    &[
                        "modprobe nf_conntrack`",
                        "nf_conntrack_ipv4 is part of nf_conntrack",
                    ],
                ),
                ("module overlay", Pass, &["loaded"]),
                ("cgroup", Fail, &["v1:"]),
                ("selinux", Pass, &["disabled"]),
                ("time sync", Warn, &["chronyd, ntpd all run", "keep one"]),
            ],
        ),
        (
            "openeuler-22.03",
            "openeuler-22.03",
            "kunpeng-920",
            &[
                ("operating system", Pass, &["openEuler 22.03 LTS"]),
                ("kernel", Pass, &["5.10.0-136.12.0.86.oe2203sp1.aarch64"]),
                ("module nf_conntrack", Pass, &["loaded"]),
                (
                    "cgroup",
                    Fail,
                    &["v1:", "systemd.unified_cgroup_hierarchy=1"],
                ),
                (
                    "selinux",
                    Warn,
                    &[
                        "enforcing:",
                        "container-selinux",
                        "setenforce 0",
                        "SELINUX=permissive",
                    ],
                ),
                ("time sync", Pass, &["chronyd runs"]),
            ],
        ),
        (
            "centos-7",
            "centos-7",
            "intel-xeon-gold-6248",
            &[
                ("operating system", Fail, &["CentOS 7"]),
                ("kernel", Fail, &["older than the minimum 4.19"]),
                (
                    "module nf_conntrack",
                    Pass,
                    &["this kernel calls it nf_conntrack_ipv4; loaded"],
                ),
                (
                    "cgroup",
                    Fail,
                    &["kernel 3.10.0-1160.el7.x86_64 has cgroup v2, but Kubernetes recommends 5.8"],
                ),
            ],
        ),
    ];
    for (host, os, cpu, expected) in cases {
        let dir = host_root(host, os, cpu);
        let checks = checks_by_name("cluster-node", dir.path());
        assert_checks(host, &checks, expected);
        if !expected.iter().any(|(name, _, _)| *name == "kysec") {
            assert!(
                !checks.contains_key("kysec"),
                "{host}: only Kylin has kysec"
            );
        }
    }

    // openEuler 24.03 on cgroup v2 with SELinux permissive: every check of
    // the host passes (the UDP buffer caps are not in the tree).
    let dir = host_root("openeuler-24.03", "openeuler-24.03", "hygon-c86-7285");
    for (name, (verdict, detail)) in checks_by_name("cluster-node", dir.path()) {
        if !name.starts_with("sysctl") {
            assert_eq!(verdict, Pass, "openEuler 24.03, {name}: {detail}");
        }
    }
}

#[test]
fn a_host_running_no_containers_is_not_held_to_the_node_rules() {
    use Verdict::{Pass, Warn};
    let dir = host_root("openeuler-22.03", "openeuler-22.03", "kunpeng-920");
    assert_checks(
        "openEuler 22.03 all-in-one",
        &checks_by_name("all-in-one", dir.path()),
        &[
            (
                "selinux",
                Pass,
                &["enforcing (this host runs no containers)"],
            ),
            ("cgroup", Warn, &["v1:"]),
        ],
    );
    let dir = host_root("kylin-v10-sp1", "kylin-v10-sp1", "kunpeng-920");
    let checks = checks_by_name("all-in-one", dir.path());
    assert_checks(
        "Kylin V10 SP1 all-in-one",
        &checks,
        &[("kysec", Warn, &["the yunhui program", "setstatus softmode"])],
    );
    assert!(
        !checks.keys().any(|c| c.starts_with("module")),
        "{checks:#?}"
    );
}

#[test]
fn modules_are_found_through_the_kernel_configuration() {
    use Verdict::{Fail, Pass, Warn};
    let release = "4.19.0-91.82.152.uelc20.x86_64";
    let dir = host_root("uos-20", "uos-20", "hygon-c86-7285");
    // No module lists: only /boot/config-<release> says what the kernel has.
    std::fs::remove_dir_all(dir.path().join("lib/modules")).unwrap();
    std::fs::write(dir.path().join("proc/modules"), "").unwrap();
    let config = dir.path().join(format!("boot/config-{release}"));
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("CONFIG_OVERLAY_FS=m", "CONFIG_OVERLAY_FS=y")
        .replace(
            "CONFIG_BRIDGE_NETFILTER=m",
            "# CONFIG_BRIDGE_NETFILTER is not set",
        );
    std::fs::write(&config, text).unwrap();
    assert_checks(
        "UOS 20 by its kernel configuration",
        &checks_by_name("cluster-node", dir.path()),
        &[
            (
                "module nf_conntrack",
                Warn,
                &["not loaded", "modprobe nf_conntrack"],
            ),
            (
                "module overlay",
                Pass,
                &["built into the kernel (CONFIG_OVERLAY_FS=y)"],
            ),
            (
                "module br_netfilter",
                Fail,
                &["CONFIG_BRIDGE_NETFILTER is not set", "modules package"],
            ),
        ],
    );

    // Neither lists nor configuration: cannot tell.
    std::fs::remove_file(&config).unwrap();
    assert_checks(
        "UOS 20 with nothing to read",
        &checks_by_name("cluster-node", dir.path()),
        &[("module overlay", Warn, &["cannot tell"])],
    );
}

#[test]
fn the_report_names_the_kylin_fixes() {
    let dir = host_root("kylin-v10-sp1", "kylin-v10-sp1", "kunpeng-920");
    let out = Command::new(env!("CARGO_BIN_EXE_yunhui"))
        .args(["preflight", "--profile", "cluster-node", "--root"])
        .arg(dir.path())
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "cgroup v1 fails a node:\n{table}");
    for line in [
        "kysec ",
        "selinux ",
        "module overlay ",
        "cgroup ",
        "time sync ",
    ] {
        assert!(
            table.lines().any(|l| l.starts_with(line)),
            "no {line:?} line in\n{table}"
        );
    }
    let kysec = table.lines().find(|l| l.starts_with("kysec ")).unwrap();
    assert!(
        kysec.contains("WARN") && kysec.contains("setstatus softmode"),
        "{kysec}"
    );
}
