//! Breakout rooms (F-BRK-1, the manual's 5.2): the host creates rooms,
//! spreads participants over them (at random, by hand, or lets them
//! choose), opens them, visits any of them, broadcasts to all, and closes
//! them after a countdown that brings everyone back to the main room.
//!
//! A breakout room is not a meeting of its own: everyone stays a member of
//! the meeting's room, with the same sockets and peer connections. Where a
//! member is is their [`Participant::breakout`]; the SFU passes media only
//! between members of the same one ([`yunhui_proto::media::Routing`]), and
//! a move renegotiates the subscriber connections of those it concerns, so
//! tracks change and the connection stays.
//!
//! The pure rules are [`spread`] (random assignment), [`may_join`] (who may
//! go where) and [`check_options`]; the changes below take the room's
//! state and return the SFU's work as [`Effects`]. Timers (closing after N
//! seconds, the countdown) come back through [`Rooms::breakout_due`] with
//! the [`Session::generation`] they were set for: a timer of a schedule
//! changed since does nothing.

use std::sync::Arc;
use std::time::Duration;

use rand::seq::SliceRandom;
use yunhui_proto::limits::{BREAKOUT_NAME_CHARS, BREAKOUT_ROOMS, CHAT_CHARS};
use yunhui_proto::signaling::{
    BreakoutAssignment, BreakoutOptions, BreakoutRoom, Breakouts, Role, ServerMessage,
};

use super::{Effects, Room, RoomState, Rooms, broadcast, now_ms, tell_update};
use crate::error::{Error, Result};

/// Longest time after opening that rooms may be set to close.
const LONGEST_CLOSE_AFTER: u32 = 24 * 3600;
/// Longest countdown before closing.
const LONGEST_COUNTDOWN: u32 = 3600;

/// A meeting's breakout rooms.
pub(super) struct Session {
    rooms: Vec<BreakoutRoom>,
    assignment: BreakoutAssignment,
    options: BreakoutOptions,
    open: bool,
    opened_at_ms: Option<i64>,
    closing_at_ms: Option<i64>,
    /// Bumped by every change of the schedule (open, closing, closed, new
    /// options): a timer set for an older one does nothing.
    generation: u64,
    next_id: u32,
}

/// A timer to set once the room's lock is released: [`Rooms::breakout_due`]
/// after `after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Timer {
    pub after: Duration,
    pub generation: u64,
}

impl Session {
    /// The rooms as everyone sees them.
    pub fn shown(&self) -> Breakouts {
        Breakouts {
            rooms: self.rooms.clone(),
            assignment: self.assignment,
            options: self.options.clone(),
            open: self.open,
            opened_at_ms: self.opened_at_ms,
            closing_at_ms: self.closing_at_ms,
        }
    }

    fn assigned_room(&self, who: &str) -> Option<&str> {
        self.rooms
            .iter()
            .find(|r| r.assigned.iter().any(|a| a == who))
            .map(|r| r.id.as_str())
    }

    fn has_room(&self, id: &str) -> bool {
        self.rooms.iter().any(|r| r.id == id)
    }

    fn add_room(&mut self, name: String) -> &BreakoutRoom {
        self.next_id += 1;
        self.rooms.push(BreakoutRoom {
            id: format!("room-{}", self.next_id),
            name,
            assigned: Vec::new(),
        });
        self.rooms.last().expect("just pushed")
    }

    fn unassign(&mut self, who: &str) -> bool {
        let mut changed = false;
        for room in &mut self.rooms {
            let before = room.assigned.len();
            room.assigned.retain(|a| a != who);
            changed |= room.assigned.len() != before;
        }
        changed
    }
}

/// Spreads `participants` over `rooms` rooms evenly, in random order:
/// room sizes differ by at most one.
pub fn spread<R: rand::Rng>(
    participants: &[String],
    rooms: usize,
    rng: &mut R,
) -> Vec<Vec<String>> {
    let mut shuffled = participants.to_vec();
    shuffled.shuffle(rng);
    let mut spread = vec![Vec::new(); rooms];
    for (i, who) in shuffled.into_iter().enumerate() {
        spread[i % rooms].push(who);
    }
    spread
}

