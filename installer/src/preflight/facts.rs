//! What preflight reads from the host. Every path is read under a root
//! directory (`/` normally; a prepared tree in tests or for a mounted target
//! system), so the same code checks fixtures and real machines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Parsed `/etc/os-release`.
#[derive(Debug, Clone, Default)]
pub struct OsRelease(BTreeMap<String, String>);

impl OsRelease {
    /// Parses os-release text (`KEY=value`, values optionally quoted).
    pub fn parse(text: &str) -> OsRelease {
        let fields = text
            .lines()
            .filter_map(|line| {
                let line = line.trim();
                if line.starts_with('#') {
                    return None;
                }
                let (key, value) = line.split_once('=')?;
                let value = value.trim();
                let value = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                    .unwrap_or(value);
                Some((key.trim().to_string(), value.to_string()))
            })
            .collect();
        OsRelease(fields)
    }

    /// One field.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
}

/// What `/proc/cpuinfo` says about the first CPU.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuInfo {
    /// x86 `vendor_id`.
    pub vendor_id: Option<String>,
    /// Model name (`model name` on x86, `Model Name` on LoongArch).
    pub model_name: Option<String>,
    /// Arm `CPU implementer`.
    pub implementer: Option<String>,
    /// Arm `CPU part`.
    pub part: Option<String>,
    /// Number of logical CPUs.
    pub count: usize,
}

impl CpuInfo {
    /// Parses cpuinfo text.
    pub fn parse(text: &str) -> CpuInfo {
        let mut info = CpuInfo::default();
        for line in text.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let key = key.trim().to_ascii_lowercase();
            let value = value.trim().to_string();
            match key.as_str() {
                "processor" => info.count += 1,
                "vendor_id" if info.vendor_id.is_none() => info.vendor_id = Some(value),
                "model name" if info.model_name.is_none() => info.model_name = Some(value),
                "cpu implementer" if info.implementer.is_none() => info.implementer = Some(value),
                "cpu part" if info.part.is_none() => info.part = Some(value),
                _ => {}
            }
        }
        info
    }
}

/// Everything preflight knows about the host.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// os-release, if readable.
    pub os: Option<OsRelease>,
    /// cpuinfo, if readable.
    pub cpu: Option<CpuInfo>,
    /// Kernel release (`uname -r`).
    pub kernel: Option<String>,
    /// Modules loaded, built in, or loadable (names with `_`).
    pub modules: ModuleSet,
    /// Whether the unified cgroup v2 hierarchy is mounted.
    pub cgroup_v2: Option<bool>,
    /// Whether the clock is synchronised (None: cannot tell).
    pub time_synced: Option<bool>,
    /// Kernel settings of [`SYSCTLS`] by dotted name, as read (trimmed) from
    /// `/proc/sys`; a setting whose file is missing is absent.
    pub sysctls: BTreeMap<String, String>,
}

/// The kernel settings preflight reads (dotted names, as `sysctl` prints
/// them); the SFU's UDP socket buffers are capped by these two.
pub const SYSCTLS: &[&str] = &["net.core.rmem_max", "net.core.wmem_max"];

/// Where a dotted sysctl name lives under the root (`proc/sys/net/core/rmem_max`).
pub fn sysctl_path(name: &str) -> PathBuf {
    PathBuf::from("proc/sys").join(name.replace('.', "/"))
}

/// Kernel modules by availability.
#[derive(Debug, Clone, Default)]
pub struct ModuleSet {
    /// Currently loaded.
    pub loaded: BTreeSet<String>,
    /// Built into the kernel.
    pub builtin: BTreeSet<String>,
    /// Present as files that `modprobe` can load.
    pub loadable: BTreeSet<String>,
    /// Whether the kernel's module lists (`/lib/modules/<release>`) were readable.
    pub listed: bool,
}

