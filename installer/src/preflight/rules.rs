//! The preflight rules (`airgap/preflight.toml`) and their one interpreter:
//! pure functions from host facts to verdicts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::facts::{
    CgroupMode, CpuInfo, Facts, Kysec, OsRelease, SYSCTLS, Selinux, TimeSync, sysctl_path,
};

/// The rules file, embedded in the binary.
pub const EMBEDDED_RULES: &str = include_str!("../../../airgap/preflight.toml");

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Supported.
    Pass,
    /// Works, but needs attention.
    Warn,
    /// Cannot run here.
    Fail,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Pass => "pass",
            Verdict::Warn => "warn",
            Verdict::Fail => "fail",
        })
    }
}

/// The whole rules file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// Operating systems, matched in order.
    pub os: Vec<OsRule>,
    /// CPUs, matched in order.
    pub cpu: Vec<CpuRule>,
    /// Kernel versions.
    pub kernel: KernelRule,
    /// Host profiles by name.
    pub profiles: BTreeMap<String, Profile>,
    /// Kernel settings with a lower limit.
    #[serde(default)]
    pub sysctl: Vec<SysctlRule>,
    /// Kernel modules the profiles name: how each is configured and what
    /// older kernels call it.
    #[serde(default)]
    pub module: Vec<ModuleRule>,
}

/// A kernel module a profile needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModuleRule {
    /// Module name (with `_`), as `modprobe` and `/proc/modules` name it.
    pub name: String,
    /// The kernel configuration symbol that builds it (`CONFIG_OVERLAY_FS`):
    /// `=y` built in, `=m` a loadable module, not set: absent.
    pub config: String,
    /// The name kernels before some version give it instead.
    #[serde(default)]
    pub older_kernels: Option<OlderName>,
    /// Said after every verdict but a pass (e.g. what differs by kernel).
    #[serde(default)]
    pub note: Option<String>,
}

/// A module's name on kernels older than `below`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OlderName {
    /// First kernel version (`4.19`) that uses the module's own name.
    pub below: String,
    /// The module's name on older kernels.
    pub name: String,
    /// Its configuration symbol there.
    pub config: String,
}

/// A kernel setting (`/proc/sys`) that must be at least some value.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SysctlRule {
    /// Dotted name, as `sysctl` prints it (e.g. `net.core.rmem_max`); one of
    /// the settings preflight reads.
    pub name: String,
    /// The lowest value that passes.
    pub minimum: u64,
    /// Verdict below the minimum (`warn` or `fail`).
    pub verdict: Verdict,
    /// Profiles the setting is checked for.
    pub profiles: Vec<String>,
    /// What to do when the value is below the minimum.
    pub note: String,
}

impl SysctlRule {
    /// Verdict on the setting's value as read (`None`: the file is missing).
    pub fn check(&self, value: Option<&str>) -> (Verdict, String) {
        let minimum = self.minimum;
        let Some(text) = value else {
            return (
                Verdict::Warn,
                format!(
                    "cannot read /{}, so cannot tell whether it is at least {minimum}; {}",
                    sysctl_path(&self.name).display(),
                    self.note
                ),
            );
        };
        match text.trim().parse::<u64>() {
            Ok(v) if v >= minimum => (Verdict::Pass, format!("{v} (at least {minimum})")),
            Ok(v) => (self.verdict, format!("{v}: below {minimum}; {}", self.note)),
            Err(_) => (
                Verdict::Warn,
                format!(
                    "cannot read the value {text:?}, so cannot tell whether it is at least {minimum}; {}",
                    self.note
                ),
            ),
        }
    }
}

/// One operating system entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OsRule {
    /// `ID` from os-release, case-insensitive; `*` matches any.
    pub id: String,
    /// Prefix of `VERSION_ID`.
    #[serde(default)]
    pub version_prefix: Option<String>,
    /// Substring of `VERSION` (e.g. a Kylin service-pack code name).
    #[serde(default)]
    pub version_contains: Option<String>,
    /// Name shown in the report.
    pub name: String,
    /// Verdict for this system.
    pub verdict: Verdict,
    /// Why, when not a plain pass.
    #[serde(default)]
    pub note: Option<String>,
}