/// Whether someone of `role`, assigned to `assigned`, may go from where
/// they are (`from`) to `to` (`None`: the main room) under `options`.
pub fn may_join(
    role: Role,
    assigned: Option<&str>,
    options: &BreakoutOptions,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<()> {
    if role == Role::Host || from == to {
        return Ok(());
    }
    match to {
        Some(room) if assigned == Some(room) || options.allow_choose => Ok(()),
        Some(_) => Err(Error::NotAllowed(
            "choose a breakout room: the host assigns the rooms in this meeting",
        )),
        None if options.allow_return => Ok(()),
        None => Err(Error::NotAllowed(
            "return to the main room before the breakout rooms close: the host did not allow it",
        )),
    }
}

/// Refuses options out of range.
pub fn check_options(options: &BreakoutOptions) -> Result<()> {
    if let Some(after) = options.close_after_seconds
        && !(1..=LONGEST_CLOSE_AFTER).contains(&after)
    {
        return Err(Error::InvalidInput(format!(
            "close_after_seconds: {after} is not between 1 and {LONGEST_CLOSE_AFTER}"
        )));
    }
    if options.countdown_seconds > LONGEST_COUNTDOWN {
        return Err(Error::InvalidInput(format!(
            "countdown_seconds: {} is more than {LONGEST_COUNTDOWN}",
            options.countdown_seconds
        )));
    }
    Ok(())
}

fn check_name(name: &str) -> Result<String> {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > BREAKOUT_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(Error::InvalidInput(format!(
            "a breakout room's name has 1 to {BREAKOUT_NAME_CHARS} characters and no control characters"
        )));
    }
    Ok(name.to_string())
}

fn session(state: &RoomState) -> Result<&Session> {
    state.breakouts.as_ref().ok_or(Error::NotAllowed(
        "do this: the meeting has no breakout rooms; create them first",
    ))
}

fn session_mut(state: &mut RoomState) -> Result<&mut Session> {
    state.breakouts.as_mut().ok_or(Error::NotAllowed(
        "do this: the meeting has no breakout rooms; create them first",
    ))
}

fn check_room(session: &Session, room_id: &str) -> Result<()> {
    if session.has_room(room_id) {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "there is no breakout room {room_id}"
        )))
    }
}

fn tell(state: &RoomState) {
    broadcast(
        state,
        &ServerMessage::Breakouts {
            breakouts: state.breakouts.as_ref().map(Session::shown),
        },
    );
}

/// Creates `count` rooms and spreads participants as `assignment` says.
pub(super) fn create(
    state: &mut RoomState,
    count: u32,
    assignment: BreakoutAssignment,
    options: BreakoutOptions,
) -> Result<()> {
    if state.options.webinar {
        return Err(Error::NotAllowed(
            "create breakout rooms in a webinar: webinars have none",
        ));
    }
    if state.breakouts.as_ref().is_some_and(|s| s.open) {
        return Err(Error::NotAllowed(
            "create breakout rooms while they are open: close them first",
        ));
    }
    let count = count as usize;
    if !(1..=BREAKOUT_ROOMS).contains(&count) {
        return Err(Error::InvalidInput(format!(
            "count: {count} is not between 1 and {BREAKOUT_ROOMS}"
        )));
    }
    check_options(&options)?;
    let generation = state.breakouts.as_ref().map_or(0, |s| s.generation + 1);
    let mut session = Session {
        rooms: Vec::new(),
        assignment,
        options,
        open: false,
        opened_at_ms: None,
        closing_at_ms: None,
        generation,
        next_id: 0,
    };
    for i in 1..=count {
        session.add_room(format!("Room {i}"));
    }
    if assignment == BreakoutAssignment::Random {
        let mut members: Vec<_> = state
            .members
            .values()
            .filter(|m| !m.hidden && m.info.role != Role::Host)
            .collect();
        members.sort_by_key(|m| m.joined_seq);
        let ids: Vec<String> = members.iter().map(|m| m.info.id.clone()).collect();
        for (room, ids) in
            session
                .rooms
                .iter_mut()
                .zip(spread(&ids, count, &mut rand::thread_rng()))
        {
            room.assigned = ids;
        }
    }
    state.breakouts = Some(session);
    tell(state);
    Ok(())
}

