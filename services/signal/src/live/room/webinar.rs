//! Webinars (the manual's 5.3, F-WEBINAR-1): roles, who sees whom, whose
//! media flows, and the Q&A.
//!
//! A meeting scheduled with the `webinar` option has a host, panelists and
//! attendees. Everyone but the host joins as an attendee; the host makes
//! panelists (and attendees again). The rights, as the manual's table gives
//! them:
//!
//! | right | host | panelist | attendee |
//! |---|---|---|---|
//! | manage the meeting (host commands) | yes | | |
//! | speak (audio, video) | yes | yes | audio, once the host allows them to talk |
//! | Q&A: ask | yes | yes | yes |
//! | Q&A: answer, dismiss | yes | yes | |
//! | chat | yes | yes | yes (to everyone, or to someone on the panel) |
//! | share the screen | yes | yes | |
//! | raise a hand | yes | yes | yes |
//!
//! An attendee sees the panel and attendees allowed to talk, never the
//! other attendees: their joins, changes and departures go to the panel
//! only, so an attendee's join costs signal one message per panel member
//! rather than one per participant. What an attendee may send is enforced
//! where the media is: a publish offer is refused unless they may talk; the
//! SFU forwards their audio only while they may talk, and their video never.
//!
//! The pure rules are [`entry_role`], [`sees`], [`forwards`],
//! [`may_switch_on`] and [`may_publish`]; the changes are the host commands
//! [`allow_talk`] and [`set_role`] (with [`role_changed`]) and the Q&A
//! ([`Questions`], [`Rooms::ask`], [`Rooms::answer_question`],
//! [`Rooms::dismiss_question`]).

use std::sync::Arc;

use yunhui_proto::api::MeetingOptions;
use yunhui_proto::limits::{
    ANSWERS_PER_QUESTION, OPEN_QUESTIONS_PER_ASKER, QUESTION_CHARS, QUESTIONS,
};
use yunhui_proto::media::MediaKind;
use yunhui_proto::signaling::{Answer, Participant, Question, Role, ServerMessage};

use super::{Effects, Outbound, Room, RoomState, Rooms, now_ms, send_to, tell_change};
use crate::error::{Error, Result};

/// The role someone joining takes: the meeting's host account is host;
/// everyone else is an attendee of a webinar (but a device or phone the
/// meeting `called`, which the host called in to speak: a panelist) or a
/// participant of a meeting.
pub fn entry_role(options: &MeetingOptions, is_host: bool, called: bool) -> Role {
    if is_host {
        Role::Host
    } else if !options.webinar {
        Role::Participant
    } else if called {
        Role::Panelist
    } else {
        Role::Attendee
    }
}

/// Whether `viewer` sees `subject` in their participant list (and hears of
/// their changes): everyone sees the panel, themselves and attendees
/// allowed to talk; only the panel sees the other attendees.
pub fn sees(viewer: &Participant, subject: &Participant) -> bool {
    viewer.id == subject.id
        || viewer.role.on_panel()
        || subject.role.on_panel()
        || subject.talk_allowed
}

/// Whether the SFU forwards `participant`'s media of `kind`: what they
/// switched on, and for an attendee only audio, only while allowed to talk.
pub fn forwards(participant: &Participant, kind: MediaKind) -> bool {
    match kind {
        MediaKind::Audio => {
            !participant.audio_muted && (participant.role.on_panel() || participant.talk_allowed)
        }
        MediaKind::Video => participant.video_enabled && participant.role.on_panel(),
    }
}

/// Whether `participant` may switch their own `kind` on.
pub fn may_switch_on(participant: &Participant, kind: MediaKind) -> Result<()> {
    if participant.role.on_panel() {
        return Ok(());
    }
    match kind {
        MediaKind::Audio if participant.talk_allowed => Ok(()),
        MediaKind::Audio => Err(Error::NotAllowed(
            "talk in this webinar yet (raise a hand to ask)",
        )),
        MediaKind::Video => Err(Error::NotAllowed(
            "start their video as webinar attendees (the host may make them panelists)",
        )),
    }
}

/// Whether `participant` may publish: the panel always, an attendee once
/// allowed to talk. An attendee's video is never forwarded (see
/// [`forwards`]): the forwarding is set before anyone is offered the track.
pub fn may_publish(participant: &Participant) -> Result<()> {
    if participant.role.on_panel() || participant.talk_allowed {
        return Ok(());
    }
    Err(Error::NotAllowed(
        "send media in this webinar yet (the host may allow them to talk)",
    ))
}

