//! Calls placed from a meeting to SIP devices and phones (F-CTL-5): the
//! permission check, the one-time ticket the answered call joins with, and
//! the caller's [`ServerMessage::DialStatus`] updates. The SIP work itself
//! is the gateway's, behind [`CallControl`].

use std::sync::{Arc, Weak};

use tokio::sync::mpsc;
use yunhui_proto::dial::{CallEvent, DialRequest};
use yunhui_proto::limits::RINGING_CALLS;
use yunhui_proto::signaling::{DialState, DialTarget, ServerMessage};

use super::{Outbound, Outbox, Room, Rooms};
use crate::error::{Error, Result};

/// A placed call not yet in the meeting.
pub(super) struct Ticket {
    call_id: String,
}

impl Rooms {
    /// Whether `ticket` lets a placed call into the open room of `meeting_id`.
    pub async fn has_dial_ticket(&self, meeting_id: &str, ticket: &str) -> bool {
        let room = self.rooms.lock().await.get(meeting_id).cloned();
        match room {
            Some(room) => room.state.lock().await.dial_tickets.contains_key(ticket),
            None => false,
        }
    }

    /// Calls `target` into the meeting through the SIP gateway. Allowed to
    /// whoever may invite (the host, or everyone when invitees may invite).
    pub async fn dial(
        self: &Arc<Self>,
        room: &Arc<Room>,
        participant_id: &str,
        target: DialTarget,
    ) -> Result<()> {
        let target = target.normalised().map_err(Error::InvalidInput)?;
        let mut state = room.state.lock().await;
        let member = state.inviter(participant_id, "call devices or phones into this meeting")?;
        let Some(control) = self.calls.get() else {
            return Err(Error::Unavailable(
                "calling devices and phones needs the SIP gateway, which this deployment does not run"
                    .into(),
            ));
        };
        if state.dial_tickets.len() >= RINGING_CALLS {
            return Err(Error::InvalidInput(format!(
                "at most {RINGING_CALLS} calls of one meeting may ring at once"
            )));
        }
        let outbox = member.outbox.clone();
        let call_id = uuid::Uuid::new_v4().to_string();
        let ticket = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let shown = target.shown().to_string();
        let (events, receiver) = mpsc::unbounded_channel();
        control
            .dial(
                DialRequest {
                    call_id: call_id.clone(),
                    meeting_number: room.meeting.number.clone(),
                    ticket: ticket.clone(),
                    target,
                    display_name: shown.clone(),
                },
                Box::new(move |event| {
                    let _ = events.send(event);
                }),
            )
            .map_err(Error::Unavailable)?;
        state.dial_tickets.insert(
            ticket.clone(),
            Ticket {
                call_id: call_id.clone(),
            },
        );
        drop(state);
        let status = Status {
            outbox,
            call_id,
            target: shown,
        };
        status.send(DialState::Calling, None, None);
        tokio::spawn(follow(Arc::downgrade(room), ticket, status, receiver));
        Ok(())
    }

    /// Spends a call's ticket: `true` when it was still good.
    pub(super) fn spend_dial_ticket(state: &mut super::RoomState, ticket: &str) -> bool {
        state.dial_tickets.remove(ticket).is_some()
    }
}

/// Where a call's progress goes: the socket of whoever placed it.
struct Status {
    outbox: Outbox,
    call_id: String,
    target: String,
}

impl Status {
    fn send(&self, state: DialState, reason: Option<String>, participant_id: Option<String>) {
        let _ = self
            .outbox
            .send(Outbound::Message(ServerMessage::DialStatus {
                call_id: self.call_id.clone(),
                target: self.target.clone(),
                state,
                reason,
                participant_id,
            }));
    }
}

/// Relays the gateway's events; a call that is answered or fails no longer
/// needs its ticket.
async fn follow(
    room: Weak<Room>,
    ticket: String,
    status: Status,
    mut events: mpsc::UnboundedReceiver<CallEvent>,
) {
    while let Some(event) = events.recv().await {
        let finished = !matches!(event, CallEvent::Ringing);
        match event {
            CallEvent::Ringing => status.send(DialState::Ringing, None, None),
            CallEvent::Answered { participant_id } => {
                status.send(DialState::Answered, None, Some(participant_id))
            }
            CallEvent::Failed { reason } => status.send(DialState::Failed, Some(reason), None),
            CallEvent::Ended { reason } => status.send(DialState::Ended, Some(reason), None),
        }
        if finished && let Some(room) = room.upgrade() {
            let mut state = room.state.lock().await;
            if let Some(t) = state.dial_tickets.get(&ticket)
                && t.call_id == status.call_id
            {
                state.dial_tickets.remove(&ticket);
            }
        }
    }
}