/// Replaces the options; while open, a closing time is counted again from
/// opening.
pub(super) fn set_options(state: &mut RoomState, options: BreakoutOptions) -> Result<Effects> {
    check_options(&options)?;
    let session = session_mut(state)?;
    session.options = options;
    let mut effects = Effects::default();
    if session.open && session.closing_at_ms.is_none() {
        session.generation += 1;
        effects.timer = close_timer(session, now_ms());
    }
    tell(state);
    Ok(effects)
}

/// The timer that starts closing an open session, if its options close it.
fn close_timer(session: &Session, now: i64) -> Option<Timer> {
    let after = session.options.close_after_seconds?;
    let opened = session.opened_at_ms.unwrap_or(now);
    let due = opened + i64::from(after) * 1000;
    Some(Timer {
        after: Duration::from_millis((due - now).max(0) as u64),
        generation: session.generation,
    })
}

/// Adds a room.
pub(super) fn add(state: &mut RoomState, name: &str) -> Result<()> {
    let name = check_name(name)?;
    let session = session_mut(state)?;
    if session.rooms.len() >= BREAKOUT_ROOMS {
        return Err(Error::InvalidInput(format!(
            "the meeting has {BREAKOUT_ROOMS} breakout rooms, the most it may"
        )));
    }
    session.add_room(name);
    tell(state);
    Ok(())
}

/// Renames a room.
pub(super) fn rename(state: &mut RoomState, room_id: &str, name: &str) -> Result<()> {
    let name = check_name(name)?;
    let session = session_mut(state)?;
    check_room(session, room_id)?;
    for room in &mut session.rooms {
        if room.id == room_id {
            room.name = name.clone();
        }
    }
    tell(state);
    Ok(())
}

/// Deletes a room; whoever is in it goes back to the main room.
pub(super) fn delete(state: &mut RoomState, room_id: &str) -> Result<Effects> {
    let session = session_mut(state)?;
    check_room(session, room_id)?;
    session.rooms.retain(|r| r.id != room_id);
    let inside: Vec<String> = state
        .members
        .values()
        .filter(|m| m.info.breakout.as_deref() == Some(room_id))
        .map(|m| m.info.id.clone())
        .collect();
    let mut effects = Effects::default();
    for who in inside {
        effects = effects.and(move_to(state, &who, None)?);
    }
    tell(state);
    Ok(effects)
}

/// Assigns `who` to a room (or none); while open, moves them there.
pub(super) fn assign(state: &mut RoomState, who: &str, room_id: Option<&str>) -> Result<Effects> {
    if state.members.get(who).is_none_or(|m| m.hidden) {
        return Err(Error::ParticipantNotFound(who.to_string()));
    }
    let session = session_mut(state)?;
    if let Some(room_id) = room_id {
        check_room(session, room_id)?;
    }
    session.unassign(who);
    if let Some(room) = session
        .rooms
        .iter_mut()
        .find(|r| Some(r.id.as_str()) == room_id)
    {
        room.assigned.push(who.to_string());
    }
    let open = session.open;
    let effects = if open {
        move_to(state, who, room_id.map(String::from))?
    } else {
        Effects::default()
    };
    tell(state);
    Ok(effects)
}

/// Opens the rooms: with `auto_move`, everyone assigned goes into theirs.
pub(super) fn open(state: &mut RoomState) -> Result<Effects> {
    let now = now_ms();
    let session = session_mut(state)?;
    if session.open {
        return Err(Error::NotAllowed(
            "open the breakout rooms: they are open already",
        ));
    }
    if session.rooms.is_empty() {
        return Err(Error::NotAllowed(
            "open the breakout rooms: there are none; add one first",
        ));
    }
    session.open = true;
    session.opened_at_ms = Some(now);
    session.closing_at_ms = None;
    session.generation += 1;
    let mut effects = Effects {
        timer: close_timer(session, now),
        ..Effects::default()
    };
    let moves: Vec<(String, String)> = if session.options.auto_move {
        session
            .rooms
            .iter()
            .flat_map(|r| r.assigned.iter().map(|who| (who.clone(), r.id.clone())))
            .collect()
    } else {
        Vec::new()
    };
    for (who, room) in moves {
        if state.members.contains_key(&who) {
            effects = effects.and(move_to(state, &who, Some(room))?);
        }
    }
    tell(state);
    Ok(effects)
}

