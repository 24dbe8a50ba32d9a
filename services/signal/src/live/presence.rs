//! Ringing (F-JOIN-3, F-CTL-5): signed-in clients keep a listening socket,
//! and an invitation rings every one of the invited account's sockets until
//! it is answered on one of them. The inviter follows each call.
//!
//! With several signal replicas an invitee's sockets may be connected to
//! any of them: a call placed during a meeting is also written to the
//! database ([`board`]), every other replica rings it on its own sockets and
//! writes back that it rang and how it was answered, and the replica that
//! placed it tells the inviter. A scheduled meeting's ringing runs on every
//! replica for its own sockets and is not shared.

pub mod board;

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

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
    /// Placed by another replica: this one only rings it.
    remote: bool,
    /// Whether the inviter was told `ringing`.
    told_ringing: bool,
    placed: Instant,
}

/// What rings where; shared by every socket of this replica.
#[derive(Default)]
pub struct Presence {
    next_id: AtomicU64,
    listeners: Mutex<HashMap<String, Vec<Listener>>>,
    calls: Mutex<HashMap<String, Call>>,
    /// Calls placed during meetings ring on the other replicas too.
    shared: AtomicBool,
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

/// A call placed on this replica that the other replicas ring too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// The call, the same on every replica.
    pub call_id: String,
    /// The invited account and its name.
    pub account_id: String,
    /// Their display name.
    pub display_name: String,
    /// Meeting number.
    pub meeting_number: String,
    /// Meeting topic.
    pub topic: String,
    /// The inviter's name.
    pub inviter: String,
    /// The meeting's join key.
    pub link_key: String,
}

/// What became of a call this replica placed, as the other replicas wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallNews {
    /// Another replica rings it.
    Ringing,
    /// Answered on another replica.
    Answered {
        /// Accepted, or declined.
        accept: bool,
    },
    /// Nothing rang it anywhere.
    Offline,
    /// It rang past its time unanswered: it stops.
    Expired,
}

