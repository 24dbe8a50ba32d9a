//! Ringing (F-JOIN-3, F-CTL-5): signed-in clients keep a listening socket,
//! and an invitation rings every one of the invited account's sockets until
//! it is answered on one of them. The inviter follows each call.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use yunhui_proto::signaling::ServerMessage;

use crate::error::{Error, Result};
use crate::live::outbox::{Outbound, Outbox};

struct Listener {
    id: u64,
    outbox: Outbox,
}

struct Call {
    account_id: String,
    display_name: String,
    /// Who to tell the answer; none when a schedule rang.
    inviter: Option<Outbox>,
}

/// What rings where; shared by every socket of this replica.
#[derive(Default)]
pub struct Presence {
    next_id: AtomicU64,
    listeners: Mutex<HashMap<String, Vec<Listener>>>,
    calls: Mutex<HashMap<String, Call>>,
}

/// A call to place.
pub struct Ring<'a> {
    /// The invited account and its name.
    pub account_id: &'a str,
    /// Their display name.
    pub display_name: &'a str,
    /// Meeting number.
    pub meeting_number: &'a str,
    /// Meeting topic.
    pub topic: &'a str,
    /// The inviter's name.
    pub inviter: &'a str,
    /// The meeting's join key.
    pub link_key: &'a str,
}

impl Presence {
    /// Rings `account_id`'s invitations on `outbox` from now on; returns the
    /// id to stop with.
    pub fn listen(&self, account_id: &str, outbox: Outbox) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.listeners
            .lock()
            .entry(account_id.to_string())
            .or_default()
            .push(Listener { id, outbox });
        id
    }

    /// Stops ringing on the socket registered as `id`.
    pub fn unlisten(&self, account_id: &str, id: u64) {
        let mut listeners = self.listeners.lock();
        if let Some(list) = listeners.get_mut(account_id) {
            list.retain(|l| l.id != id);
            if list.is_empty() {
                listeners.remove(account_id);
            }
        }
    }

    /// Rings every socket of the invited account and tells the inviter (if
    /// a person invites, not a schedule) `ringing`, or `offline` when
    /// nothing listens.
    pub fn ring(&self, ring: Ring<'_>, inviter: Option<&Outbox>) {
        let call_id = uuid::Uuid::new_v4().to_string();
        let mut rang = false;
        for l in self
            .listeners
            .lock()
            .get(ring.account_id)
            .into_iter()
            .flatten()
        {
            rang |= l
                .outbox
                .send(Outbound::Message(ServerMessage::IncomingCall {
                    call_id: call_id.clone(),
                    meeting_number: ring.meeting_number.to_string(),
                    topic: ring.topic.to_string(),
                    inviter: ring.inviter.to_string(),
                    link_key: ring.link_key.to_string(),
                }))
                .is_ok();
        }
        if rang {
            self.calls.lock().insert(
                call_id,
                Call {
                    account_id: ring.account_id.to_string(),
                    display_name: ring.display_name.to_string(),
                    inviter: inviter.cloned(),
                },
            );
        }
        if let Some(inviter) = inviter {
            let _ = inviter.send(Outbound::Message(ServerMessage::InviteStatus {
                account_id: ring.account_id.to_string(),
                display_name: ring.display_name.to_string(),
                state: if rang { "ringing" } else { "offline" }.into(),
            }));
        }
    }

    /// Answers a call ringing for `account_id`: the inviter is told, and
    /// the account's other sockets stop ringing.
    pub fn answer(&self, account_id: &str, call_id: &str, accept: bool) -> Result<()> {
        let call = {
            let mut calls = self.calls.lock();
            match calls.get(call_id) {
                Some(call) if call.account_id == account_id => calls.remove(call_id),
                _ => None,
            }
        }
        .ok_or_else(|| Error::CallNotFound(call_id.to_string()))?;
        if let Some(inviter) = &call.inviter {
            let _ = inviter.send(Outbound::Message(ServerMessage::InviteStatus {
                account_id: call.account_id.clone(),
                display_name: call.display_name,
                state: if accept { "accepted" } else { "declined" }.into(),
            }));
        }
        for l in self.listeners.lock().get(account_id).into_iter().flatten() {
            let _ = l.outbox.send(Outbound::Message(ServerMessage::CallEnded {
                call_id: call_id.to_string(),
            }));
        }
        Ok(())
    }
}
