//! A slow SFU holds up only what waits for it. Signal changes a room under
//! its lock and talks to the SFU after releasing it: while one participant's
//! mute waits on the SFU, the rest of the room goes on (chat, raised hands),
//! and while one meeting's room opens on the SFU, other meetings open and
//! are joined. The SFU here is real (in process); only the calls the test
//! holds wait at a gate.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use yunhui_client::signaling::SignalingClient;
use yunhui_proto::api::Meeting;
use yunhui_proto::media::{
    ControlError, MediaControl, MediaKind, NodeStats, Routing, VideoSubscriptions,
};
use yunhui_proto::signaling::{ClientMessage, ServerMessage};

const WAIT: Duration = Duration::from_secs(10);

/// Which calls wait until the gate opens.
#[derive(Clone, Copy)]
enum Hold {
    /// Every `set_forwarding` (mute, camera off).
    Forwarding,
    /// The first `create_room` (the first meeting to open).
    FirstRoom,
}

/// The SFU behind a gate for the calls `hold` names.
struct Gated {
    inner: Arc<dyn MediaControl>,
    hold: Hold,
    open: watch::Receiver<bool>,
    rooms_created: AtomicUsize,
    held: watch::Sender<usize>,
}

impl Gated {
    async fn pass(&self) {
        self.held.send_modify(|n| *n += 1);
        let mut open = self.open.clone();
        let _ = open.wait_for(|o| *o).await;
    }
}

#[async_trait::async_trait]
impl MediaControl for Gated {
    async fn create_room(&self, room: &str) -> Result<(), ControlError> {
        let first = self.rooms_created.fetch_add(1, Ordering::SeqCst) == 0;
        if first && matches!(self.hold, Hold::FirstRoom) {
            self.pass().await;
        }
        self.inner.create_room(room).await
    }
    async fn close_room(&self, room: &str) -> Result<(), ControlError> {
        self.inner.close_room(room).await
    }
    async fn add_participant(&self, room: &str, participant: &str) -> Result<(), ControlError> {
        self.inner.add_participant(room, participant).await
    }
    async fn remove_participant(&self, room: &str, participant: &str) -> Result<(), ControlError> {
        self.inner.remove_participant(room, participant).await
    }
    async fn publish(
        &self,
        room: &str,
        participant: &str,
        sdp: &str,
    ) -> Result<String, ControlError> {
        self.inner.publish(room, participant, sdp).await
    }
    async fn subscribe_offer(
        &self,
        room: &str,
        participant: &str,
    ) -> Result<Option<String>, ControlError> {
        self.inner.subscribe_offer(room, participant).await
    }
    async fn subscribe_answer(
        &self,
        room: &str,
        participant: &str,
        sdp: &str,
    ) -> Result<Option<String>, ControlError> {
        self.inner.subscribe_answer(room, participant, sdp).await
    }
    async fn set_forwarding(
        &self,
        room: &str,
        participant: &str,
        kind: MediaKind,
        enabled: bool,
    ) -> Result<(), ControlError> {
        if matches!(self.hold, Hold::Forwarding) {
            self.pass().await;
        }
        self.inner
            .set_forwarding(room, participant, kind, enabled)
            .await
    }
    async fn set_routing(
        &self,
        room: &str,
        participant: &str,
        routing: Routing,
    ) -> Result<(), ControlError> {
        self.inner.set_routing(room, participant, routing).await
    }
    async fn set_video_subscriptions(
        &self,
        room: &str,
        participant: &str,
        subscriptions: VideoSubscriptions,
    ) -> Result<(), ControlError> {
        self.inner
            .set_video_subscriptions(room, participant, subscriptions)
            .await
    }
    async fn active_speaker(&self, room: &str) -> Result<Option<String>, ControlError> {
        self.inner.active_speaker(room).await
    }
    async fn node_stats(&self) -> Result<NodeStats, ControlError> {
        self.inner.node_stats().await
    }
}

/// A server whose SFU holds `hold`'s calls; the sender opens the gate, the
/// receiver counts the calls waiting at it.
async fn gated_server(
    hold: Hold,
) -> (support::Server, watch::Sender<bool>, watch::Receiver<usize>) {
    let (open, gate) = watch::channel(false);
    let (held, waiting) = watch::channel(0);
    let server = support::start_with_media(Arc::new(move |inner| {
        Arc::new(Gated {
            inner,
            hold,
            open: gate.clone(),
            rooms_created: AtomicUsize::new(0),
            held: held.clone(),
        }) as Arc<dyn MediaControl>
    }))
    .await;
    (server, open, waiting)
}

