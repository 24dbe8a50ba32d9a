//! A real PostgreSQL server for tests: Debian's binaries, a throw-away
//! cluster in a temp directory, one fresh database per test.
//!
//! `YUNHUI_TEST_POSTGRES_URL` (a server URL whose user may create databases)
//! skips starting one. The started server dies with the test process: it is
//! spawned from a thread that lives as long as the process, with the parent
//! death signal set.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sqlx::Connection;

static SERVER: OnceLock<String> = OnceLock::new();

/// URL of a new, empty database on the test server.
pub async fn fresh_database() -> String {
    let server = SERVER.get_or_init(start_server).clone();
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&format!("{server}/postgres"))
        .await
        .expect("connect to the test PostgreSQL server");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    format!("{server}/{name}")
}

fn start_server() -> String {
    if let Ok(url) = std::env::var("YUNHUI_TEST_POSTGRES_URL") {
        return url.trim_end_matches('/').to_string();
    }
    let bin = postgres_bin_dir();
    remove_clusters_of_dead_runs();
    let dir = std::env::temp_dir().join(format!("yunhui-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create cluster dir");
    // PostgreSQL refuses to run as root: use the `postgres` system user then.
    let ids = if is_root() {
        Some(postgres_user_ids())
    } else {
        None
    };
    if let Some((uid, gid)) = ids {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("chown cluster dir");
    }
    let data = dir.join("data");
    let mut initdb = Command::new(bin.join("initdb"));
    initdb
        .args([
            "-A",
            "trust",
            "-U",
            "yunhui",
            "-E",
            "UTF8",
            "--no-sync",
            "-D",
        ])
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some((uid, gid)) = ids {
        initdb.uid(uid).gid(gid);
    }
    let out = initdb
        .output()
        .expect("run initdb (is Debian's postgresql installed?)");
    assert!(
        out.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let port = free_port();
    let (tx, rx) = std::sync::mpsc::channel();
    let postgres = bin.join("postgres");
    let socket_dir = dir.clone();
    std::thread::spawn(move || {
        let mut cmd = Command::new(postgres);
        cmd.arg("-D")
            .arg(&data)
            .args([
                "-p",
                &port.to_string(),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
            ])
            .arg("-k")
            .arg(&socket_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some((uid, gid)) = ids {
            cmd.uid(uid).gid(gid);
        }
        // SAFETY: prctl is async-signal-safe; it only marks this child to be
        // killed when the spawning thread (which never returns) dies. The
        // one unsafe block of the workspace: std has no safe way to set it.
        #[allow(unsafe_code)]
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd.spawn();
        let ok = child.is_ok();
        let _ = tx.send(child.map(|_| ()).map_err(|e| e.to_string()));
        if ok {
            loop {
                std::thread::park();
            }
        }
    });
    rx.recv().expect("postgres thread").expect("spawn postgres");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "PostgreSQL did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Accepting TCP is not yet accepting logins; give startup a moment.
    std::thread::sleep(Duration::from_millis(500));
    format!("postgres://yunhui@127.0.0.1:{port}")
}

/// Clusters are left behind when a test process dies; clear those whose
/// process is gone.
fn remove_clusters_of_dead_runs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix("yunhui-pg-") else {
            continue;
        };
        if !PathBuf::from("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn postgres_bin_dir() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("Debian's postgresql package is not installed (apt-get install postgresql)")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("postgres").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("no PostgreSQL server binaries under /usr/lib/postgresql")
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

fn postgres_user_ids() -> (u32, u32) {
    let out = Command::new("id")
        .args(["-u", "postgres"])
        .output()
        .expect("id -u postgres");
    let uid = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("postgres uid");
    let out = Command::new("id")
        .args(["-g", "postgres"])
        .output()
        .expect("id -g postgres");
    let gid = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("postgres gid");
    (uid, gid)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}
