//! Meetings outlive a restart of their SFU node. A node that restarts (its
//! pod deleted, evicted, upgraded) comes back empty; the media watch notices,
//! because the node's `instance` changed, opens this replica's rooms on it
//! again with their members and video subscriptions, and asks every member's
//! client to connect its media anew ([`ServerMessage::MediaRestart`]). The
//! meeting itself — participants, roles, chat, waiting room — never stopped,
//! so nobody rejoins.
//!
//! With rooms placed on several nodes the watched `instance` names every
//! node, so it also changes when another node restarts, joins or goes: a
//! room whose node still has it is left alone, and a room whose node went is
//! placed on another one by the media control's `create_room`.
//!
//! A client whose own media path died (its signaling socket lives) asks for
//! the same for itself alone ([`Rooms::restart_member_media`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use tokio::task::JoinHandle;
use tracing::Instrument;
use yunhui_proto::media::{Routing, VideoSubscriptions};
use yunhui_proto::signaling::ServerMessage;

use super::{Member, Outbound, Outbox, Room, RoomState, Rooms};
use crate::error::{Error, Result};

/// Shortest time between two media restarts a participant asks for.
const MEDIA_RESTART_INTERVAL: Duration =
    Duration::from_millis(yunhui_proto::limits::MEDIA_RESTART_INTERVAL_MS as u64);

/// How often the SFU node is asked who it is.
const WATCH_EVERY: Duration = Duration::from_secs(1);

/// Watches the SFU node for restarts while `rooms` exists, and restores the
/// rooms of this replica on the new instance.
pub fn watch_media(rooms: &Arc<Rooms>) -> JoinHandle<()> {
    let rooms = Arc::downgrade(rooms);
    tokio::spawn(async move {
        let mut known: Option<String> = None;
        let mut every = tokio::time::interval(WATCH_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // The first look is at once: a node that goes before it is not noticed.
            every.tick().await;
            let Some(rooms) = rooms.upgrade() else {
                return;
            };
            // Unreachable while it restarts: the next answer tells.
            let Ok(stats) = rooms.media.node_stats().await else {
                continue;
            };
            if stats.instance.is_empty() {
                continue;
            }
            if known.as_ref().is_some_and(|k| *k != stats.instance) {
                tracing::warn!(
                    previous = known.as_deref().unwrap_or_default(),
                    instance = %stats.instance,
                    "the SFU node restarted; restoring this replica's rooms on it"
                );
                rooms.restore_media().await;
            }
            known = Some(stats.instance);
        }
    })
}

impl Rooms {
    /// Opens every live room of this replica on the SFU again (after it
    /// restarted), rooms side by side.
    async fn restore_media(&self) {
        let rooms: Vec<Arc<Room>> = self.rooms.lock().await.values().cloned().collect();
        join_all(rooms.iter().map(|room| {
            let span = tracing::info_span!(
                "restore_room",
                tenant = %room.meeting.tenant_id,
                meeting = %room.meeting.number,
                room = %room.media_room
            );
            self.restore_room(room).instrument(span)
        }))
        .await;
    }

    /// One room: the SFU room, its members in the order they joined with
    /// their video subscriptions, then the request to reconnect. The room's
    /// lock is held only to read who is in it.
    async fn restore_room(&self, room: &Arc<Room>) {
        if !matches!(*room.opened.borrow(), Some(Ok(()))) {
            // Still opening (on the new instance, then) or never opened.
            return;
        }
        if !self.media.room_lost(&room.media_room).await {
            // Its node still has it and stays: nothing was lost.
            return;
        }
        let members: Vec<MemberMedia> = {
            let state = room.state.lock().await;
            if state.closed.is_some() {
                return;
            }
            let mut members: Vec<_> = state.members.values().collect();
            members.sort_by_key(|m| m.joined_seq);
            members
                .into_iter()
                .map(|member| MemberMedia::of(&state, member))
                .collect()
        };
        if let Err(error) = self.media.create_room(&room.media_room).await {
            tracing::warn!(%error, "cannot open the room on the restarted SFU");
            return;
        }
        for member in &members {
            // Someone who joined after the restart is on the node already.
            self.reconnect_on_media(room, member).await;
        }
        for member in &members {
            let _ = member
                .outbox
                .send(Outbound::Message(ServerMessage::MediaRestart));
        }
        tracing::info!(
            participants = members.len(),
            "room restored on the SFU; clients reconnect their media"
        );
    }

