//! A real RTMP streaming service for live-streaming tests: Debian's nginx
//! with `libnginx-mod-rtmp` on loopback (tests/setup-machine installs
//! them), its `rtmp_stat` page saying which streams are being published,
//! and ffprobe reading a stream back.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

const RTMP_MODULE: &str = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

/// nginx serving RTMP application `live` on loopback; stopped when dropped.
pub struct RtmpServer {
    dir: tempfile::TempDir,
    child: Option<Child>,
    /// The RTMP port.
    pub port: u16,
    stat_port: u16,
}

impl RtmpServer {
    /// Starts nginx on free loopback ports and waits until it answers.
    pub fn start() -> RtmpServer {
        assert!(
            Path::new(RTMP_MODULE).is_file(),
            "{RTMP_MODULE} is missing: run tests/setup-machine (nginx, libnginx-mod-rtmp)"
        );
        let dir = tempfile::tempdir().expect("nginx's directory");
        let mut server = RtmpServer {
            dir,
            child: None,
            port: free_port(),
            stat_port: free_port(),
        };
        server.write_config();
        server.resume();
        server
    }

    /// The push address of application `live`: `rtmp://127.0.0.1:<port>/live`.
    pub fn push_url(&self) -> String {
        format!("rtmp://127.0.0.1:{}/live", self.port)
    }

    fn write_config(&self) {
        let d = self.dir.path().display();
        let config = format!(
            "load_module {RTMP_MODULE};\n\
             daemon off;\nmaster_process off;\nworker_processes 1;\n\
             pid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 64; }}\n\
             rtmp {{ server {{ listen 127.0.0.1:{rtmp}; application live {{ live on; }} }} }}\n\
             http {{\n  access_log off;\n\
               client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;\n\
               fastcgi_temp_path {d}/fastcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n\
               server {{ listen 127.0.0.1:{stat}; location /stat {{ rtmp_stat all; }} }}\n}}\n",
            rtmp = self.port,
            stat = self.stat_port,
        );
        std::fs::write(self.config(), config).expect("write nginx.conf");
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("nginx.conf")
    }

    /// Stops nginx: every connection to it drops (a lost service).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts nginx (again) on the same ports.
    pub fn resume(&mut self) {
        assert!(self.child.is_none(), "nginx is running");
        let child = Command::new("nginx")
            .arg("-p")
            .arg(self.dir.path())
            .arg("-c")
            .arg(self.config())
            .arg("-e")
            .arg(self.dir.path().join("error.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nginx never listened on {}: {}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// nginx's error log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    /// The names of the streams being published now, from `rtmp_stat`.
    pub async fn publishing(&self) -> Vec<String> {
        let url = format!("http://127.0.0.1:{}/stat", self.stat_port);
        let Ok(response) = reqwest::get(&url).await else {
            return Vec::new();
        };
        let xml = response.text().await.unwrap_or_default();
        // Each <stream> holds its <name> and, while someone publishes to
        // it, a <publishing/> element (its publisher's <client> has one too).
        xml.split("<stream>")
            .skip(1)
            .filter_map(|stream| {
                let stream = stream.split("</stream>").next()?;
                let name = stream.split("<name>").nth(1)?.split("</name>").next()?;
                stream.contains("<publishing/>").then(|| name.to_string())
            })
            .collect()
    }

    /// Waits until stream `name` is (`true`) or is not being published.
    pub async fn wait_publishing(&self, name: &str, published: bool, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let now = self.publishing().await.iter().any(|n| n == name);
            if now == published {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "stream {name:?} {} published after {timeout:?}: {}",
                if published { "never" } else { "still" },
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// ffprobe's view of stream `name` read back from the service: each
    /// stream's (kind, codec).
    pub fn probe(&self, name: &str) -> Vec<(String, String)> {
        let url = format!("{}/{name}", self.push_url());
        let output = Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-rw_timeout",
                "15000000",
                "-rtmp_live",
                "live",
            ])
            .args(["-show_streams", "-of", "json", &url])
            .output()
            .expect("ffprobe runs");
        assert!(
            output.status.success(),
            "ffprobe could not read {url}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&output.stdout).expect("ffprobe's JSON");
        v["streams"]
            .as_array()
            .expect("streams")
            .iter()
            .map(|s| {
                (
                    s["codec_type"].as_str().unwrap_or_default().to_string(),
                    s["codec_name"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }
}

impl Drop for RtmpServer {
    fn drop(&mut self) {
        self.stop();
    }
}
