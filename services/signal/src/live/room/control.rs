//! The host's controls (F-CTL-2, F-CTL-3, F-CTL-4).
//!
//! Every [`HostCommand`] is host-only, and [`Rooms::host`] is the one place
//! that checks it: the table [`describe`] names each command for the refusal
//! a non-host gets, and nothing below the check looks at roles again.
//! Mute and stop-video act at the SFU, so the media really stops.

use std::sync::Arc;

use yunhui_proto::api::MeetingOptions;
use yunhui_proto::media::MediaKind;
use yunhui_proto::signaling::{HostCommand, Role, ServerMessage};

use super::recording::Change;
use super::streaming;
use super::{
    Effects, Outbound, Room, RoomState, Rooms, breakout, broadcast, forward, interpretation,
    rename, send_to, tell_update, webinar,
};
use crate::accounts::check_display_name;
use crate::error::{Error, Result};
use crate::meetings;

/// What a command does, in the words of the refusal "only the host can …".
pub fn describe(command: &HostCommand) -> &'static str {
    match command {
        HostCommand::Mute { .. } => "mute a participant",
        HostCommand::Unmute { .. } => "unmute a participant",
        HostCommand::StopVideo { .. } => "stop a participant's video",
        HostCommand::AskToStartVideo { .. } => "ask a participant to start their video",
        HostCommand::Spotlight { .. } => "spotlight a participant",
        HostCommand::MakeHost { .. } => "hand over the host role",
        HostCommand::Rename { .. } => "rename a participant",
        HostCommand::Remove { .. } => "remove a participant",
        HostCommand::LowerHand { .. } => "lower a participant's hand",
        HostCommand::LowerAllHands => "lower every hand",
        HostCommand::AllowTalk { .. } => "allow an attendee to talk",
        HostCommand::SetRole { .. } => "make panelists and attendees",
        HostCommand::MuteAll { .. } => "mute everyone",
        HostCommand::UnmuteAll => "unmute everyone",
        HostCommand::SetLocked { .. } => "lock or unlock the meeting",
        HostCommand::SetOptions { .. } => "change the meeting's settings",
        HostCommand::Admit { .. } => "admit someone from the waiting room",
        HostCommand::AdmitAll => "admit everyone from the waiting room",
        HostCommand::Deny { .. } => "turn someone away from the waiting room",
        HostCommand::StartRecording => "start recording",
        HostCommand::PauseRecording => "pause the recording",
        HostCommand::ResumeRecording => "resume the recording",
        HostCommand::StopRecording => "stop the recording",
        HostCommand::StartStreaming { .. } => "stream the meeting live",
        HostCommand::StopStreaming => "stop the live stream",
        HostCommand::SetInterpreter { .. } => "assign interpreters",
        HostCommand::CreateBreakouts { .. } => "create breakout rooms",
        HostCommand::SetBreakoutOptions { .. } => "change the breakout options",
        HostCommand::AddBreakout { .. } => "add a breakout room",
        HostCommand::RenameBreakout { .. } => "rename a breakout room",
        HostCommand::DeleteBreakout { .. } => "delete a breakout room",
        HostCommand::AssignBreakout { .. } => "assign breakout rooms",
        HostCommand::OpenBreakouts => "open the breakout rooms",
        HostCommand::CloseBreakouts => "close the breakout rooms",
        HostCommand::BroadcastToBreakouts { .. } => "broadcast to the breakout rooms",
    }
}

impl Rooms {
    /// Carries out a host command sent by `participant_id`: settings it
    /// changes are saved first, then the room changes under its lock and
    /// everyone is told, then the SFU follows with the room unlocked.
    pub async fn host(
        &self,
        room: &Arc<Room>,
        participant_id: &str,
        command: HostCommand,
    ) -> Result<()> {
        if let Some(change) = Change::of(&command) {
            check_host(&*room.state.lock().await, participant_id, &command)?;
            return self.change_recording(room, change).await;
        }
        if let Some(change) = streaming::Change::of(&command) {
            check_host(&*room.state.lock().await, participant_id, &command)?;
            return self.change_streaming(room, change).await;
        }
        let options = {
            let state = room.state.lock().await;
            check_host(&state, participant_id, &command)?;
            if let HostCommand::SetOptions { options } = &command {
                if options.webinar != state.options.webinar {
                    return Err(Error::InvalidInput(
                        "a meeting is made a webinar when it is scheduled, not during it".into(),
                    ));
                }
                if options.interpretation != state.options.interpretation {
                    return Err(Error::InvalidInput(
                        "interpretation is chosen when the meeting is created, not during it"
                            .into(),
                    ));
                }
            }
            options_to_save(&state, &command)
        };
        if let Some(options) = &options {
            meetings::set_options(&self.store, &room.meeting.id, options).await?;
        }
        let effects = {
            let mut state = room.state.lock().await;
            // Still the host, now that the settings are saved.
            check_host(&state, participant_id, &command)?;
            self.command(room, &mut state, participant_id, command)?
        };
        self.apply(room, effects).await
    }