impl Facts {
    /// Reads the facts under `root`.
    pub fn read(root: &Path) -> Facts {
        let read = |rel: &str| std::fs::read_to_string(root.join(rel)).ok();
        let kernel = read("proc/sys/kernel/osrelease").map(|k| k.trim().to_string());
        let mut modules = ModuleSet {
            loaded: read("proc/modules")
                .map(|t| {
                    t.lines()
                        .filter_map(|l| l.split_whitespace().next())
                        .map(normalize_module)
                        .collect()
                })
                .unwrap_or_default(),
            ..ModuleSet::default()
        };
        if let Some(kernel) = &kernel {
            let dir = PathBuf::from("lib/modules").join(kernel);
            modules.listed = root.join(&dir).join("modules.builtin").exists();
            modules.builtin = module_names(read(&dir.join("modules.builtin").to_string_lossy()));
            modules.loadable =
                module_names(read(&dir.join("modules.dep").to_string_lossy()).map(|dep| {
                    dep.lines()
                        .filter_map(|l| l.split(':').next())
                        .collect::<Vec<_>>()
                        .join("\n")
                }));
        }
        let cgroup = root.join("sys/fs/cgroup");
        let cgroup_v2 = cgroup
            .exists()
            .then(|| cgroup.join("cgroup.controllers").exists());
        Facts {
            os: read("etc/os-release")
                .or_else(|| read("usr/lib/os-release"))
                .map(|t| OsRelease::parse(&t)),
            cpu: read("proc/cpuinfo").map(|t| CpuInfo::parse(&t)),
            kernel,
            modules,
            cgroup_v2,
            time_synced: time_synced(root),
            sysctls: SYSCTLS
                .iter()
                .filter_map(|name| {
                    let value = read(&sysctl_path(name).to_string_lossy())?;
                    Some((name.to_string(), value.trim().to_string()))
                })
                .collect(),
        }
    }
}

/// `br-netfilter` and `br_netfilter` are the same module.
fn normalize_module(name: &str) -> String {
    name.replace('-', "_")
}

/// Module names from lines such as `kernel/net/bridge/br_netfilter.ko.xz`.
fn module_names(text: Option<String>) -> BTreeSet<String> {
    text.unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let file = line.trim().rsplit('/').next()?;
            let name = file.split(".ko").next()?;
            (!name.is_empty() && file.contains(".ko")).then(|| normalize_module(name))
        })
        .collect()
}

/// systemd-timesyncd marks a synchronised clock with a file; chrony and ntpd
/// are taken as running time sync when their process exists.
fn time_synced(root: &Path) -> Option<bool> {
    if root.join("run/systemd/timesync/synchronized").exists() {
        return Some(true);
    }
    let proc_dir = std::fs::read_dir(root.join("proc")).ok()?;
    let mut saw_process = false;
    for entry in proc_dir.flatten() {
        let Ok(comm) = std::fs::read_to_string(entry.path().join("comm")) else {
            continue;
        };
        saw_process = true;
        if matches!(
            comm.trim(),
            "chronyd" | "ntpd" | "systemd-timesyn" | "openntpd"
        ) {
            return Some(true);
        }
    }
    saw_process.then_some(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_quotes() {
        let os = OsRelease::parse("ID=uos\nNAME=\"UnionTech OS\"\nX='y'\n# comment\n");
        assert_eq!(os.get("ID"), Some("uos"));
        assert_eq!(os.get("NAME"), Some("UnionTech OS"));
        assert_eq!(os.get("X"), Some("y"));
    }

    #[test]
    fn sysctls_are_read_under_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let rmem = dir.path().join(sysctl_path("net.core.rmem_max"));
        std::fs::create_dir_all(rmem.parent().unwrap()).unwrap();
        std::fs::write(&rmem, "212992\n").unwrap();
        let facts = Facts::read(dir.path());
        assert_eq!(
            facts.sysctls.get("net.core.rmem_max").map(String::as_str),
            Some("212992")
        );
        assert_eq!(facts.sysctls.get("net.core.wmem_max"), None, "missing file");
    }

    #[test]
    fn module_file_names() {
        let names = module_names(Some(
            "kernel/net/bridge/br_netfilter.ko.xz\nkernel/fs/overlayfs/overlay.ko\n".into(),
        ));
        assert!(names.contains("br_netfilter"));
        assert!(names.contains("overlay"));
    }
}