    /// A member's media path died while its signaling socket lives
    /// ([`ClientMessage::RestartMedia`](yunhui_proto::signaling::ClientMessage::RestartMedia)):
    /// its connections on the SFU are replaced by fresh ones with the same
    /// video subscriptions and routing, it is asked to connect anew, and
    /// everyone receiving it is renegotiated (its tracks are gone until it
    /// publishes again). Once per [`MEDIA_RESTART_INTERVAL`] at most.
    pub async fn restart_member_media(&self, room: &Arc<Room>, participant_id: &str) -> Result<()> {
        let (member, receivers) = {
            let mut state = room.state.lock().await;
            let now = Instant::now();
            let entry = state
                .members
                .get_mut(participant_id)
                .ok_or(Error::NotAdmitted)?;
            if let Some(last) = entry.media_restarted
                && let Some(wait) = MEDIA_RESTART_INTERVAL.checked_sub(now - last)
            {
                return Err(Error::MediaRestartTooSoon {
                    interval_ms: MEDIA_RESTART_INTERVAL.as_millis() as u64,
                    retry_after_ms: (wait.as_millis() as u64).max(1),
                });
            }
            entry.media_restarted = Some(now);
            // Its tracks leave the SFU now; publishing again sets this.
            let had_published = std::mem::take(&mut entry.published);
            let state = &*state;
            let member = MemberMedia::of(state, &state.members[participant_id]);
            let receivers: Vec<(String, Outbox)> = state
                .members
                .values()
                .filter(|m| had_published && m.info.id != participant_id)
                .map(|m| (m.info.id.clone(), m.outbox.clone()))
                .collect();
            (member, receivers)
        };
        self.reconnect_on_media(room, &member).await;
        let _ = member
            .outbox
            .send(Outbound::Message(ServerMessage::MediaRestart));
        tracing::info!("media restarted at the client's request");
        // The others drop its tracks; it is offered theirs on its new
        // subscriber connection (it may publish nothing to trigger that).
        let mut targets = receivers;
        targets.push((member.id.clone(), member.outbox.clone()));
        self.renegotiate(room, targets).await;
        Ok(())
    }

    /// Gives `member` fresh connections on the room's SFU node: off it (if
    /// it is there), on again, with its video subscriptions and routing.
    async fn reconnect_on_media(&self, room: &Room, member: &MemberMedia) {
        let id = &member.id;
        let _ = self.media.remove_participant(&room.media_room, id).await;
        if let Err(error) = self.media.add_participant(&room.media_room, id).await {
            tracing::warn!(%error, participant = %id, "cannot put a participant on the SFU again");
            return;
        }
        if let Some(subscriptions) = member.subscriptions.clone()
            && let Err(error) = self
                .media
                .set_video_subscriptions(&room.media_room, id, subscriptions)
                .await
        {
            tracing::warn!(%error, participant = %id, "cannot restore video subscriptions");
        }
        if member.routing != Routing::default()
            && let Err(error) = self
                .media
                .set_routing(&room.media_room, id, member.routing.clone())
                .await
        {
            tracing::warn!(%error, participant = %id, "cannot restore the routing");
        }
    }
}

/// What the SFU must know again of a member whose connections are replaced.
struct MemberMedia {
    id: String,
    subscriptions: Option<VideoSubscriptions>,
    routing: Routing,
    outbox: Outbox,
}

impl MemberMedia {
    fn of(state: &RoomState, member: &Member) -> MemberMedia {
        let subscriptions = state
            .video
            .get(&member.info.id)
            .map(|wish| VideoSubscriptions {
                default: wish.default,
                participants: wish
                    .participants
                    .iter()
                    .map(|(publisher, quality)| (publisher.clone(), *quality))
                    .collect(),
            });
        MemberMedia {
            id: member.info.id.clone(),
            subscriptions,
            routing: member.routing(),
            outbox: member.outbox.clone(),
        }
    }
}
