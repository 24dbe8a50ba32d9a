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
    /// The kernel's build configuration (`CONFIG_…` to `y`, `m` or a
    /// value), from `/boot/config-<release>` or `/proc/config.gz`; empty
    /// when neither is readable.
    pub kernel_config: BTreeMap<String, String>,
    /// Which cgroup hierarchy is mounted on `/sys/fs/cgroup` (None: no
    /// `/sys/fs/cgroup`).
    pub cgroup: Option<CgroupMode>,
    /// SELinux now and after the next boot.
    pub selinux: Selinux,
    /// Kylin's kysec, when the host has it.
    pub kysec: Option<Kysec>,
    /// Time synchronisation services found.
    pub time_sync: TimeSync,
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

/// The cgroup hierarchy mounted on `/sys/fs/cgroup`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupMode {
    /// cgroup v2 alone (`/sys/fs/cgroup/cgroup.controllers` exists).
    Unified,
    /// v1 controllers, with v2 mounted only for systemd's own tracking
    /// (`/sys/fs/cgroup/unified/cgroup.controllers`): v1 as far as the
    /// kubelet is concerned.
    Hybrid,
    /// cgroup v1 only.
    Legacy,
}

/// SELinux as the host has it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selinux {
    /// `/sys/fs/selinux/enforce`: `Some(true)` enforcing, `Some(false)`
    /// permissive, `None` when SELinux is not running (no selinuxfs).
    pub enforcing: Option<bool>,
    /// `SELINUX=` in `/etc/selinux/config` (`enforcing`, `permissive` or
    /// `disabled`, lower-cased): the mode after the next boot.
    pub configured: Option<String>,
}

/// Kylin's kernel security module kysec (KYSEC), which blocks programs it has
/// not measured. Kylin documents no stable interface for its state; what is
/// read here is what Kylin V10 hosts show and what vendors' install scripts
/// edit: `/etc/kysec/kysec.conf` (`kysec_status = 0` turns kysec off,
/// `kysec_exectl = 0` its execution control) and the securityfs directory
/// `/sys/kernel/security/kysec/`, present when the kernel runs it. The meaning
/// of values other than 0 (1 and 2 are seen; `setstatus softmode` and
/// `setstatus normal` switch them) is not confirmed by a Kylin document, so
/// any value other than 0 is taken as on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Kysec {
    /// `/sys/kernel/security/kysec/` exists: the running kernel has kysec.
    pub in_kernel: bool,
    /// `kysec_status` in `/etc/kysec/kysec.conf`.
    pub status: Option<u32>,
    /// `kysec_exectl` in `/etc/kysec/kysec.conf` (execution control).
    pub exectl: Option<u32>,
}

/// The time synchronisation services of the host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimeSync {
    /// Services running (`chronyd`, `ntpd`, `systemd-timesyncd`), by
    /// process name; empty when none runs or `/proc` lists no processes.
    pub running: Vec<String>,
    /// Services installed (their program exists), running or not.
    pub installed: Vec<String>,
    /// systemd-timesyncd has synchronised the clock
    /// (`/run/systemd/timesync/synchronized`).
    pub timesyncd_synchronized: bool,
    /// Whether `/proc` listed any process at all (false: cannot tell what runs).
    pub saw_processes: bool,
}

