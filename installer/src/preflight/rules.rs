//! The preflight rules (`airgap/preflight.toml`) and their one interpreter:
//! pure functions from host facts to verdicts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::facts::{CpuInfo, OsRelease, SYSCTLS, sysctl_path};

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
    /// Verdict for a host still on cgroup v1.
    pub cgroup_v1: Verdict,
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
        Ok(rules)
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