/// Starts closing: the countdown runs, then everyone is back in the main
/// room (at once when the countdown is 0).
pub(super) fn close(state: &mut RoomState) -> Result<Effects> {
    let now = now_ms();
    let session = session_mut(state)?;
    if !session.open {
        return Err(Error::NotAllowed(
            "close the breakout rooms: they are not open",
        ));
    }
    if session.closing_at_ms.is_some() {
        // Closing already: the countdown goes on.
        return Ok(Effects::default());
    }
    let countdown = session.options.countdown_seconds;
    if countdown == 0 {
        return Ok(finish(state));
    }
    session.closing_at_ms = Some(now + i64::from(countdown) * 1000);
    session.generation += 1;
    let timer = Timer {
        after: Duration::from_secs(u64::from(countdown)),
        generation: session.generation,
    };
    tell(state);
    Ok(Effects {
        timer: Some(timer),
        ..Effects::default()
    })
}

/// Closes the rooms: everyone is back in the main room. The rooms stay, to
/// be opened again.
fn finish(state: &mut RoomState) -> Effects {
    let Some(session) = state.breakouts.as_mut() else {
        return Effects::default();
    };
    session.open = false;
    session.opened_at_ms = None;
    session.closing_at_ms = None;
    session.generation += 1;
    let away: Vec<String> = state
        .members
        .values()
        .filter(|m| m.info.breakout.is_some())
        .map(|m| m.info.id.clone())
        .collect();
    let mut effects = Effects::default();
    for who in away {
        if let Ok(moved) = move_to(state, &who, None) {
            effects = effects.and(moved);
        }
    }
    tell(state);
    effects
}

/// A timer set for `generation` is due: closing starts, or ends.
pub(super) fn due(state: &mut RoomState, generation: u64) -> Effects {
    let Some(session) = state.breakouts.as_ref() else {
        return Effects::default();
    };
    if session.generation != generation || !session.open {
        return Effects::default();
    }
    if session.closing_at_ms.is_some() {
        finish(state)
    } else {
        close(state).unwrap_or_default()
    }
}

/// `who` goes into a room, or back to the main room.
pub(super) fn join(state: &mut RoomState, who: &str, room_id: Option<String>) -> Result<Effects> {
    let member = state.members.get(who).ok_or(Error::NotAdmitted)?;
    let (role, from) = (member.info.role, member.info.breakout.clone());
    let session = session(state)?;
    if !session.open {
        return Err(Error::NotAllowed(
            "go into a breakout room: the breakout rooms are not open",
        ));
    }
    if let Some(room_id) = &room_id {
        check_room(session, room_id)?;
    }
    may_join(
        role,
        session.assigned_room(who),
        &session.options,
        from.as_deref(),
        room_id.as_deref(),
    )?;
    move_to(state, who, room_id)
}

/// Moves `who` into `room` (`None`: the main room), tells everyone, and
/// leaves the SFU's part: their routing, and new offers for everyone in
/// the room they leave and the room they enter.
fn move_to(state: &mut RoomState, who: &str, room: Option<String>) -> Result<Effects> {
    let member = state.member_mut(who)?;
    if member.info.breakout == room {
        return Ok(Effects::default());
    }
    let left = std::mem::replace(&mut member.info.breakout, room.clone());
    tell_update(state, who);
    let renegotiate = state
        .members
        .values()
        .filter(|m| m.info.id == who || m.info.breakout == left || m.info.breakout == room)
        .map(|m| (m.info.id.clone(), m.outbox.clone()))
        .collect();
    Ok(Effects {
        routing: vec![who.to_string()],
        renegotiate,
        ..Effects::default()
    })
}

/// `who` left the meeting: off the rooms' lists.
pub(super) fn forget(state: &mut RoomState, who: &str) {
    if let Some(session) = state.breakouts.as_mut()
        && session.unassign(who)
    {
        tell(state);
    }
}

/// The host's message to every room.
pub(super) fn broadcast_message(state: &RoomState, from: &str, text: &str) -> Result<()> {
    let text = text.trim();
    let chars = text.chars().count();
    if chars == 0 || chars > CHAT_CHARS {
        return Err(Error::InvalidInput(format!(
            "a broadcast has 1 to {CHAT_CHARS} characters"
        )));
    }
    if !session(state)?.open {
        return Err(Error::NotAllowed(
            "broadcast to the breakout rooms: they are not open",
        ));
    }
    let from_name = state
        .members
        .get(from)
        .map(|m| m.info.display_name.clone())
        .unwrap_or_default();
    broadcast(
        state,
        &ServerMessage::BreakoutBroadcast {
            from_name,
            text: text.to_string(),
        },
    );
    Ok(())
}