/// The time services preflight knows: name, process names (`comm`, at most
/// 15 characters) and where their program is installed.
pub const TIME_SERVICES: &[(&str, &[&str], &[&str])] = &[
    (
        "chronyd",
        &["chronyd"],
        &["usr/sbin/chronyd", "sbin/chronyd"],
    ),
    (
        "ntpd",
        &["ntpd", "openntpd"],
        &["usr/sbin/ntpd", "sbin/ntpd"],
    ),
    (
        "systemd-timesyncd",
        &["systemd-timesyn"],
        &[
            "usr/lib/systemd/systemd-timesyncd",
            "lib/systemd/systemd-timesyncd",
        ],
    ),
];

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
        let kernel_config = kernel
            .as_deref()
            .map(|release| read_kernel_config(root, release))
            .unwrap_or_default();
        Facts {
            os: read("etc/os-release")
                .or_else(|| read("usr/lib/os-release"))
                .map(|t| OsRelease::parse(&t)),
            cpu: read("proc/cpuinfo").map(|t| CpuInfo::parse(&t)),
            kernel,
            modules,
            kernel_config,
            cgroup: cgroup_mode(root),
            selinux: Selinux {
                enforcing: read("sys/fs/selinux/enforce").map(|t| t.trim() == "1"),
                configured: read("etc/selinux/config")
                    .and_then(|t| config_value(&t, "SELINUX"))
                    .map(|v| v.to_ascii_lowercase()),
            },
            kysec: kysec(root),
            time_sync: time_sync(root),
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

/// `KEY=value` or `KEY = value` (comments and quotes dropped) from a
/// configuration file.
fn config_value(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let line = line.trim();
        if line.starts_with('#') {
            return None;
        }
        let (k, v) = line.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
    })
}

/// The kernel's build configuration: `/boot/config-<release>` as the
/// distributions install it, else `/proc/config.gz` (CONFIG_IKCONFIG_PROC).
fn read_kernel_config(root: &Path, release: &str) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(root.join("boot").join(format!("config-{release}")))
        .ok()
        .or_else(|| {
            use std::io::Read;
            let file = std::fs::File::open(root.join("proc/config.gz")).ok()?;
            let mut text = String::new();
            flate2::read::GzDecoder::new(file)
                .read_to_string(&mut text)
                .ok()?;
            Some(text)
        });
    parse_kernel_config(&text.unwrap_or_default())
}

/// `CONFIG_X=y` lines; `# CONFIG_X is not set` becomes `n`.
pub fn parse_kernel_config(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("# ") {
                let name = rest.strip_suffix(" is not set")?;
                return name
                    .starts_with("CONFIG_")
                    .then(|| (name.to_string(), "n".to_string()));
            }
            let (name, value) = line.split_once('=')?;
            name.starts_with("CONFIG_")
                .then(|| (name.to_string(), value.trim_matches('"').to_string()))
        })
        .collect()
}

fn cgroup_mode(root: &Path) -> Option<CgroupMode> {
    let cgroup = root.join("sys/fs/cgroup");
    if !cgroup.exists() {
        return None;
    }
    Some(if cgroup.join("cgroup.controllers").exists() {
        CgroupMode::Unified
    } else if cgroup.join("unified/cgroup.controllers").exists() {
        CgroupMode::Hybrid
    } else {
        CgroupMode::Legacy
    })
}