/// Refuses what only a webinar has, in a meeting that is not one.
fn webinar_only(state: &RoomState, what: &str) -> Result<()> {
    if state.options.webinar {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "{what} is for webinars; this meeting is not one"
        )))
    }
}

/// A webinar's questions, oldest first.
#[derive(Default)]
pub struct Questions {
    asked: Vec<Asked>,
}

struct Asked {
    id: String,
    asker: String,
    asker_name: String,
    text: String,
    answers: Vec<Answer>,
    dismissed: bool,
    asked_at_ms: i64,
}

impl Asked {
    /// The question as `viewer` may see it: the panel and the asker see it
    /// whole; everyone else once it has a public answer, with the public
    /// answers only.
    fn seen_by(&self, viewer: &Participant) -> Option<Question> {
        let public = self.answers.iter().any(|a| !a.private);
        let whole = viewer.role.on_panel() || viewer.id == self.asker;
        if !whole && !public {
            return None;
        }
        Some(Question {
            id: self.id.clone(),
            asker: self.asker.clone(),
            asker_name: self.asker_name.clone(),
            text: self.text.clone(),
            answers: self
                .answers
                .iter()
                .filter(|a| whole || !a.private)
                .cloned()
                .collect(),
            public,
            dismissed: self.dismissed,
            asked_at_ms: self.asked_at_ms,
        })
    }
}

impl Questions {
    /// Every question `viewer` may see, oldest first (for a newcomer).
    pub fn seen_by(&self, viewer: &Participant) -> Vec<Question> {
        self.asked
            .iter()
            .filter_map(|q| q.seen_by(viewer))
            .collect()
    }
}

/// A question's text, trimmed and checked.
fn question_text(text: &str, what: &str) -> Result<String> {
    let text = text.trim().to_string();
    let chars = text.chars().count();
    if chars == 0 || chars > QUESTION_CHARS {
        return Err(Error::InvalidInput(format!(
            "{what} has 1 to {QUESTION_CHARS} characters; this one has {chars}"
        )));
    }
    Ok(text)
}

/// Sends question `index` to every member who may see it.
fn tell_question(state: &RoomState, index: usize) {
    let asked = &state.questions.asked[index];
    for member in state.members.values() {
        if let Some(question) = asked.seen_by(&member.info) {
            let _ = member
                .outbox
                .send(Outbound::Message(ServerMessage::Question { question }));
        }
    }
}

/// The panel member `participant_id`, to answer or dismiss a question.
fn panel_member<'a>(
    state: &'a RoomState,
    participant_id: &str,
    action: &'static str,
) -> Result<&'a Participant> {
    let member = state
        .members
        .get(participant_id)
        .ok_or(Error::NotAdmitted)?;
    if !member.info.role.on_panel() {
        return Err(Error::NotAllowed(action));
    }
    Ok(&member.info)
}

fn question_index(state: &RoomState, question_id: &str) -> Result<usize> {
    state
        .questions
        .asked
        .iter()
        .position(|q| q.id == question_id)
        .ok_or_else(|| Error::InvalidInput(format!("no question {question_id} in this webinar")))
}

impl Rooms {
    /// Webinar Q&A: `participant_id` asks the panel a question.
    pub async fn ask(&self, room: &Arc<Room>, participant_id: &str, text: String) -> Result<()> {
        let text = question_text(&text, "a question")?;
        let mut state = room.state.lock().await;
        let asker = state
            .members
            .get(participant_id)
            .ok_or(Error::NotAdmitted)?
            .info
            .clone();
        webinar_only(&state, "Q&A")?;
        if state.questions.asked.len() >= QUESTIONS {
            return Err(Error::InvalidInput(format!(
                "this webinar has {QUESTIONS} questions, the most it keeps; use the chat"
            )));
        }
        let open = state
            .questions
            .asked
            .iter()
            .filter(|q| q.asker == participant_id && q.answers.is_empty() && !q.dismissed)
            .count();
        if open >= OPEN_QUESTIONS_PER_ASKER {
            return Err(Error::InvalidInput(format!(
                "{open} of your questions wait for an answer; ask again once one is answered"
            )));
        }
        state.questions.asked.push(Asked {
            id: uuid::Uuid::new_v4().to_string(),
            asker: participant_id.to_string(),
            asker_name: asker.display_name,
            text,
            answers: Vec::new(),
            dismissed: false,
            asked_at_ms: now_ms(),
        });
        tell_question(&state, state.questions.asked.len() - 1);
        Ok(())
    }

