//! Calls placed from a meeting to SIP devices and phones (F-CTL-5), and by
//! a scheduled meeting to its devices as it starts (F-MTG-2): the
//! permission check, the one-time ticket the answered call joins with, and
//! the caller's [`ServerMessage::DialStatus`] updates. The SIP work itself
//! is the gateway's, behind [`CallControl`].

use std::sync::{Arc, Weak};

use tokio::sync::mpsc;
use yunhui_proto::api::MeetingStatus;
use yunhui_proto::dial::{CallEvent, DialRequest};
use yunhui_proto::limits::RINGING_CALLS;
use yunhui_proto::schedule::MeetingDevice;
use yunhui_proto::signaling::{DialState, DialTarget, ServerMessage};

use super::{Outbound, Outbox, Room, RoomState, Rooms};
use crate::error::{Error, Result};
use crate::licence::Licence;
use crate::meetings::MeetingRecord;

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
        let outbox = member.outbox.clone();
        let shown = target.shown().to_string();
        self.place_call(room, &mut state, target, shown, Some(outbox))
    }

    /// Calls a scheduled meeting's devices as it starts (F-MTG-2): opens its
    /// room, unless another replica holds the meeting (which calls them
    /// instead), and places one call per device, shown by the device's name.
    /// A room that nobody but the called devices would have opened closes
    /// again once every call failed. Answers how many calls were placed.
    pub async fn call_devices(
        self: &Arc<Self>,
        meeting: &MeetingRecord,
        licence: Licence,
        devices: &[MeetingDevice],
    ) -> Result<usize> {
        if devices.is_empty() {
            return Ok(0);
        }
        if self.calls.get().is_none() {
            return Err(Error::Unavailable(
                "calling a meeting's devices needs the SIP gateway, which this deployment does not run"
                    .into(),
            ));
        }
        if self.owner_elsewhere(&meeting.id).await?.is_some() {
            return Ok(0);
        }
        let room = self.open_room(meeting, licence).await?;
        let mut state = room.state.lock().await;
        if state.closed.is_some() {
            return Ok(0);
        }
        let mut placed = 0;
        for device in devices {
            let target = DialTarget::Sip {
                uri: device.address.clone(),
            }
            .normalised()
            .map_err(Error::InvalidInput);
            let outcome = target.and_then(|target| {
                self.place_call(&room, &mut state, target, device.name.clone(), None)
            });
            match outcome {
                Ok(()) => placed += 1,
                Err(e) => {
                    tracing::warn!(error = %e, meeting = %meeting.number, device = %device.address,
                    "a scheduled meeting's device could not be called")
                }
            }
        }
        let emptied = placed == 0 && super::close_when_empty(&mut state);
        drop(state);
        if emptied {
            self.close(&room, MeetingStatus::Waiting).await?;
        }
        Ok(placed)
    }

    /// Places a call to `target`, shown as `display_name`, whose answer may
    /// join `room` with a one-time ticket; its progress goes to `status_to`
    /// (whoever placed it), if anyone.
    fn place_call(
        self: &Arc<Self>,
        room: &Arc<Room>,
        state: &mut RoomState,
        target: DialTarget,
        display_name: String,
        status_to: Option<Outbox>,
    ) -> Result<()> {
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
                    display_name,
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
        let status = Status {
            outbox: status_to,
            call_id,
            target: shown,
        };
        status.send(DialState::Calling, None, None);
        tokio::spawn(follow(
            self.me.clone(),
            Arc::downgrade(room),
            ticket,
            status,
            receiver,
        ));
        Ok(())
    }

    /// Spends a call's ticket: `true` when it was still good.
    pub(super) fn spend_dial_ticket(state: &mut super::RoomState, ticket: &str) -> bool {
        state.dial_tickets.remove(ticket).is_some()
    }
}

/// Where a call's progress goes: the socket of whoever placed it (none for
/// the calls a scheduled meeting places itself).
struct Status {
    outbox: Option<Outbox>,
    call_id: String,
    target: String,
}

impl Status {
    fn send(&self, state: DialState, reason: Option<String>, participant_id: Option<String>) {
        let Some(outbox) = &self.outbox else { return };
        let _ = outbox.send(Outbound::Message(ServerMessage::DialStatus {
            call_id: self.call_id.clone(),
            target: self.target.clone(),
            state,
            reason,
            participant_id,
        }));
    }
}

/// Relays the gateway's events; a call that is answered or fails no longer
/// needs its ticket. A room left with nobody in it and no call ringing (a
/// scheduled meeting whose devices did not answer) closes.
async fn follow(
    rooms: Weak<Rooms>,
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
            let emptied = {
                let mut state = room.state.lock().await;
                if let Some(t) = state.dial_tickets.get(&ticket)
                    && t.call_id == status.call_id
                {
                    state.dial_tickets.remove(&ticket);
                }
                super::close_when_empty(&mut state)
            };
            if emptied
                && let Some(rooms) = rooms.upgrade()
                && let Err(e) = rooms.close(&room, MeetingStatus::Waiting).await
            {
                tracing::warn!(error = %e, meeting = %room.meeting.number, "an emptied room did not close");
            }
        }
    }
}
