//! The meetings' leases while this replica is one of several
//! ([`crate::live::ownership`]): renewed for the rooms open here, and a room
//! whose meeting another replica took over is closed here.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use yunhui_proto::api::MeetingStatus;

use super::{Outbound, Rooms};

/// Why participants' sockets close when another replica took their meeting over.
const MOVED: &str = "the meeting moved to another server; join again";

/// Renews the leases of the meetings open in `rooms` for as long as `rooms`
/// lives, and closes the rooms whose meeting another replica took over.
/// Nothing runs without ownership (a single replica).
pub fn renew_leases(rooms: &Arc<Rooms>) -> Option<JoinHandle<()>> {
    let every: Duration = rooms.ownership()?.renew_every();
    let rooms = Arc::downgrade(rooms);
    Some(tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            let Some(rooms) = rooms.upgrade() else {
                return;
            };
            let Some(ownership) = rooms.ownership().cloned() else {
                return;
            };
            let live = rooms.meeting_ids().await;
            match ownership.renew(&live).await {
                Ok(lost) => {
                    for meeting in lost {
                        rooms.fence(&meeting).await;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "renewing the meetings' leases failed"),
            }
        }
    }))
}

impl Rooms {
    /// Closes this replica's copy of a meeting another replica took over:
    /// its participants' sockets close (their clients join again and reach
    /// the new owner) and its SFU room closes. The meeting's stored status
    /// is the new owner's to keep.
    pub async fn fence(&self, meeting_id: &str) {
        let Some(room) = self.rooms.lock().await.get(meeting_id).cloned() else {
            return;
        };
        self.forget(&room).await;
        if let Some(task) = room.speaker_task.lock().take() {
            task.abort();
        }
        {
            let mut state = room.state.lock().await;
            let members = state.members.len();
            for (_, member) in state.members.drain() {
                let _ = member.outbox.send(Outbound::JoinAgain(MOVED.into()));
                self.metrics.participants.dec();
            }
            self.count_out(&room.meeting.tenant_id, members);
            for waiter in state.waiting.drain(..) {
                let _ = waiter.outbox.send(Outbound::JoinAgain(MOVED.into()));
            }
            state.closed = Some(MeetingStatus::Waiting);
        }
        if let Err(e) = self.media.close_room(&room.media_room).await {
            tracing::warn!(error = %e, meeting = %room.meeting.number, "SFU could not close a room this replica lost");
        }
    }
}