/// A call this replica placed that also rings elsewhere, as
/// [`board`] follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnCall {
    /// The call.
    pub call_id: String,
    /// Whether the inviter was told `ringing` already.
    pub told_ringing: bool,
    /// How long ago it was placed.
    pub age: Duration,
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

    /// Calls placed during meetings ring on the other replicas too, from
    /// now on (several replicas run; [`board`] carries them).
    pub fn share_across_replicas(&self) {
        self.shared.store(true, Ordering::Relaxed);
    }

    /// Rings every socket of the invited account and tells the inviter (if
    /// a person invites, not a schedule) `ringing`, or `offline` when
    /// nothing listens. When calls are shared across replicas, a person's
    /// call is returned for [`board`] to write, and `offline` waits for the
    /// other replicas.
    pub fn ring(&self, ring: Ring<'_>, inviter: Option<&Outbox>) -> Option<Placed> {
        let placed = Placed {
            call_id: uuid::Uuid::new_v4().to_string(),
            account_id: ring.account_id.to_string(),
            display_name: ring.display_name.to_string(),
            meeting_number: ring.meeting_number.to_string(),
            topic: ring.topic.to_string(),
            inviter: ring.inviter.to_string(),
            link_key: ring.link_key.to_string(),
        };
        let rang = self.ring_here(&placed);
        let shared = inviter.is_some() && self.shared.load(Ordering::Relaxed);
        if rang || shared {
            self.calls.lock().insert(
                placed.call_id.clone(),
                Call {
                    account_id: placed.account_id.clone(),
                    display_name: placed.display_name.clone(),
                    inviter: inviter.cloned(),
                    remote: false,
                    told_ringing: rang,
                    placed: Instant::now(),
                },
            );
        }
        if let Some(inviter) = inviter
            && (rang || !shared)
        {
            tell(
                inviter,
                &placed.account_id,
                &placed.display_name,
                if rang { "ringing" } else { "offline" },
            );
        }
        shared.then_some(placed)
    }

    /// Sends `placed` to the invited account's sockets on this replica;
    /// whether any took it.
    fn ring_here(&self, placed: &Placed) -> bool {
        let mut rang = false;
        for l in self
            .listeners
            .lock()
            .get(&placed.account_id)
            .into_iter()
            .flatten()
        {
            rang |= l
                .outbox
                .send(Outbound::Message(ServerMessage::IncomingCall {
                    call_id: placed.call_id.clone(),
                    meeting_number: placed.meeting_number.clone(),
                    topic: placed.topic.clone(),
                    inviter: placed.inviter.clone(),
                    link_key: placed.link_key.clone(),
                }))
                .is_ok();
        }
        rang
    }

    /// Sends `message` to every socket of `account_id` on this replica;
    /// how many took it.
    pub fn tell_account(&self, account_id: &str, message: &ServerMessage) -> usize {
        self.listeners
            .lock()
            .get(account_id)
            .into_iter()
            .flatten()
            .filter(|l| l.outbox.send(Outbound::Message(message.clone())).is_ok())
            .count()
    }

    /// Rings a call another replica placed on this replica's sockets of the
    /// invited account, unless it rings here already; whether it rang now.
    pub fn ring_from_elsewhere(&self, placed: &Placed) -> bool {
        if self.calls.lock().contains_key(&placed.call_id) {
            return false;
        }
        let rang = self.ring_here(placed);
        if rang {
            self.calls.lock().insert(
                placed.call_id.clone(),
                Call {
                    account_id: placed.account_id.clone(),
                    display_name: placed.display_name.clone(),
                    inviter: None,
                    remote: true,
                    told_ringing: false,
                    placed: Instant::now(),
                },
            );
        }
        rang
    }

    /// The calls placed elsewhere that ring here.
    pub fn ringing_from_elsewhere(&self) -> Vec<String> {
        let calls = self.calls.lock();
        calls
            .iter()
            .filter(|(_, c)| c.remote)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// A call placed elsewhere was answered elsewhere, or ended: it stops
    /// ringing here.
    pub fn ended_elsewhere(&self, call_id: &str) {
        let call = {
            let mut calls = self.calls.lock();
            match calls.get(call_id) {
                Some(call) if call.remote => calls.remove(call_id),
                _ => None,
            }
        };
        if let Some(call) = call {
            self.stop_ringing(&call.account_id, call_id);
        }
    }

    /// The calls this replica placed that ring on other replicas too.
    pub fn own_shared_calls(&self) -> Vec<OwnCall> {
        let calls = self.calls.lock();
        calls
            .iter()
            .filter(|(_, c)| !c.remote && c.inviter.is_some())
            .map(|(id, c)| OwnCall {
                call_id: id.clone(),
                told_ringing: c.told_ringing,
                age: c.placed.elapsed(),
            })
            .collect()
    }

    /// What the other replicas made of a call this replica placed: the
    /// inviter is told, and an answered or ended call stops ringing here.
    pub fn settle(&self, call_id: &str, news: CallNews) {
        let mut calls = self.calls.lock();
        let Some(call) = calls.get_mut(call_id).filter(|c| !c.remote) else {
            return;
        };
        let state = match news {
            CallNews::Ringing if call.told_ringing => return,
            CallNews::Ringing => {
                call.told_ringing = true;
                if let Some(inviter) = &call.inviter {
                    tell(inviter, &call.account_id, &call.display_name, "ringing");
                }
                return;
            }
            CallNews::Answered { accept: true } => Some("accepted"),
            CallNews::Answered { accept: false } => Some("declined"),
            CallNews::Offline => Some("offline"),
            CallNews::Expired => None,
        };
        let Some(call) = calls.remove(call_id) else {
            return;
        };
        drop(calls);
        if let (Some(inviter), Some(state)) = (&call.inviter, state) {
            tell(inviter, &call.account_id, &call.display_name, state);
        }
        self.stop_ringing(&call.account_id, call_id);
    }

    /// Tells every socket of `account_id` here that `call_id` stopped ringing.
    fn stop_ringing(&self, account_id: &str, call_id: &str) {
        for l in self.listeners.lock().get(account_id).into_iter().flatten() {
            let _ = l.outbox.send(Outbound::Message(ServerMessage::CallEnded {
                call_id: call_id.to_string(),
            }));
        }
    }

    /// Answers a call ringing for `account_id`: the inviter is told, and
    /// the account's other sockets stop ringing. Returns whether the answer
    /// must also reach the other replicas ([`board`]): the call rings there
    /// too, or its inviter is there.
    pub fn answer(&self, account_id: &str, call_id: &str, accept: bool) -> Result<bool> {
        let call = {
            let mut calls = self.calls.lock();
            match calls.get(call_id) {
                Some(call) if call.account_id == account_id => calls.remove(call_id),
                _ => None,
            }
        }
        .ok_or_else(|| Error::CallNotFound(call_id.to_string()))?;
        if let Some(inviter) = &call.inviter {
            tell(
                inviter,
                &call.account_id,
                &call.display_name,
                if accept { "accepted" } else { "declined" },
            );
        }
        self.stop_ringing(account_id, call_id);
        let shared = call.remote || (call.inviter.is_some() && self.shared.load(Ordering::Relaxed));
        Ok(shared)
    }
}