/// One CPU entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpuRule {
    /// Vendor shown in the report.
    pub vendor: String,
    /// x86 `vendor_id`, compared trimmed.
    #[serde(default)]
    pub vendor_id: Option<String>,
    /// Arm `CPU implementer`, e.g. `0x48`.
    #[serde(default)]
    pub implementer: Option<String>,
    /// Arm `CPU part`, e.g. `0xd01`.
    #[serde(default)]
    pub part: Option<String>,
    /// Substring of the model name.
    #[serde(default)]
    pub model_contains: Option<String>,
    /// Model shown when the CPU does not print one (Arm).
    #[serde(default)]
    pub model: Option<String>,
    /// Image architecture for this CPU (`amd64`, `arm64`, `loong64`).
    pub arch: String,
    /// Verdict for this CPU.
    pub verdict: Verdict,
    /// Why, when not a plain pass.
    #[serde(default)]
    pub note: Option<String>,
}

/// Kernel version limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KernelRule {
    /// Below this: fail.
    pub minimum: String,
    /// Below this: warn.
    pub recommended: String,
}

/// What one kind of host needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// What the profile is for.
    pub description: String,
    /// Kernel modules that must be available.
    pub modules: Vec<String>,
    /// TCP ports that must be free.
    pub tcp_ports: Vec<u16>,
    /// UDP ports that must be free.
    pub udp_ports: Vec<u16>,
    /// Verdict for a host still on cgroup v1 (or the hybrid layout).
    pub cgroup_v1: Verdict,
    /// Verdict for SELinux enforcing (now or after the next boot).
    pub selinux_enforcing: Verdict,
    /// Verdict for Kylin's kysec with its execution control on.
    pub kysec_exectl: Verdict,
    /// Assumed bundle size when none is given.
    pub bundle_bytes: u64,
    /// The profile's name (its key in the rules file).
    #[serde(skip)]
    pub name: String,
}

impl Profile {
    /// The sysctl rules checked for this profile.
    pub fn sysctls<'a>(&'a self, rules: &'a Rules) -> impl Iterator<Item = &'a SysctlRule> {
        rules
            .sysctl
            .iter()
            .filter(|rule| rule.profiles.contains(&self.name))
    }
}

/// The result of matching the operating system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsMatch {
    /// Recognised name.
    pub name: String,
    /// Verdict.
    pub verdict: Verdict,
    /// Detail for the report.
    pub detail: String,
}

/// The result of matching the CPU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuMatch {
    /// Vendor (e.g. `Hygon`).
    pub vendor: String,
    /// Model name.
    pub model: String,
    /// Image architecture.
    pub arch: String,
    /// Verdict.
    pub verdict: Verdict,
    /// Detail for the report.
    pub detail: String,
}

