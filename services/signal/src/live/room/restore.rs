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

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use tokio::task::JoinHandle;
use tracing::Instrument;
use yunhui_proto::media::{Routing, VideoSubscriptions};
use yunhui_proto::signaling::ServerMessage;

use super::{Outbound, Outbox, Room, Rooms};

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
        let members: Vec<(String, Option<VideoSubscriptions>, Routing, Outbox)> = {
            let state = room.state.lock().await;
            if state.closed.is_some() {
                return;
            }
            let mut members: Vec<_> = state.members.values().collect();
            members.sort_by_key(|m| m.joined_seq);
            members
                .into_iter()
                .map(|member| {
                    let subscriptions =
                        state
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
                    (
                        member.info.id.clone(),
                        subscriptions,
                        member.routing(),
                        member.outbox.clone(),
                    )
                })
                .collect()
        };
        if let Err(error) = self.media.create_room(&room.media_room).await {
            tracing::warn!(%error, "cannot open the room on the restarted SFU");
            return;
        }
        for (id, subscriptions, routing, _) in &members {
            // Someone who joined after the restart is on the node already.
            let _ = self.media.remove_participant(&room.media_room, id).await;
            if let Err(error) = self.media.add_participant(&room.media_room, id).await {
                tracing::warn!(%error, participant = %id, "cannot restore a participant on the SFU");
                continue;
            }
            if let Some(subscriptions) = subscriptions.clone()
                && let Err(error) = self
                    .media
                    .set_video_subscriptions(&room.media_room, id, subscriptions)
                    .await
            {
                tracing::warn!(%error, participant = %id, "cannot restore video subscriptions");
            }
            if *routing != Routing::default()
                && let Err(error) = self
                    .media
                    .set_routing(&room.media_room, id, routing.clone())
                    .await
            {
                tracing::warn!(%error, participant = %id, "cannot restore the routing");
            }
        }
        for (_, _, _, outbox) in &members {
            let _ = outbox.send(Outbound::Message(ServerMessage::MediaRestart));
        }
        tracing::info!(
            participants = members.len(),
            "room restored on the SFU; clients reconnect their media"
        );
    }
}