/// Tells an inviter how their call to `account_id` goes.
fn tell(inviter: &Outbox, account_id: &str, display_name: &str, state: &str) {
    let _ = inviter.send(Outbound::Message(ServerMessage::InviteStatus {
        account_id: account_id.to_string(),
        display_name: display_name.to_string(),
        state: state.into(),
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    fn socket() -> (Outbox, mpsc::UnboundedReceiver<Outbound>) {
        mpsc::unbounded_channel()
    }

    /// The messages queued on a socket, drained.
    fn drained(rx: &mut mpsc::UnboundedReceiver<Outbound>) -> Vec<ServerMessage> {
        let mut out = Vec::new();
        while let Ok(Outbound::Message(m)) = rx.try_recv() {
            out.push(m);
        }
        out
    }

    fn states(messages: &[ServerMessage]) -> Vec<String> {
        messages
            .iter()
            .filter_map(|m| match m {
                ServerMessage::InviteStatus { state, .. } => Some(state.clone()),
                _ => None,
            })
            .collect()
    }

    fn ring(account: &str) -> Ring<'_> {
        Ring {
            account_id: account,
            display_name: "Bob",
            meeting_number: "123456789",
            topic: "Sync",
            inviter: "Host",
            link_key: "key",
        }
    }

    #[test]
    fn alone_a_call_nobody_listens_to_is_offline_at_once() {
        let presence = Presence::default();
        let (inviter, mut told) = socket();
        assert_eq!(presence.ring(ring("bob"), Some(&inviter)), None);
        assert_eq!(states(&drained(&mut told)), ["offline"]);
    }

    #[test]
    fn shared_a_call_waits_for_the_other_replicas_and_tells_each_state_once() {
        let presence = Presence::default();
        presence.share_across_replicas();
        let (inviter, mut told) = socket();
        let placed = presence.ring(ring("bob"), Some(&inviter)).expect("shared");
        // Nothing rang here: no word yet, the other replicas may ring it.
        assert!(states(&drained(&mut told)).is_empty());
        assert_eq!(presence.own_shared_calls().len(), 1);
        presence.settle(&placed.call_id, CallNews::Ringing);
        presence.settle(&placed.call_id, CallNews::Ringing);
        presence.settle(&placed.call_id, CallNews::Answered { accept: true });
        assert_eq!(states(&drained(&mut told)), ["ringing", "accepted"]);
        assert!(presence.own_shared_calls().is_empty());
        // A schedule's ring (no inviter) is not shared: every replica rings its own.
        assert_eq!(presence.ring(ring("bob"), None), None);
    }

    #[test]
    fn a_call_from_elsewhere_rings_here_and_its_answer_goes_back() {
        let presence = Presence::default();
        presence.share_across_replicas();
        let (phone, mut rings) = socket();
        let (desk, mut desk_rings) = socket();
        presence.listen("bob", phone);
        presence.listen("bob", desk);
        let call = Placed {
            call_id: "c1".into(),
            account_id: "bob".into(),
            display_name: "Bob".into(),
            meeting_number: "123456789".into(),
            topic: "Sync".into(),
            inviter: "Host".into(),
            link_key: "key".into(),
        };
        assert!(presence.ring_from_elsewhere(&call));
        // Rung once, however often the board reads it.
        assert!(!presence.ring_from_elsewhere(&call));
        let incoming = drained(&mut rings);
        assert!(
            matches!(incoming.as_slice(), [ServerMessage::IncomingCall { call_id, .. }] if call_id == "c1")
        );
        assert_eq!(presence.ringing_from_elsewhere(), ["c1"]);
        // Answered on the phone: the answer must reach the database, the desk stops.
        assert!(presence.answer("bob", "c1", true).unwrap());
        drained(&mut desk_rings);
        assert!(presence.ringing_from_elsewhere().is_empty());
        assert!(matches!(
            presence.answer("bob", "c1", true),
            Err(Error::CallNotFound(_))
        ));
        // A call answered elsewhere stops ringing here.
        let other = Placed {
            call_id: "c2".into(),
            ..call
        };
        assert!(presence.ring_from_elsewhere(&other));
        drained(&mut rings);
        presence.ended_elsewhere("c2");
        let ended = drained(&mut rings);
        assert!(
            matches!(ended.as_slice(), [ServerMessage::CallEnded { call_id }] if call_id == "c2")
        );
    }
}