impl Rules {
    /// Parses a rules file.
    pub fn parse(text: &str) -> Result<Rules, String> {
        let mut rules: Rules =
            toml::from_str(text).map_err(|e| format!("the preflight rules are invalid: {e}"))?;
        if rules.os.is_empty() || rules.cpu.is_empty() {
            return Err(
                "the preflight rules need at least one [[os]] and one [[cpu]] entry".into(),
            );
        }
        parse_version(&rules.kernel.minimum)
            .and(parse_version(&rules.kernel.recommended))
            .ok_or("kernel versions in the preflight rules must look like 4.19")?;
        for (name, profile) in &mut rules.profiles {
            profile.name = name.clone();
        }
        for (i, rule) in rules.sysctl.iter().enumerate() {
            if !SYSCTLS.contains(&rule.name.as_str()) {
                return Err(format!(
                    "[[sysctl]] {:?} in the preflight rules is not a setting preflight reads; it reads {}",
                    rule.name,
                    SYSCTLS.join(", ")
                ));
            }
            if rules.sysctl[..i].iter().any(|r| r.name == rule.name) {
                return Err(format!(
                    "[[sysctl]] {:?} appears twice in the preflight rules",
                    rule.name
                ));
            }
            if rule.verdict == Verdict::Pass {
                return Err(format!(
                    "[[sysctl]] {:?} in the preflight rules: the verdict below the minimum must be \"warn\" or \"fail\"",
                    rule.name
                ));
            }
            if rule.profiles.is_empty() {
                return Err(format!(
                    "[[sysctl]] {:?} in the preflight rules names no profiles",
                    rule.name
                ));
            }
            if let Some(unknown) = rule
                .profiles
                .iter()
                .find(|p| !rules.profiles.contains_key(*p))
            {
                return Err(format!(
                    "[[sysctl]] {:?} in the preflight rules names the unknown profile {unknown:?}; profiles are {}",
                    rule.name,
                    rules
                        .profiles
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        for module in &rules.module {
            let versions = std::iter::once(&rules.kernel.minimum)
                .chain(module.older_kernels.as_ref().map(|o| &o.below));
            if versions.into_iter().any(|v| parse_version(v).is_none()) {
                return Err(format!(
                    "[[module]] {:?} in the preflight rules: `below` must look like 4.19",
                    module.name
                ));
            }
        }
        for (name, profile) in &rules.profiles {
            if let Some(unknown) = profile
                .modules
                .iter()
                .find(|m| !rules.module.iter().any(|r| &r.name == *m))
            {
                return Err(format!(
                    "profile {name:?} in the preflight rules names the module {unknown:?}, which has no [[module]] entry"
                ));
            }
        }
        Ok(rules)
    }

    /// The rule of a module a profile names.
    pub fn module(&self, name: &str) -> Option<&ModuleRule> {
        self.module.iter().find(|m| m.name == name)
    }

    /// The first OS rule that matches, or `None` when even no fallback does.
    pub fn match_os(&self, os: &OsRelease) -> OsMatch {
        let id = os.get("ID").unwrap_or_default();
        let version_id = os.get("VERSION_ID").unwrap_or_default();
        let version = os.get("VERSION").unwrap_or_default();
        let pretty = os.get("PRETTY_NAME").unwrap_or(id);
        for rule in &self.os {
            let id_ok = rule.id == "*" || rule.id.eq_ignore_ascii_case(id);
            let prefix_ok = rule
                .version_prefix
                .as_deref()
                .is_none_or(|p| version_id.starts_with(p));
            let contains_ok = rule
                .version_contains
                .as_deref()
                .is_none_or(|c| version.contains(c));
            if id_ok && prefix_ok && contains_ok {
                let mut detail = pretty.to_string();
                if let Some(note) = &rule.note {
                    detail.push_str(": ");
                    detail.push_str(note);
                }
                return OsMatch {
                    name: rule.name.clone(),
                    verdict: rule.verdict,
                    detail,
                };
            }
        }
        OsMatch {
            name: "unknown".into(),
            verdict: Verdict::Warn,
            detail: format!("{pretty}: no preflight rule matches this system"),
        }
    }

    /// The first CPU rule that matches.
    pub fn match_cpu(&self, cpu: &CpuInfo) -> CpuMatch {
        for rule in &self.cpu {
            let vendor_ok = rule
                .vendor_id
                .as_deref()
                .is_none_or(|v| cpu.vendor_id.as_deref().map(str::trim) == Some(v));
            let impl_ok = rule.implementer.as_deref().is_none_or(|v| {
                cpu.implementer
                    .as_deref()
                    .is_some_and(|i| i.eq_ignore_ascii_case(v))
            });
            let part_ok = rule.part.as_deref().is_none_or(|v| {
                cpu.part
                    .as_deref()
                    .is_some_and(|p| p.eq_ignore_ascii_case(v))
            });
            let model_ok = rule
                .model_contains
                .as_deref()
                .is_none_or(|v| cpu.model_name.as_deref().is_some_and(|m| m.contains(v)));
            let anything = rule.vendor_id.is_some()
                || rule.implementer.is_some()
                || rule.model_contains.is_some();
            if anything && vendor_ok && impl_ok && part_ok && model_ok {
                let model = cpu
                    .model_name
                    .clone()
                    .or_else(|| rule.model.clone())
                    .unwrap_or_else(|| rule.vendor.clone());
                let mut detail = format!(
                    "{} {} ({}, {} logical CPUs)",
                    rule.vendor, model, rule.arch, cpu.count
                );
                if let Some(note) = &rule.note {
                    detail.push_str(": ");
                    detail.push_str(note);
                }
                return CpuMatch {
                    vendor: rule.vendor.clone(),
                    model,
                    arch: rule.arch.clone(),
                    verdict: rule.verdict,
                    detail,
                };
            }
        }
        CpuMatch {
            vendor: "unknown".into(),
            model: cpu.model_name.clone().unwrap_or_else(|| "unknown".into()),
            arch: "unknown".into(),
            verdict: Verdict::Fail,
            detail: "no preflight rule matches this CPU; Yunhui ships for x86_64 (Intel, AMD, Hygon, Zhaoxin) and arm64 (Kunpeng, Phytium)".into(),
        }
    }

    /// Verdict on a kernel release string such as `4.19.90-24.4.v2101.ky10.aarch64`.
    pub fn check_kernel(&self, release: &str) -> (Verdict, String) {
        let Some(version) = parse_version(release) else {
            return (
                Verdict::Warn,
                format!("cannot read the kernel version {release:?}"),
            );
        };
        let minimum = parse_version(&self.kernel.minimum).unwrap_or((0, 0));
        let recommended = parse_version(&self.kernel.recommended).unwrap_or((0, 0));
        if version < minimum {
            (
                Verdict::Fail,
                format!("{release}: older than the minimum {}", self.kernel.minimum),
            )
        } else if version < recommended {
            (
                Verdict::Warn,
                format!(
                    "{release}: runs, but {} or newer is recommended",
                    self.kernel.recommended
                ),
            )
        } else {
            (Verdict::Pass, release.to_string())
        }
    }
}

impl ModuleRule {
    /// Verdict on the module on this host: loaded, built in (`modules.builtin`
    /// or `CONFIG_…=y`), loadable (`modules.dep` or `=m`), or absent. On a
    /// kernel older than `older_kernels.below` the older name is checked.
    pub fn check(&self, facts: &Facts) -> (Verdict, String) {
        let kernel = facts.kernel.as_deref().and_then(parse_version);
        let (name, config) = match &self.older_kernels {
            Some(older)
                if kernel.is_some_and(|k| parse_version(&older.below).is_some_and(|b| k < b)) =>
            {
                (older.name.as_str(), older.config.as_str())
            }
            _ => (self.name.as_str(), self.config.as_str()),
        };
        let called = if name == self.name {
            String::new()
        } else {
            format!("this kernel calls it {name}; ")
        };
        let m = &facts.modules;
        let configured = facts.kernel_config.get(config).map(String::as_str);
        let note = |text: String| match &self.note {
            Some(note) => format!("{text} ({note})"),
            None => text,
        };
        if m.loaded.contains(name) {
            (Verdict::Pass, format!("{called}loaded"))
        } else if m.builtin.contains(name) || configured == Some("y") {
            (
                Verdict::Pass,
                format!("{called}built into the kernel ({config}=y)"),
            )
        } else if m.loadable.contains(name) || configured == Some("m") {
            (
                Verdict::Warn,
                note(format!(
                    "{called}not loaded; run `modprobe {name}` and keep it across reboots with `echo {name} > /etc/modules-load.d/yunhui-{name}.conf`"
                )),
            )
        } else if m.listed || !facts.kernel_config.is_empty() {
            (
                Verdict::Fail,
                note(format!(
                    "{called}not in this kernel ({config} is not set and no {name} module is installed); install the modules package of this kernel release from the system's media, or boot a kernel built with {config}"
                )),
            )
        } else {
            (
                Verdict::Warn,
                note(format!(
                    "{called}not loaded, and neither the kernel's module lists (/lib/modules/<release>) nor its configuration (/boot/config-<release>) are readable; cannot tell whether it is available"
                )),
            )
        }
    }
}

impl Profile {
    /// Verdict on the cgroup hierarchy; `kernel` adds the kernel's own limit.
    pub fn check_cgroup(
        &self,
        cgroup: Option<CgroupMode>,
        kernel: Option<&str>,
    ) -> (Verdict, String) {
        let switch = "boot with cgroup v2: `grubby --update-kernel=ALL --args=systemd.unified_cgroup_hierarchy=1` (on Debian-based systems add it to GRUB_CMDLINE_LINUX in /etc/default/grub and run update-grub), then reboot";
        let old_kernel = kernel
            .and_then(parse_version)
            .filter(|&k| k < (5, 8))
            .map(|_| {
                format!(
                    "; kernel {} has cgroup v2, but Kubernetes recommends 5.8 or later for it",
                    kernel.unwrap_or_default()
                )
            })
            .unwrap_or_default();
        match cgroup {
            Some(CgroupMode::Unified) => (Verdict::Pass, "v2 (unified)".into()),
            Some(CgroupMode::Hybrid) => (
                self.cgroup_v1,
                format!(
                    "hybrid (v1 controllers, v2 only for systemd): the kubelet of Kubernetes 1.35 refuses cgroup v1 on nodes; {switch}{old_kernel}"
                ),
            ),
            Some(CgroupMode::Legacy) => (
                self.cgroup_v1,
                format!(
                    "v1: the kubelet of Kubernetes 1.35 refuses cgroup v1 on nodes; {switch}{old_kernel}"
                ),
            ),
            None => (Verdict::Warn, "no /sys/fs/cgroup".into()),
        }
    }

    /// Verdict on SELinux now (`/sys/fs/selinux/enforce`) and after the next
    /// boot (`SELINUX=` in `/etc/selinux/config`).
    pub fn check_selinux(&self, selinux: &Selinux) -> (Verdict, String) {
        let relax = "run `setenforce 0` and set SELINUX=permissive in /etc/selinux/config, or install the container-selinux policy the site allows";
        let why = "containerd and the kubelet label host-network pods and hostPath volumes, which an enforcing policy without container-selinux refuses";
        let configured = selinux.configured.as_deref();
        match (selinux.enforcing, configured) {
            (Some(true), _) if self.selinux_enforcing == Verdict::Pass => (
                Verdict::Pass,
                "enforcing (this host runs no containers)".into(),
            ),
            (Some(true), _) => (self.selinux_enforcing, format!("enforcing: {why}; {relax}")),
            (_, Some("enforcing")) if self.selinux_enforcing != Verdict::Pass => (
                self.selinux_enforcing,
                format!(
                    "{} now, but /etc/selinux/config makes it enforcing at the next boot: {why}; set SELINUX=permissive there",
                    if selinux.enforcing.is_some() {
                        "permissive"
                    } else {
                        "off"
                    }
                ),
            ),
            (Some(false), _) => (Verdict::Pass, "permissive".into()),
            (None, Some(mode)) => (
                Verdict::Pass,
                format!("not running (/etc/selinux/config: {mode})"),
            ),
            (None, None) => (Verdict::Pass, "not present".into()),
        }
    }

    /// Verdict on Kylin's kysec.
    pub fn check_kysec(&self, kysec: &Kysec) -> (Verdict, String) {
        let switch = "before installing, switch it to warning mode with `setstatus softmode` (kysec then logs instead of blocking; `getstatus` shows the state), or have the site's security officer add the programs to kysec's whitelist";
        let what = if self.modules.is_empty() {
            "the yunhui program"
        } else {
            "yunhui, and the containerd, runc and kubelet programs and container images' binaries the bundle brings"
        };
        match (kysec.status, kysec.exectl) {
            (Some(0), _) => (Verdict::Pass, "off (kysec_status = 0)".into()),
            (_, Some(0)) => (
                Verdict::Pass,
                "on, with execution control off (kysec_exectl = 0)".into(),
            ),
            (status, exectl) => {
                let state = match (status, exectl) {
                    (Some(s), Some(e)) => format!("on (kysec_status = {s}, kysec_exectl = {e})"),
                    (Some(s), None) => format!("on (kysec_status = {s})"),
                    _ => "in the running kernel (/sys/kernel/security/kysec), state unknown (no /etc/kysec/kysec.conf)".into(),
                };
                (
                    self.kysec_exectl,
                    format!(
                        "{state}: its execution control blocks programs it has not measured, which includes {what}; {switch}"
                    ),
                )
            }
        }
    }
}

/// Verdict on time synchronisation: which service keeps the clock, or what to
/// start or install.
pub fn check_time_sync(time: &TimeSync) -> (Verdict, String) {
    let site = "point it at the site's NTP server (`server <address> iburst` in /etc/chrony.conf); tokens and TLS need correct clocks";
    let running: Vec<&str> = time.running.iter().map(String::as_str).collect();
    match running.as_slice() {
        [] if !time.saw_processes && !time.timesyncd_synchronized => (
            Verdict::Warn,
            "cannot tell whether the clock is synchronised (no processes under /proc)".into(),
        ),
        [] if time.timesyncd_synchronized => (
            Verdict::Pass,
            "clock synchronised by systemd-timesyncd".into(),
        ),
        [] => match time.installed.first() {
            Some(service) => (
                Verdict::Warn,
                format!(
                    "no time synchronisation runs; {service} is installed: `systemctl enable --now {service}` and {site}"
                ),
            ),
            None => (
                Verdict::Warn,
                format!(
                    "no time synchronisation installed; install chrony from the system's media (`dnf install chrony` or `apt install chrony`), `systemctl enable --now chronyd`, and {site}"
                ),
            ),
        },
        ["systemd-timesyncd"] if !time.timesyncd_synchronized => (
            Verdict::Warn,
            "systemd-timesyncd runs but has not synchronised the clock; set NTP=<the site's NTP server> in /etc/systemd/timesyncd.conf and `systemctl restart systemd-timesyncd`".into(),
        ),
        [one] => (Verdict::Pass, format!("{one} runs")),
        many => (
            Verdict::Warn,
            format!(
                "{} all run and fight over the clock; keep one (chronyd on Kylin, UOS and openEuler): `systemctl disable --now` the others",
                many.join(", ")
            ),
        ),
    }
}

/// Major and minor of a version string (`5.10.0-60.18.0.50.oe2203.x86_64` -> (5, 10)).
pub fn parse_version(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.trim().split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_rules_parse() {
        let rules = Rules::parse(EMBEDDED_RULES).unwrap();
        assert!(rules.profiles.contains_key("all-in-one"));
        assert!(rules.profiles.contains_key("cluster-node"));
    }

    #[test]
    fn kernel_verdicts() {
        let rules = Rules::parse(EMBEDDED_RULES).unwrap();
        assert_eq!(
            rules.check_kernel("3.10.0-1160.el7.x86_64").0,
            Verdict::Fail
        );
        assert_eq!(
            rules.check_kernel("4.19.90-24.4.v2101.ky10.aarch64").0,
            Verdict::Warn
        );
        assert_eq!(
            rules.check_kernel("5.10.0-60.18.0.50.oe2203.x86_64").0,
            Verdict::Pass
        );
        assert_eq!(rules.check_kernel("6.1.0-18-amd64").0, Verdict::Pass);
        assert_eq!(rules.check_kernel("garbage").0, Verdict::Warn);
    }

    #[test]
    fn time_sync_verdicts() {
        let time = |running: &[&str], installed: &[&str], synchronized: bool| TimeSync {
            running: running.iter().map(|s| s.to_string()).collect(),
            installed: installed.iter().map(|s| s.to_string()).collect(),
            timesyncd_synchronized: synchronized,
            saw_processes: true,
        };
        let cases = [
            (
                time(&["chronyd"], &["chronyd"], false),
                Verdict::Pass,
                "chronyd runs",
            ),
            (
                time(&["ntpd"], &["ntpd"], false),
                Verdict::Pass,
                "ntpd runs",
            ),
            (
                time(&["systemd-timesyncd"], &[], true),
                Verdict::Pass,
                "systemd-timesyncd runs",
            ),
            (
                time(&["systemd-timesyncd"], &[], false),
                Verdict::Warn,
                "NTP=<the site's NTP server>",
            ),
            (
                time(&[], &[], true),
                Verdict::Pass,
                "synchronised by systemd-timesyncd",
            ),
            (
                time(&[], &["ntpd"], false),
                Verdict::Warn,
                "systemctl enable --now ntpd",
            ),
            (time(&[], &[], false), Verdict::Warn, "dnf install chrony"),
            (
                time(&["chronyd", "systemd-timesyncd"], &[], false),
                Verdict::Warn,
                "keep one",
            ),
        ];
        for (facts, verdict, words) in cases {
            let (got, detail) = check_time_sync(&facts);
            assert_eq!(got, verdict, "{facts:?}: {detail}");
            assert!(detail.contains(words), "{facts:?}: {detail}");
        }
        let unknown = TimeSync::default();
        assert_eq!(check_time_sync(&unknown).0, Verdict::Warn);
    }

    #[test]
    fn selinux_verdicts_by_profile() {
        let rules = Rules::parse(EMBEDDED_RULES).unwrap();
        let node = &rules.profiles["cluster-node"];
        let aio = &rules.profiles["all-in-one"];
        let selinux = |enforcing: Option<bool>, configured: Option<&str>| Selinux {
            enforcing,
            configured: configured.map(String::from),
        };
        let cases = [
            (
                node,
                selinux(Some(true), Some("enforcing")),
                Verdict::Warn,
                "setenforce 0",
            ),
            (
                aio,
                selinux(Some(true), Some("enforcing")),
                Verdict::Pass,
                "runs no containers",
            ),
            (
                node,
                selinux(Some(false), Some("enforcing")),
                Verdict::Warn,
                "at the next boot",
            ),
            (
                node,
                selinux(None, Some("enforcing")),
                Verdict::Warn,
                "off now",
            ),
            (
                aio,
                selinux(Some(false), Some("enforcing")),
                Verdict::Pass,
                "permissive",
            ),
            (
                node,
                selinux(Some(false), Some("permissive")),
                Verdict::Pass,
                "permissive",
            ),
            (
                node,
                selinux(None, Some("disabled")),
                Verdict::Pass,
                "disabled",
            ),
            (node, selinux(None, None), Verdict::Pass, "not present"),
        ];
        for (profile, state, verdict, words) in cases {
            let (got, detail) = profile.check_selinux(&state);
            assert_eq!(got, verdict, "{} {state:?}: {detail}", profile.name);
            assert!(
                detail.contains(words),
                "{} {state:?}: {detail}",
                profile.name
            );
        }
    }

    #[test]
    fn kysec_and_cgroup_verdicts() {
        let rules = Rules::parse(EMBEDDED_RULES).unwrap();
        let node = &rules.profiles["cluster-node"];
        let kysec = |in_kernel, status, exectl| Kysec {
            in_kernel,
            status,
            exectl,
        };
        assert_eq!(
            node.check_kysec(&kysec(true, Some(0), Some(1))).0,
            Verdict::Pass
        );
        assert_eq!(
            node.check_kysec(&kysec(true, Some(1), Some(0))).0,
            Verdict::Pass
        );
        let (verdict, detail) = node.check_kysec(&kysec(true, None, None));
        assert_eq!(verdict, Verdict::Warn);
        assert!(detail.contains("state unknown"), "{detail}");
        let (verdict, detail) = node.check_kysec(&kysec(false, Some(2), None));
        assert_eq!(verdict, Verdict::Warn);
        assert!(detail.contains("kysec_status = 2"), "{detail}");

        let (verdict, detail) = node.check_cgroup(Some(CgroupMode::Hybrid), Some("5.10.0"));
        assert_eq!(verdict, Verdict::Fail);
        assert!(
            detail.starts_with("hybrid") && !detail.contains("5.8"),
            "{detail}"
        );
        let (verdict, detail) =
            rules.profiles["all-in-one"].check_cgroup(Some(CgroupMode::Legacy), Some("4.19.90"));
        assert_eq!(verdict, Verdict::Warn);
        assert!(detail.contains("recommends 5.8"), "{detail}");
        assert_eq!(
            node.check_cgroup(Some(CgroupMode::Unified), Some("4.19.90"))
                .0,
            Verdict::Pass
        );
        assert_eq!(node.check_cgroup(None, None).0, Verdict::Warn);
    }

    #[test]
    fn module_rules_must_cover_the_profiles() {
        let err = Rules::parse(&EMBEDDED_RULES.replace(
            "modules = [\"overlay\", \"br_netfilter\", \"nf_conntrack\"]",
            "modules = [\"overlay\", \"ip_vs\"]",
        ))
        .unwrap_err();
        assert!(
            err.contains("\"ip_vs\"") && err.contains("[[module]]"),
            "{err}"
        );
        let err = Rules::parse(&EMBEDDED_RULES.replace("below = \"4.19\"", "below = \"new\""))
            .unwrap_err();
        assert!(err.contains("below"), "{err}");
    }

    #[test]
    fn bad_rules_are_refused() {
        assert!(Rules::parse("os = 5").is_err());
        let err = Rules::parse(&EMBEDDED_RULES.replace("minimum = \"4.19\"", "minimum = \"new\""))
            .unwrap_err();
        assert!(err.contains("kernel versions"), "{err}");
    }

    /// The embedded rule for `name`.
    fn sysctl_rule(rules: &Rules, name: &str) -> SysctlRule {
        rules
            .sysctl
            .iter()
            .find(|r| r.name == name)
            .cloned()
            .unwrap_or_else(|| panic!("no [[sysctl]] {name} in the embedded rules"))
    }

    #[test]
    fn udp_buffer_sysctl_verdicts() {
        let rules = Rules::parse(EMBEDDED_RULES).unwrap();
        for name in ["net.core.rmem_max", "net.core.wmem_max"] {
            let rule = sysctl_rule(&rules, name);
            // What the SFU asks for (services/sfu/src/lib.rs, UDP_BUFFER_BYTES).
            assert_eq!(rule.minimum, 16 << 20, "{name}");
            let (verdict, detail) = rule.check(Some("212992\n"));
            assert_eq!(verdict, Verdict::Warn, "{name}: {detail}");
            assert!(
                detail.contains(&format!("sysctl -w {name}=16777216"))
                    && detail.contains("/etc/sysctl.d/"),
                "{name}: {detail}"
            );
            assert_eq!(rule.check(Some("16777215")).0, Verdict::Warn, "{name}");
            assert_eq!(rule.check(Some("16777216")).0, Verdict::Pass, "{name}");
            assert_eq!(rule.check(Some("33554432")).0, Verdict::Pass, "{name}");
            let (verdict, detail) = rule.check(None);
            assert_eq!(verdict, Verdict::Warn, "{name}: {detail}");
            assert!(
                detail.contains(&format!("cannot read /proc/sys/net/core/{}", &name[9..])),
                "{detail}"
            );
            assert_eq!(rule.check(Some("lots")).0, Verdict::Warn, "{name}");
        }
        // Nodes running the SFU are checked; the install host is not.
        for (profile, checked) in [
            ("all-in-one", true),
            ("cluster-node", true),
            ("install-host", false),
        ] {
            let names: Vec<&str> = rules.profiles[profile]
                .sysctls(&rules)
                .map(|r| r.name.as_str())
                .collect();
            let expected: &[&str] = if checked {
                &["net.core.rmem_max", "net.core.wmem_max"]
            } else {
                &[]
            };
            assert_eq!(names, expected, "{profile}");
        }
    }

    #[test]
    fn a_fail_verdict_below_the_minimum_is_honoured() {
        let rules = Rules::parse(&EMBEDDED_RULES.replacen(
            "verdict = \"warn\" # below the minimum",
            "verdict = \"fail\" # below the minimum",
            1,
        ))
        .unwrap();
        assert_eq!(
            sysctl_rule(&rules, "net.core.rmem_max")
                .check(Some("212992"))
                .0,
            Verdict::Fail
        );
    }

    #[test]
    fn bad_sysctl_rules_are_refused() {
        let refused = |from: &str, to: &str| {
            assert!(EMBEDDED_RULES.contains(from), "{from}");
            Rules::parse(&EMBEDDED_RULES.replacen(from, to, 1)).unwrap_err()
        };
        let err = refused(
            "name = \"net.core.rmem_max\"",
            "name = \"net.core.rmem_default\"",
        );
        assert!(
            err.contains("net.core.rmem_default") && err.contains("net.core.rmem_max"),
            "{err}"
        );
        let err = refused(
            "name = \"net.core.wmem_max\"",
            "name = \"net.core.rmem_max\"",
        );
        assert!(err.contains("twice"), "{err}");
        let err = refused(
            "verdict = \"warn\" # below the minimum",
            "verdict = \"pass\" # below the minimum",
        );
        assert!(err.contains("\"warn\" or \"fail\""), "{err}");
        let err = refused("minimum = 16777216", "minimum = -1");
        assert!(err.contains("invalid"), "{err}");
        let err = refused("minimum = 16777216", "minimum = \"16M\"");
        assert!(err.contains("invalid"), "{err}");
        let err = refused(
            "profiles = [\"all-in-one\", \"cluster-node\"]",
            "profiles = [\"all-in-one\", \"edge\"]",
        );
        assert!(
            err.contains("\"edge\"") && err.contains("cluster-node"),
            "{err}"
        );
        let err = refused(
            "profiles = [\"all-in-one\", \"cluster-node\"]",
            "profiles = []",
        );
        assert!(err.contains("no profiles"), "{err}");
        let err = refused("minimum = 16777216", "minimum = 16777216\nmaximum = 1");
        assert!(err.contains("maximum"), "{err}");
    }
}
