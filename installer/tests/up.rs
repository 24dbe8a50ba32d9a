//! `yunhui up` as a user runs it: the real binary, stopped with Ctrl-C
//! (SIGINT) and started again on the same data directory (F-OPS-7).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use yunhui_client::api::ApiClient;
use yunhui_proto::api::{CreateMeetingRequest, RegisterRequest};

struct Up {
    child: Child,
    lines: mpsc::Receiver<String>,
    base_url: String,
    meeting_link: String,
    admin_password: Option<String>,
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port(udp: bool) -> u16 {
    if udp {
        std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    } else {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }
}

/// A port free for both UDP and TCP: the SFU takes the number on both
/// (ICE over TCP next to UDP), and so does the SIP gateway (SIP over TCP).
fn free_media_port() -> u16 {
    loop {
        let port = free_port(true);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn start(data_dir: &Path) -> Up {
    let mut child = Command::new(env!("CARGO_BIN_EXE_yunhui"))
        .arg("up")
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--listen", &format!("127.0.0.1:{}", free_port(false))])
        .args(["--media-port", &free_media_port().to_string()])
        .args(["--sip-port", &free_media_port().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start yunhui up");
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut up = Up {
        child,
        lines,
        base_url: String::new(),
        meeting_link: String::new(),
        admin_password: None,
    };
    loop {
        let line = up
            .lines
            .recv_timeout(Duration::from_secs(60))
            .expect("yunhui up printed its banner");
        if let Some(rest) = line.strip_prefix("Administrator account: admin@yunhui.local / ") {
            up.admin_password = rest.split_whitespace().next().map(String::from);
        } else if let Some(url) = line.strip_prefix("Yunhui is running at ") {
            up.base_url = url.trim().to_string();
        } else if let Some(link) = line.strip_prefix("Meeting link: ") {
            up.meeting_link = link.trim().to_string();
        } else if line.starts_with("Press Ctrl-C") {
            return up;
        }
    }
}

fn stop(mut up: Up) {
    let pid = up.child.id().to_string();
    let status = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = up.child.try_wait().unwrap() {
            assert!(status.success(), "yunhui up exited with {status}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "yunhui up did not stop on Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let rest: Vec<String> = up.lines.try_iter().collect();
    assert!(rest.iter().any(|l| l == "Yunhui stopped."), "{rest:?}");
}

#[tokio::test]
async fn restart_keeps_accounts_and_meetings() {
    let data = tempfile::tempdir().unwrap();
    let first = start(data.path());
    let admin_password = first
        .admin_password
        .clone()
        .expect("first start prints the admin password");
    assert!(
        first
            .meeting_link
            .starts_with(&format!("{}/j/", first.base_url)),
        "{}",
        first.meeting_link
    );
    let number = first
        .meeting_link
        .split("/j/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();

    // Enterprise login: only the address, as a user types it (no scheme:
    // HTTPS is tried first, then HTTP).
    let address = first.base_url.trim_start_matches("http://");
    let (mut discovered, doc) = ApiClient::discover(address)
        .await
        .expect("the deployment describes itself at /.well-known/yunhui");
    assert_eq!(doc.api, format!("{}/api/v1", first.base_url), "{doc:?}");
    assert!(doc.signaling.starts_with("ws://127.0.0.1:"), "{doc:?}");
    assert!(
        doc.media
            .as_ref()
            .is_some_and(|m| m.udp_port > 0 && m.tcp_port == Some(m.udp_port)),
        "{doc:?}"
    );
    discovered
        .login("admin@yunhui.local", &admin_password)
        .await
        .expect("signing in with only the address");

    let api = ApiClient::new(&first.base_url);
    api.register(&RegisterRequest {
        email: Some("wang.fang@example.com".into()),
        phone: Some("13900139000".into()),
        password: "persist me please".into(),
        display_name: "Wang Fang".into(),
        tenant_id: None,
    })
    .await
    .unwrap();
    let mut user = ApiClient::new(&first.base_url);
    user.login("wang.fang@example.com", "persist me please")
        .await
        .unwrap();
    let meeting = user
        .create_meeting(&CreateMeetingRequest {
            topic: Some("Weekly sync".into()),
            password: Some("1111".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    stop(first);

    let second = start(data.path());
    assert!(
        second.admin_password.is_none(),
        "the admin password is printed on first start only"
    );
    let second_number = second
        .meeting_link
        .split("/j/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        second_number, number,
        "the open meeting is reused, not replaced"
    );

    let mut user = ApiClient::new(&second.base_url);
    user.login("13900139000", "persist me please")
        .await
        .unwrap();
    let again = user.meeting(&meeting.id).await.unwrap();
    assert_eq!(again.number, meeting.number);
    assert_eq!(again.topic, "Weekly sync");
    assert_eq!(again.password.as_deref(), Some("1111"));
    assert_eq!(
        ApiClient::new(&second.base_url)
            .preview(&meeting.number)
            .await
            .unwrap()
            .topic,
        "Weekly sync"
    );

    let mut admin = ApiClient::new(&second.base_url);
    admin
        .login("admin@yunhui.local", &admin_password)
        .await
        .unwrap();
    assert_eq!(admin.me().await.unwrap().display_name, "Administrator");
    stop(second);
}