    /// Webinar Q&A, the panel: answers a question, publicly or to its asker.
    pub async fn answer_question(
        &self,
        room: &Arc<Room>,
        participant_id: &str,
        question_id: &str,
        text: String,
        private: bool,
    ) -> Result<()> {
        let text = question_text(&text, "an answer")?;
        let mut state = room.state.lock().await;
        webinar_only(&state, "Q&A")?;
        let by_name = panel_member(
            &state,
            participant_id,
            "answer questions (the host and panelists do)",
        )?
        .display_name
        .clone();
        let index = question_index(&state, question_id)?;
        let asked = &mut state.questions.asked[index];
        if asked.answers.len() >= ANSWERS_PER_QUESTION {
            return Err(Error::InvalidInput(format!(
                "this question has {} answers, the most it takes",
                asked.answers.len()
            )));
        }
        asked.dismissed = false;
        asked.answers.push(Answer {
            by_name,
            text,
            private,
        });
        tell_question(&state, index);
        Ok(())
    }

    /// Webinar Q&A, the panel: closes a question without answering it.
    pub async fn dismiss_question(
        &self,
        room: &Arc<Room>,
        participant_id: &str,
        question_id: &str,
    ) -> Result<()> {
        let mut state = room.state.lock().await;
        webinar_only(&state, "Q&A")?;
        panel_member(
            &state,
            participant_id,
            "dismiss questions (the host and panelists do)",
        )?;
        let index = question_index(&state, question_id)?;
        state.questions.asked[index].dismissed = true;
        tell_question(&state, index);
        Ok(())
    }
}

/// Host command: lets attendee `who` talk, or stops it. Allowing asks them
/// to unmute (they decide); revoking mutes them, and the returned effects
/// stop their audio at the SFU.
pub(super) fn allow_talk(state: &mut RoomState, who: &str, allowed: bool) -> Result<Effects> {
    webinar_only(state, "allowing an attendee to talk")?;
    let member = state.member_mut(who)?;
    if member.info.role != Role::Attendee {
        return Err(Error::InvalidInput(format!(
            "{} is on the panel and may talk already",
            member.info.display_name
        )));
    }
    if member.info.talk_allowed == allowed {
        return Ok(Effects::default());
    }
    let before = member.info.clone();
    member.info.talk_allowed = allowed;
    if !allowed {
        member.info.audio_muted = true;
    } else {
        member.info.hand_raised = false;
    }
    tell_change(state, &before, who);
    if allowed {
        send_to(state, who, ServerMessage::UnmuteRequested);
    }
    Ok(Effects {
        forwarding: vec![(who.to_string(), MediaKind::Audio)],
        ..Effects::default()
    })
}

/// Host command: makes `who` a panelist or an attendee (see [`role_changed`]).
pub(super) fn set_role(state: &mut RoomState, who: &str, role: Role) -> Result<Effects> {
    webinar_only(state, "a panelist")?;
    if !matches!(role, Role::Panelist | Role::Attendee) {
        return Err(Error::InvalidInput(
            "a webinar's host makes panelists and attendees; hand over the host role with make_host"
                .into(),
        ));
    }
    let member = state.member_mut(who)?;
    if member.hidden {
        return Err(Error::ParticipantNotFound(who.to_string()));
    }
    if member.info.role == Role::Host {
        return Err(Error::InvalidInput(
            "the host stays host; hand the role over with make_host first".into(),
        ));
    }
    if member.info.role == role {
        return Ok(Effects::default());
    }
    let before = member.info.clone();
    member.info.role = role;
    member.info.talk_allowed = false;
    if role == Role::Attendee {
        // Back in the audience: nothing of theirs reaches anyone.
        member.info.audio_muted = true;
        member.info.video_enabled = false;
        member.info.sharing_screen = false;
    }
    Ok(role_changed(state, who, &before))
}

