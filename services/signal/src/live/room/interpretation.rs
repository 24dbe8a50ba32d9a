//! Simultaneous interpretation (F-INT-1, the manual's 5.1): in a meeting
//! created with the `interpretation` option, the host makes participants
//! interpreters with a language pair (and changes or replaces them), and
//! everyone chooses a language channel.
//!
//! An interpreter hears the original and speaks into the channel of their
//! pair's `to` language. Routing is the SFU's ([`Routing::receives`]): an
//! interpreter's audio goes only to those who chose their channel, and
//! everyone receives the original, so a listener of a channel gets that
//! channel's interpreter and the original (which the client plays
//! quieter), and nobody receives the audio of channels they did not choose.
//!
//! The pure rules are [`check_language`] and [`languages`]; the changes are
//! [`set_interpreter`] (host) and [`choose_language`] (anyone).

use std::collections::BTreeSet;

use yunhui_proto::limits::{INTERPRETERS, LANGUAGE_CHARS};
use yunhui_proto::signaling::LanguagePair;

use super::{Effects, RoomState, broadcast, subscribers, tell_update};
use crate::error::{Error, Result};

/// A language code as given, trimmed and lower-cased: 2 to
/// [`LANGUAGE_CHARS`] ASCII letters, digits or `-`, starting with a letter
/// (`en`, `zh`, `zh-hans`).
pub fn check_language(code: &str) -> Result<String> {
    let code = code.trim().to_ascii_lowercase();
    let valid = (2..=LANGUAGE_CHARS).contains(&code.len())
        && code.starts_with(|c: char| c.is_ascii_alphabetic())
        && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !valid {
        return Err(Error::InvalidInput(format!(
            "{code:?} is not a language code: 2 to {LANGUAGE_CHARS} letters, digits or '-', like en or zh-hans"
        )));
    }
    Ok(code)
}

/// The channels interpreters speak into now, sorted.
pub fn languages(state: &RoomState) -> Vec<String> {
    state
        .members
        .values()
        .filter_map(|m| m.info.interpreter.as_ref().map(|pair| pair.to.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn interpretation_on(state: &RoomState, action: &'static str) -> Result<()> {
    if state.options.interpretation {
        Ok(())
    } else {
        Err(Error::NotAllowed(action))
    }
}

/// Makes `who` an interpreter of `languages`, changes their pair, or
/// (`None`) makes them a listener again. Everyone's subscriber connection
/// is offered anew: the interpreter's audio leaves the original for a
/// channel, or comes back to it.
pub(super) fn set_interpreter(
    state: &mut RoomState,
    who: &str,
    languages: Option<LanguagePair>,
) -> Result<Effects> {
    interpretation_on(
        state,
        "assign interpreters: the meeting was not created with interpretation",
    )?;
    let languages = match languages {
        Some(pair) => {
            let pair = LanguagePair {
                from: check_language(&pair.from)?,
                to: check_language(&pair.to)?,
            };
            if pair.from == pair.to {
                return Err(Error::InvalidInput(format!(
                    "an interpreter interprets between two languages, not from {} into {}",
                    pair.from, pair.to
                )));
            }
            Some(pair)
        }
        None => None,
    };
    let interpreters = state
        .members
        .values()
        .filter(|m| m.info.interpreter.is_some() && m.info.id != who)
        .count();
    if languages.is_some() && interpreters >= INTERPRETERS {
        return Err(Error::InvalidInput(format!(
            "the meeting has {INTERPRETERS} interpreters, the most it may"
        )));
    }
    let member = state.member_mut(who)?;
    if member.hidden {
        return Err(Error::ParticipantNotFound(who.to_string()));
    }
    if member.info.interpreter == languages {
        return Ok(Effects::default());
    }
    let channels_before = self::languages(state);
    state.member_mut(who)?.info.interpreter = languages;
    tell_update(state, who);
    if self::languages(state) != channels_before {
        broadcast(state, &state.meeting_state());
    }
    Ok(Effects {
        routing: vec![who.to_string()],
        renegotiate: subscribers(state),
        ..Effects::default()
    })
}

/// `who` hears the channel of `language` besides the original, or
/// (`None`) the original only.
pub(super) fn choose_language(
    state: &mut RoomState,
    who: &str,
    language: Option<String>,
) -> Result<Effects> {
    interpretation_on(
        state,
        "choose a language channel: the meeting has no interpretation",
    )?;
    let language = language.as_deref().map(check_language).transpose()?;
    if let Some(language) = &language
        && !languages(state).contains(language)
    {
        return Err(Error::InvalidInput(format!(
            "no interpreter speaks into {language} now; the channels are {:?}",
            languages(state)
        )));
    }
    let member = state.members.get_mut(who).ok_or(Error::NotAdmitted)?;
    if member.listening == language {
        return Ok(Effects::default());
    }
    member.listening = language;
    Ok(Effects {
        routing: vec![who.to_string()],
        renegotiate: vec![(who.to_string(), member.outbox.clone())],
        ..Effects::default()
    })
}

impl super::Rooms {
    /// A participant chooses the language channel they hear.
    pub async fn choose_language(
        &self,
        room: &std::sync::Arc<super::Room>,
        participant_id: &str,
        language: Option<String>,
    ) -> Result<()> {
        let effects = choose_language(&mut *room.state.lock().await, participant_id, language)?;
        self.apply(room, effects).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_codes_are_checked_and_lower_cased() {
        assert_eq!(check_language(" EN ").unwrap(), "en");
        assert_eq!(check_language("zh-Hans").unwrap(), "zh-hans");
        for bad in ["", "e", "1en", "en_US", "a-very-long-language-code", "中文"] {
            assert!(check_language(bad).is_err(), "{bad:?} was taken");
        }
    }
}