async fn connect(server: &support::Server) -> SignalingClient {
    SignalingClient::connect(&server.base_url).await.unwrap().0
}

fn join(meeting: &Meeting, name: &str, token: Option<&str>) -> ClientMessage {
    ClientMessage::Join {
        meeting_number: meeting.number.clone(),
        display_name: name.into(),
        password: None,
        link_key: None,
        token: token.map(String::from),
        device_id: None,
        dial_ticket: None,
        recorder_ticket: None,
    }
}

async fn joined(client: &mut SignalingClient) -> String {
    client
        .recv_until(WAIT, |m| match m {
            ServerMessage::Joined { participant_id, .. } => Some(participant_id.clone()),
            _ => None,
        })
        .await
        .expect("joined")
}

#[tokio::test]
async fn the_room_goes_on_while_a_mute_waits_on_the_sfu() {
    let (server, open, mut waiting) = gated_server(Hold::Forwarding).await;
    let (host_api, meeting) = server.meeting(None).await;
    let mut host = connect(&server).await;
    host.send(&join(&meeting, "Host", host_api.token()))
        .await
        .unwrap();
    let host_id = joined(&mut host).await;
    let mut guest = connect(&server).await;
    guest.send(&join(&meeting, "Guest", None)).await.unwrap();
    joined(&mut guest).await;

    host.send(&ClientMessage::SetAudioMuted { muted: true })
        .await
        .unwrap();
    // Everyone learns of the mute at once; the SFU then holds the call.
    let muted = guest
        .recv_until(WAIT, |m| match m {
            ServerMessage::ParticipantUpdated { participant } if participant.id == host_id => {
                Some(participant.audio_muted)
            }
            _ => None,
        })
        .await
        .expect("the mute is told to everyone");
    assert!(muted);
    tokio::time::timeout(WAIT, waiting.wait_for(|n| *n >= 1))
        .await
        .expect("the mute reached the SFU")
        .unwrap();

    // The room is not locked behind it.
    guest
        .send(&ClientMessage::Chat {
            to: None,
            to_panel: false,
            text: "still here".into(),
        })
        .await
        .unwrap();
    let text = host
        .recv_until(WAIT, |m| match m {
            ServerMessage::Chat { message } => Some(message.text.clone()),
            _ => None,
        })
        .await
        .expect("chat is delivered while the host's mute waits on the SFU");
    assert_eq!(text, "still here");
    guest
        .send(&ClientMessage::RaiseHand { raised: true })
        .await
        .unwrap();
    let hand = host
        .recv_until(WAIT, |m| match m {
            ServerMessage::ParticipantUpdated { participant } if participant.hand_raised => {
                Some(participant.display_name.clone())
            }
            _ => None,
        })
        .await
        .expect("a raised hand is told while the mute waits");
    assert_eq!(hand, "Guest");

    // The SFU answers: the mute completes without an error, and the next
    // change goes through.
    open.send_replace(true);
    host.send(&ClientMessage::SetAudioMuted { muted: false })
        .await
        .unwrap();
    let unmuted = host
        .recv_until(WAIT, |m| match m {
            ServerMessage::Error { code, message } => panic!("{code:?}: {message}"),
            ServerMessage::ParticipantUpdated { participant } if participant.id == host_id => {
                (!participant.audio_muted).then_some(())
            }
            _ => None,
        })
        .await;
    assert!(unmuted.is_ok(), "the unmute is told once the SFU answers");
}

#[tokio::test]
async fn a_room_opening_on_a_slow_sfu_does_not_hold_up_other_meetings() {
    let (server, open, mut waiting) = gated_server(Hold::FirstRoom).await;
    let (first_api, first) = server.meeting(None).await;
    let (second_api, second) = server.meeting(None).await;

    let mut early = connect(&server).await;
    early
        .send(&join(&first, "Early", first_api.token()))
        .await
        .unwrap();
    tokio::time::timeout(WAIT, waiting.wait_for(|n| *n >= 1))
        .await
        .expect("the first room is opening on the SFU")
        .unwrap();

    // Another meeting opens and is joined meanwhile; the first still waits.
    let mut other = connect(&server).await;
    other
        .send(&join(&second, "Other", second_api.token()))
        .await
        .unwrap();
    joined(&mut other).await;
    assert!(
        early.recv(Duration::from_millis(300)).await.is_err(),
        "the first meeting's join waits for its room"
    );

    open.send_replace(true);
    joined(&mut early).await;
}