fn kysec(root: &Path) -> Option<Kysec> {
    let in_kernel = root.join("sys/kernel/security/kysec").is_dir();
    let conf = std::fs::read_to_string(root.join("etc/kysec/kysec.conf")).ok();
    if !in_kernel && conf.is_none() {
        return None;
    }
    let number = |key: &str| {
        conf.as_deref()
            .and_then(|t| config_value(t, key))
            .and_then(|v| v.parse().ok())
    };
    Some(Kysec {
        in_kernel,
        status: number("kysec_status"),
        exectl: number("kysec_exectl"),
    })
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

/// Which time services run (by the `comm` of every process under `/proc`)
/// and which are installed.
fn time_sync(root: &Path) -> TimeSync {
    let mut running = Vec::new();
    let mut saw_processes = false;
    if let Ok(proc_dir) = std::fs::read_dir(root.join("proc")) {
        for entry in proc_dir.flatten() {
            let Ok(comm) = std::fs::read_to_string(entry.path().join("comm")) else {
                continue;
            };
            saw_processes = true;
            if let Some((name, _, _)) = TIME_SERVICES
                .iter()
                .find(|(_, comms, _)| comms.contains(&comm.trim()))
                && !running.contains(&name.to_string())
            {
                running.push(name.to_string());
            }
        }
    }
    running.sort();
    TimeSync {
        running,
        installed: TIME_SERVICES
            .iter()
            .filter(|(_, _, paths)| paths.iter().any(|p| root.join(p).exists()))
            .map(|(name, _, _)| name.to_string())
            .collect(),
        timesyncd_synchronized: root.join("run/systemd/timesync/synchronized").exists(),
        saw_processes,
    }
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
    fn kernel_configuration_from_boot_or_proc_config_gz() {
        use std::io::Write;
        let text = "CONFIG_OVERLAY_FS=m\n# CONFIG_BRIDGE_NETFILTER is not set\nCONFIG_LOCALVERSION=\"\"\n# comment\n";
        let config = parse_kernel_config(text);
        assert_eq!(
            config.get("CONFIG_OVERLAY_FS").map(String::as_str),
            Some("m")
        );
        assert_eq!(
            config.get("CONFIG_BRIDGE_NETFILTER").map(String::as_str),
            Some("n")
        );
        assert_eq!(
            config.get("CONFIG_LOCALVERSION").map(String::as_str),
            Some("")
        );
        assert_eq!(config.len(), 3);

        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("proc/sys/kernel")).unwrap();
        std::fs::write(dir.path().join("proc/sys/kernel/osrelease"), "6.6.0\n").unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text.as_bytes()).unwrap();
        std::fs::write(dir.path().join("proc/config.gz"), gz.finish().unwrap()).unwrap();
        assert_eq!(
            Facts::read(dir.path()).kernel_config,
            config,
            "/proc/config.gz"
        );
        std::fs::create_dir_all(dir.path().join("boot")).unwrap();
        std::fs::write(
            dir.path().join("boot/config-6.6.0"),
            "CONFIG_NF_CONNTRACK=y\n",
        )
        .unwrap();
        assert_eq!(
            Facts::read(dir.path())
                .kernel_config
                .get("CONFIG_NF_CONNTRACK")
                .map(String::as_str),
            Some("y"),
            "/boot/config-<release> first"
        );
    }

    #[test]
    fn cgroup_selinux_kysec_and_time_services() {
        let dir = tempfile::tempdir().unwrap();
        let write = |rel: &str, text: &str| {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        let facts = Facts::read(dir.path());
        assert_eq!(facts.cgroup, None);
        assert_eq!(facts.selinux, Selinux::default());
        assert_eq!(facts.kysec, None, "not Kylin");
        assert!(!facts.time_sync.saw_processes);

        write("sys/fs/cgroup/unified/cgroup.controllers", "");
        write("sys/fs/selinux/enforce", "0");
        write(
            "etc/selinux/config",
            "# SELINUX=disabled\nSELINUX=Enforcing\n",
        );
        write("etc/kysec/kysec.conf", "kysec_status = 2\n");
        write("proc/1/comm", "systemd\n");
        write("proc/99/comm", "systemd-timesyn\n");
        write("usr/sbin/ntpd", "");
        let facts = Facts::read(dir.path());
        assert_eq!(facts.cgroup, Some(CgroupMode::Hybrid));
        assert_eq!(
            facts.selinux,
            Selinux {
                enforcing: Some(false),
                configured: Some("enforcing".into())
            }
        );
        assert_eq!(
            facts.kysec,
            Some(Kysec {
                in_kernel: false,
                status: Some(2),
                exectl: None
            })
        );
        assert_eq!(facts.time_sync.running, ["systemd-timesyncd"]);
        assert_eq!(facts.time_sync.installed, ["ntpd"]);
        assert!(!facts.time_sync.timesyncd_synchronized);

        write("sys/fs/cgroup/cgroup.controllers", "");
        assert_eq!(Facts::read(dir.path()).cgroup, Some(CgroupMode::Unified));
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