impl Rooms {
    /// A participant goes into a breakout room or back to the main room.
    pub async fn join_breakout(
        &self,
        room: &Arc<Room>,
        participant_id: &str,
        room_id: Option<String>,
    ) -> Result<()> {
        let effects = join(&mut *room.state.lock().await, participant_id, room_id)?;
        self.apply(room, effects).await
    }

    /// A participant asks the hosts for help.
    pub async fn ask_for_help(&self, room: &Arc<Room>, participant_id: &str) -> Result<()> {
        let state = room.state.lock().await;
        let member = state
            .members
            .get(participant_id)
            .ok_or(Error::NotAdmitted)?;
        if !session(&state)?.open {
            return Err(Error::NotAllowed(
                "ask for help: the breakout rooms are not open",
            ));
        }
        let message = ServerMessage::HelpRequested {
            participant_id: participant_id.to_string(),
            display_name: member.info.display_name.clone(),
            room_id: member.info.breakout.clone(),
        };
        self.tell_hosts(&state, message);
        Ok(())
    }

    /// Sets `timer`: once due, [`Rooms::breakout_due`].
    pub(super) fn set_breakout_timer(&self, room: &Arc<Room>, timer: Timer) {
        let Some(rooms) = self.me.upgrade() else {
            return;
        };
        let room = Arc::downgrade(room);
        tokio::spawn(async move {
            tokio::time::sleep(timer.after).await;
            if let Some(room) = room.upgrade() {
                rooms.breakout_due(&room, timer.generation).await;
            }
        });
    }

    /// A breakout timer is due.
    async fn breakout_due(&self, room: &Arc<Room>, generation: u64) {
        let effects = {
            let mut state = room.state.lock().await;
            if state.closed.is_some() {
                return;
            }
            due(&mut state, generation)
        };
        if let Err(error) = self.apply(room, effects).await {
            tracing::warn!(%error, "moving participants between breakout rooms failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn spreading_is_even_and_loses_nobody() {
        let people: Vec<String> = (0..7).map(|i| format!("p{i}")).collect();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let rooms = spread(&people, 3, &mut rng);
        let mut sizes: Vec<usize> = rooms.iter().map(Vec::len).collect();
        sizes.sort();
        assert_eq!(sizes, [2, 2, 3]);
        let mut all: Vec<String> = rooms.concat();
        all.sort();
        assert_eq!(all, people);
    }

    #[test]
    fn who_may_go_where() {
        let strict = BreakoutOptions {
            allow_choose: false,
            allow_return: false,
            ..BreakoutOptions::default()
        };
        let free = BreakoutOptions {
            allow_choose: true,
            allow_return: true,
            ..BreakoutOptions::default()
        };
        let p = Role::Participant;
        // Into one's own room, always; another only when choosing is allowed.
        assert!(may_join(p, Some("a"), &strict, None, Some("a")).is_ok());
        assert!(may_join(p, Some("a"), &strict, None, Some("b")).is_err());
        assert!(may_join(p, Some("a"), &free, None, Some("b")).is_ok());
        assert!(may_join(p, None, &free, None, Some("b")).is_ok());
        // Back to the main room only when returning is allowed.
        assert!(may_join(p, Some("a"), &strict, Some("a"), None).is_err());
        assert!(may_join(p, Some("a"), &free, Some("a"), None).is_ok());
        // Staying is no move; the host visits anywhere.
        assert!(may_join(p, Some("a"), &strict, Some("a"), Some("a")).is_ok());
        assert!(may_join(Role::Host, None, &strict, Some("a"), Some("b")).is_ok());
        assert!(may_join(Role::Host, None, &strict, Some("a"), None).is_ok());
    }

    #[test]
    fn options_out_of_range_are_refused() {
        let mut options = BreakoutOptions {
            close_after_seconds: Some(0),
            ..BreakoutOptions::default()
        };
        assert!(check_options(&options).is_err());
        options.close_after_seconds = Some(600);
        assert!(check_options(&options).is_ok());
        options.countdown_seconds = LONGEST_COUNTDOWN + 1;
        assert!(check_options(&options).is_err());
    }
}
