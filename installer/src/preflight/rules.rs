//! The preflight rules (`airgap/preflight.toml`) and their one interpreter:
//! pure functions from host facts to verdicts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::facts::{CpuInfo, OsRelease};

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
        let rules: Rules =
            toml::from_str(text).map_err(|e| format!("the preflight rules are invalid: {e}"))?;
        if rules.os.is_empty() || rules.cpu.is_empty() {
            return Err(
                "the preflight rules need at least one [[os]] and one [[cpu]] entry".into(),
            );
        }
        parse_version(&rules.kernel.minimum)
            .and(parse_version(&rules.kernel.recommended))
            .ok_or("kernel versions in the preflight rules must look like 4.19")?;
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
}