    /// The room's part of a host command.
    fn command(
        &self,
        room: &Arc<Room>,
        state: &mut RoomState,
        participant_id: &str,
        command: HostCommand,
    ) -> Result<Effects> {
        let mut effects = Effects::default();
        match command {
            HostCommand::Mute {
                participant_id: who,
            } => {
                effects = host_mute(state, &who)?;
            }
            HostCommand::Unmute {
                participant_id: who,
            } => {
                let member = state.member_mut(&who)?;
                if !member.info.audio_muted {
                    // Already unmuted: nothing to lift or ask.
                    return Ok(effects);
                }
                if member.info.audio_locked {
                    member.info.audio_locked = false;
                    tell_update(state, &who);
                }
                send_to(state, &who, ServerMessage::UnmuteRequested);
            }
            HostCommand::StopVideo {
                participant_id: who,
            } => {
                effects = forward(state, &who, MediaKind::Video, false)?;
            }
            HostCommand::AskToStartVideo {
                participant_id: who,
            } => {
                state.member_mut(&who)?;
                send_to(state, &who, ServerMessage::StartVideoRequested);
            }
            HostCommand::Spotlight {
                participant_id: who,
            } => {
                if let Some(who) = &who {
                    state.member_mut(who)?;
                }
                state.spotlight = who;
                broadcast(state, &state.meeting_state());
            }
            HostCommand::MakeHost {
                participant_id: who,
            } => {
                if who != participant_id {
                    // A webinar's new host comes from the panel, or from the
                    // audience straight onto it; the old one stays on it.
                    let next = state.member_mut(&who)?;
                    let before = next.info.clone();
                    next.info.role = Role::Host;
                    next.info.talk_allowed = false;
                    let stays = if state.options.webinar {
                        Role::Panelist
                    } else {
                        Role::Participant
                    };
                    state.member_mut(participant_id)?.info.role = stays;
                    effects = webinar::role_changed(state, &who, &before);
                    tell_update(state, participant_id);
                    send_to(state, &who, state.waiting_room());
                }
            }
            HostCommand::Rename {
                participant_id: who,
                display_name,
            } => {
                let name = check_display_name(&display_name)?;
                rename(state, &who, name)?;
            }
            HostCommand::Remove {
                participant_id: who,
            } => {
                if who == participant_id {
                    return Err(Error::InvalidInput(
                        "a host cannot remove themselves; leave the meeting instead".into(),
                    ));
                }
                let member = state
                    .members
                    .remove(&who)
                    .ok_or_else(|| Error::ParticipantNotFound(who.clone()))?;
                if let Some(account) = &member.account_id {
                    state.removed_accounts.insert(account.clone());
                }
                if let Some(device) = &member.device_id {
                    state.removed_devices.insert(device.clone());
                }
                let _ = member
                    .outbox
                    .send(Outbound::Message(ServerMessage::Removed));
                let _ = member
                    .outbox
                    .send(Outbound::Close("removed by the host".into()));
                effects = self.depart(room, state, member);
            }
            HostCommand::LowerHand {
                participant_id: who,
            } => {
                let member = state.member_mut(&who)?;
                member.info.hand_raised = false;
                tell_update(state, &who);
            }
            HostCommand::LowerAllHands => {
                let raised: Vec<String> = state
                    .members
                    .values()
                    .filter(|m| m.info.hand_raised)
                    .map(|m| m.info.id.clone())
                    .collect();
                for who in raised {
                    state.member_mut(&who)?.info.hand_raised = false;
                    tell_update(state, &who);
                }
            }
            HostCommand::AllowTalk {
                participant_id: who,
                allowed,
            } => {
                effects = webinar::allow_talk(state, &who, allowed)?;
            }
            HostCommand::SetRole {
                participant_id: who,
                role,
            } => {
                effects = webinar::set_role(state, &who, role)?;
            }
            HostCommand::MuteAll { allow_self_unmute } => {
                if state.options.allow_self_unmute != allow_self_unmute {
                    state.options.allow_self_unmute = allow_self_unmute;
                    broadcast(state, &state.meeting_state());
                }
                let others: Vec<String> = state
                    .members
                    .values()
                    .filter(|m| m.info.role != Role::Host)
                    .map(|m| m.info.id.clone())
                    .collect();
                for who in others {
                    effects = effects.and(host_mute(state, &who)?);
                }
            }
            HostCommand::UnmuteAll => {
                let muted: Vec<String> = state
                    .members
                    .values()
                    // A webinar's attendees who may not talk are not asked.
                    .filter(|m| {
                        m.info.role != Role::Host
                            && m.info.audio_muted
                            && (m.info.role.on_panel() || m.info.talk_allowed)
                    })
                    .map(|m| m.info.id.clone())
                    .collect();
                for who in muted {
                    let member = state.member_mut(&who)?;
                    member.info.audio_locked = false;
                    tell_update(state, &who);
                    send_to(state, &who, ServerMessage::UnmuteRequested);
                }
            }
            HostCommand::SetLocked { locked } => {
                state.locked = locked;
                broadcast(state, &state.meeting_state());
            }
            HostCommand::SetOptions { options } => {
                let waiting_room_off = state.options.waiting_room && !options.waiting_room;
                let unmute_allowed = options.allow_self_unmute;
                state.options = options;
                if unmute_allowed {
                    // Host mutes no longer bind: everyone may unmute themselves.
                    let locked: Vec<String> = state
                        .members
                        .values()
                        .filter(|m| m.info.audio_locked)
                        .map(|m| m.info.id.clone())
                        .collect();
                    for who in locked {
                        let member = state.member_mut(&who)?;
                        member.info.audio_locked = false;
                        tell_update(state, &who);
                    }
                }
                broadcast(state, &state.meeting_state());
                if waiting_room_off {
                    // No waiting room any more: everyone waiting comes in.
                    effects.admit = state.waiting.iter().map(|w| w.id.clone()).collect();
                    if effects.admit.is_empty() {
                        self.tell_hosts(state, state.waiting_room());
                    }
                }
            }
            HostCommand::Admit {
                participant_id: who,
            } => {
                if !state.waiting.iter().any(|w| w.id == who) {
                    return Err(Error::ParticipantNotFound(who));
                }
                effects.admit = vec![who];
            }
            HostCommand::AdmitAll => {
                effects.admit = state.waiting.iter().map(|w| w.id.clone()).collect();
                if effects.admit.is_empty() {
                    self.tell_hosts(state, state.waiting_room());
                }
            }
            HostCommand::Deny {
                participant_id: who,
            } => {
                let index = state
                    .waiting
                    .iter()
                    .position(|w| w.id == who)
                    .ok_or_else(|| Error::ParticipantNotFound(who.clone()))?;
                let waiter = state.waiting.remove(index);
                let denied = Error::EntryDenied(room.meeting.number.clone());
                let _ = waiter.outbox.send(Outbound::Message(ServerMessage::Error {
                    code: denied.code(),
                    message: denied.public_message(),
                }));
                let _ = waiter
                    .outbox
                    .send(Outbound::Close("turned away by the host".into()));
                self.tell_hosts(state, state.waiting_room());
            }
            HostCommand::SetInterpreter {
                participant_id: who,
                languages,
            } => {
                effects = interpretation::set_interpreter(state, &who, languages)?;
            }
            HostCommand::CreateBreakouts {
                count,
                assignment,
                options,
            } => breakout::create(state, count, assignment, options)?,
            HostCommand::SetBreakoutOptions { options } => {
                effects = breakout::set_options(state, options)?;
            }
            HostCommand::AddBreakout { name } => breakout::add(state, &name)?,
            HostCommand::RenameBreakout { room_id, name } => {
                breakout::rename(state, &room_id, &name)?;
            }
            HostCommand::DeleteBreakout { room_id } => {
                effects = breakout::delete(state, &room_id)?;
            }
            HostCommand::AssignBreakout {
                participant_id: who,
                room_id,
            } => {
                effects = breakout::assign(state, &who, room_id.as_deref())?;
            }
            HostCommand::OpenBreakouts => effects = breakout::open(state)?,
            HostCommand::CloseBreakouts => effects = breakout::close(state)?,
            HostCommand::BroadcastToBreakouts { text } => {
                breakout::broadcast_message(state, participant_id, &text)?;
            }
            HostCommand::StartRecording
            | HostCommand::PauseRecording
            | HostCommand::ResumeRecording
            | HostCommand::StopRecording
            | HostCommand::StartStreaming { .. }
            | HostCommand::StopStreaming => {
                return Err(Error::Internal(
                    "recording and streaming commands go to Rooms::change_recording and Rooms::change_streaming".into(),
                ));
            }
        }
        Ok(effects)
    }
}

/// Refuses a command from anyone but a host of the room.
fn check_host(state: &RoomState, participant_id: &str, command: &HostCommand) -> Result<()> {
    if !state.members.contains_key(participant_id) {
        return Err(Error::NotAdmitted);
    }
    if !state.is_host(participant_id) {
        return Err(Error::NotHost(describe(command)));
    }
    Ok(())
}

/// The meeting's settings as `command` leaves them, when it changes them.
fn options_to_save(state: &RoomState, command: &HostCommand) -> Option<MeetingOptions> {
    match command {
        HostCommand::MuteAll { allow_self_unmute }
            if state.options.allow_self_unmute != *allow_self_unmute =>
        {
            let mut options = state.options.clone();
            options.allow_self_unmute = *allow_self_unmute;
            Some(options)
        }
        HostCommand::SetOptions { options } => Some(options.clone()),
        _ => None,
    }
}

/// Mutes one member; they may unmute themselves only if the meeting allows it.
fn host_mute(state: &mut RoomState, who: &str) -> Result<Effects> {
    let lock = !state.options.allow_self_unmute;
    state.member_mut(who)?.info.audio_locked = lock;
    forward(state, who, MediaKind::Audio, false)
}
