//! Group chat messages reach the members' listening sockets (the sockets
//! invitations ring, [`Presence`]): the replica that took a message pushes
//! it to the sockets it holds at once ([`deliver`]); with several replicas,
//! each other replica reads the messages it did not take from the database
//! every [`RELAY_EVERY`] and pushes them to its own ([`spawn_relay`]). A
//! message announcing a meeting started from the chat also rings every
//! member but its sender.

use std::collections::HashMap;
use std::sync::Weak;
use std::time::Duration;

use yunhui_proto::signaling::ServerMessage;

use crate::group_chats::{self, Posted};
use crate::live::presence::{Presence, Ring};
use crate::live::room::Rooms;
use crate::store::{Store, now};

/// How often a replica reads the messages the others took.
pub const RELAY_EVERY: Duration = Duration::from_secs(1);

/// How far back each read looks, in seconds.
const RELAY_WINDOW_SECS: i64 = 10;

/// A meeting announced longer ago than this no longer rings (a relay that
/// fell behind).
const RING_WITHIN_SECS: i64 = 60;

/// Pushes `posted` to its chat's members' sockets on this replica, and
/// rings them for a meeting it announces.
pub fn deliver(presence: &Presence, posted: &Posted) {
    let news = ServerMessage::GroupChatMessage {
        message: posted.message.clone(),
    };
    for account in &posted.members {
        presence.tell_account(account, &news);
    }
    let message = &posted.message;
    let Some(meeting) = &message.meeting else {
        return;
    };
    if now() - message.sent_at > RING_WITHIN_SECS {
        return;
    }
    for account in group_chats::others(&posted.members, &message.sender_account_id) {
        presence.ring(
            Ring {
                account_id: account,
                display_name: account,
                meeting_number: &meeting.number,
                topic: &meeting.topic,
                inviter: &message.sender_name,
                link_key: &meeting.link_key,
            },
            None,
        );
    }
}

/// Pushes the messages other replicas take (those whose origin is not
/// `origin`) to this replica's sockets, for as long as `rooms` lives. Each
/// read looks [`RELAY_WINDOW_SECS`] back, so a message committed a little
/// after a later one is not missed; those already pushed are skipped.
pub fn spawn_relay(
    store: Store,
    rooms: Weak<Rooms>,
    origin: String,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let started = now();
        let mut pushed: HashMap<String, i64> = HashMap::new();
        let mut every = tokio::time::interval(RELAY_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let Some(rooms) = rooms.upgrade() else {
                return;
            };
            let since = (now() - RELAY_WINDOW_SECS).max(started);
            match group_chats::taken_elsewhere(&store, &origin, since).await {
                Ok(taken) => {
                    for posted in &taken {
                        if pushed
                            .insert(posted.message.id.clone(), posted.message.sent_at)
                            .is_none()
                        {
                            deliver(rooms.presence(), posted);
                        }
                    }
                    pushed.retain(|_, sent_at| *sent_at >= since);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "reading other replicas' group chat messages failed")
                }
            }
        }
    })
}