/// After member `who`'s role changed from `before`'s: everyone who now
/// sees them or no longer does hears of it as a join or a departure; they
/// themselves learn of everyone they now see or no longer see (and,
/// joining the panel, of every question); the returned effects bring the
/// SFU's forwarding of their media in line.
pub(super) fn role_changed(state: &RoomState, who: &str, before: &Participant) -> Effects {
    let Some(member) = state.members.get(who) else {
        return Effects::default();
    };
    let after = &member.info;
    tell_change(state, before, who);
    for other in state.members.values() {
        if other.info.id == who || other.hidden {
            continue;
        }
        let news = match (sees(before, &other.info), sees(after, &other.info)) {
            (false, true) => ServerMessage::ParticipantJoined {
                participant: other.info.clone(),
            },
            (true, false) => ServerMessage::ParticipantLeft {
                participant_id: other.info.id.clone(),
            },
            _ => continue,
        };
        let _ = member.outbox.send(Outbound::Message(news));
    }
    if after.role.on_panel() && !before.role.on_panel() {
        for question in state.questions.seen_by(after) {
            let _ = member
                .outbox
                .send(Outbound::Message(ServerMessage::Question { question }));
        }
    }
    Effects {
        forwarding: vec![
            (who.to_string(), MediaKind::Audio),
            (who.to_string(), MediaKind::Video),
        ],
        ..Effects::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn participant(id: &str, role: Role) -> Participant {
        Participant {
            id: id.into(),
            display_name: id.into(),
            role,
            audio_muted: false,
            video_enabled: true,
            audio_locked: false,
            hand_raised: false,
            sharing_screen: false,
            signed_in: false,
            talk_allowed: false,
            breakout: None,
            interpreter: None,
        }
    }

    #[test]
    fn everyone_but_the_host_joins_a_webinar_as_an_attendee() {
        let webinar = MeetingOptions {
            webinar: true,
            ..MeetingOptions::default()
        };
        assert_eq!(entry_role(&webinar, true, false), Role::Host);
        assert_eq!(entry_role(&webinar, false, false), Role::Attendee);
        assert_eq!(entry_role(&webinar, false, true), Role::Panelist);
        assert_eq!(
            entry_role(&MeetingOptions::default(), false, true),
            Role::Participant
        );
    }

    #[test]
    fn attendees_see_the_panel_and_those_allowed_to_talk_only() {
        let host = participant("h", Role::Host);
        let panelist = participant("p", Role::Panelist);
        let a = participant("a", Role::Attendee);
        let mut b = participant("b", Role::Attendee);
        assert!(sees(&a, &host) && sees(&a, &panelist) && sees(&a, &a));
        assert!(!sees(&a, &b));
        assert!(sees(&host, &b) && sees(&panelist, &b));
        b.talk_allowed = true;
        assert!(sees(&a, &b));
        // An ordinary meeting: everyone sees everyone.
        let x = participant("x", Role::Participant);
        let y = participant("y", Role::Participant);
        assert!(sees(&x, &y));
    }

    #[test]
    fn an_attendee_s_media_flows_only_as_audio_while_allowed_to_talk() {
        let mut a = participant("a", Role::Attendee);
        assert!(!forwards(&a, MediaKind::Audio) && !forwards(&a, MediaKind::Video));
        assert!(may_switch_on(&a, MediaKind::Audio).is_err());
        assert!(may_publish(&a).is_err());
        a.talk_allowed = true;
        assert!(forwards(&a, MediaKind::Audio) && !forwards(&a, MediaKind::Video));
        assert!(may_switch_on(&a, MediaKind::Audio).is_ok());
        assert!(may_switch_on(&a, MediaKind::Video).is_err());
        assert!(may_publish(&a).is_ok());
        a.audio_muted = true;
        assert!(!forwards(&a, MediaKind::Audio));
        let p = participant("p", Role::Panelist);
        assert!(forwards(&p, MediaKind::Audio) && forwards(&p, MediaKind::Video));
        assert!(may_publish(&p).is_ok());
    }

    #[test]
    fn a_question_is_seen_whole_by_the_panel_and_its_asker_and_by_all_once_answered_publicly() {
        let mut asked = Asked {
            id: "q".into(),
            asker: "a".into(),
            asker_name: "A".into(),
            text: "why?".into(),
            answers: Vec::new(),
            dismissed: false,
            asked_at_ms: 0,
        };
        let asker = participant("a", Role::Attendee);
        let other = participant("b", Role::Attendee);
        let panelist = participant("p", Role::Panelist);
        assert!(asked.seen_by(&asker).is_some());
        assert!(asked.seen_by(&panelist).is_some());
        assert!(asked.seen_by(&other).is_none());
        asked.answers.push(Answer {
            by_name: "P".into(),
            text: "just to you".into(),
            private: true,
        });
        assert!(asked.seen_by(&other).is_none());
        assert_eq!(asked.seen_by(&asker).unwrap().answers.len(), 1);
        asked.answers.push(Answer {
            by_name: "P".into(),
            text: "to everyone".into(),
            private: false,
        });
        let seen = asked.seen_by(&other).unwrap();
        assert!(seen.public);
        assert_eq!(seen.answers.len(), 1, "the private answer stays private");
        assert_eq!(seen.answers[0].text, "to everyone");
        assert_eq!(asked.seen_by(&panelist).unwrap().answers.len(), 2);
    }
}
