//! What a peer task logs says whose it is: its room, its participant and its
//! role, from the `peer` span every task runs in (JSON logs, as the binary
//! writes them).

use std::collections::BTreeSet;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;
use yunhui_client::media::{Publisher, Subscriber, SyntheticMedia};
use yunhui_sfu::control::{InProcessControl, MediaControl};
use yunhui_sfu::{Sfu, SfuConfig};

const ROOM: &str = "room-7";

/// Log output kept in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut out) = self.0.lock() {
            out.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Captured {
    /// (room, participant, role) of the span of every "peer connection state
    /// changed" line so far.
    fn state_changes(&self) -> BTreeSet<(String, String, String)> {
        let text = self
            .0
            .lock()
            .map(|out| String::from_utf8_lossy(&out).into_owned())
            .unwrap_or_default();
        text.lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|line| line["fields"]["message"] == "peer connection state changed")
            .map(|line| {
                let field = |name: &str| line["span"][name].as_str().unwrap_or("").to_owned();
                (field("room"), field("participant"), field("role"))
            })
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_task_logs_carry_room_participant_and_role() {
    let captured = Captured::default();
    tracing_subscriber::fmt()
        .json()
        .with_env_filter("yunhui_sfu=debug")
        .with_writer(captured.clone())
        .init();
    let sfu = Sfu::start(SfuConfig {
        udp_listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        advertised_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        registry: prometheus::Registry::new(),
    })
    .await
    .expect("SFU starts");
    let control = InProcessControl::new(sfu.clone());
    control.create_room(ROOM).await.expect("room");
    for p in ["alice", "bob"] {
        control.add_participant(ROOM, p).await.expect("participant");
    }
    let alice = Publisher::new("alice", "127.0.0.1:0")
        .await
        .expect("publisher PC");
    let offer = alice.create_offer().await.expect("offer");
    let answer = control
        .publish(ROOM, "alice", &offer)
        .await
        .expect("publish");
    alice.apply_answer(&answer).await.expect("apply answer");
    alice.start_synthetic_media(SyntheticMedia::default());
    let bob = Subscriber::new("127.0.0.1:0").await.expect("subscriber PC");
    let mut offer = control
        .subscribe_offer(ROOM, "bob")
        .await
        .expect("subscribe offer");
    while let Some(sdp) = offer {
        let answer = bob.apply_offer(&sdp).await.expect("answer");
        offer = control
            .subscribe_answer(ROOM, "bob", &answer)
            .await
            .expect("answer applied");
    }

    let expected: BTreeSet<(String, String, String)> =
        [(ROOM, "alice", "publisher"), (ROOM, "bob", "subscriber")]
            .into_iter()
            .map(|(r, p, role)| (r.to_owned(), p.to_owned(), role.to_owned()))
            .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while captured.state_changes() != expected {
        assert!(
            tokio::time::Instant::now() < deadline,
            "state changes logged with {:?}, expected {expected:?}",
            captured.state_changes()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    control.close_room(ROOM).await.expect("close");
    alice.close().await;
    bob.close().await;
    sfu.shutdown().await;
}
