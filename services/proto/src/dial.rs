//! The internal interface between signal and the SIP gateway: signal asks
//! for a call out of a meeting ([`CallControl::dial`]), the gateway reports
//! how it goes ([`CallEvent`]) and, once answered, joins the meeting with the
//! request's one-time ticket through the ordinary signaling protocol.

use serde::{Deserialize, Serialize};

use crate::limits::DIAL_TARGET_CHARS;
use crate::signaling::DialTarget;

/// A call to place and the meeting it joins once answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialRequest {
    /// Signal's id of the call.
    pub call_id: String,
    /// The meeting the answered call joins.
    pub meeting_number: String,
    /// One-time ticket for [`crate::signaling::ClientMessage::Join`]'s `dial_ticket`.
    pub ticket: String,
    /// Whom to call, already checked with [`DialTarget::normalised`].
    pub target: DialTarget,
    /// The name the device gets in the meeting.
    pub display_name: String,
}

/// How a call goes, as the gateway reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CallEvent {
    /// The far end rings.
    Ringing,
    /// Answered and in the meeting as `participant_id`.
    Answered {
        /// The device's participant id.
        participant_id: String,
    },
    /// Never answered (or could not join the meeting), and why.
    Failed {
        /// Why, in words.
        reason: String,
    },
    /// An answered call is over, and why.
    Ended {
        /// Why, in words.
        reason: String,
    },
}

/// Where [`CallControl::dial`] reports a call's events, in order.
pub type CallEvents = Box<dyn Fn(CallEvent) + Send + Sync>;

/// Places calls out of meetings: the SIP gateway, in process or remote.
pub trait CallControl: Send + Sync {
    /// Starts placing `request`'s call and returns at once; `events` hears
    /// how it goes. An error means no call was placed (e.g. a phone number
    /// without a SIP trunk).
    fn dial(&self, request: DialRequest, events: CallEvents) -> Result<(), String>;
}

impl DialTarget {
    /// The target in the form calls use (`sip:` added, spaces and dashes
    /// dropped from numbers), or why it is not acceptable.
    pub fn normalised(&self) -> Result<DialTarget, String> {
        match self {
            DialTarget::Sip { uri } => {
                let uri = uri.trim();
                if uri.chars().count() > DIAL_TARGET_CHARS {
                    return Err(format!(
                        "a SIP address has at most {DIAL_TARGET_CHARS} characters"
                    ));
                }
                let rest = uri
                    .strip_prefix("sip:")
                    .or_else(|| uri.strip_prefix("SIP:"))
                    .unwrap_or(uri);
                let Some((user, host)) = rest.split_once('@') else {
                    return Err(format!(
                        "{uri:?} is not a SIP address: write it as sip:room@host or room@host"
                    ));
                };
                // One parameter is taken: the transport, UDP (the default) or TCP.
                let (host, tcp) = match host.split_once(';') {
                    None => (host, false),
                    Some((host, param)) => match param.to_ascii_lowercase().as_str() {
                        "transport=udp" => (host, false),
                        "transport=tcp" => (host, true),
                        _ => {
                            return Err(format!(
                                "{uri:?} is not a SIP address the gateway calls: the only \
                                 parameter it takes is ;transport=tcp (or udp)"
                            ));
                        }
                    },
                };
                let user_ok = !user.is_empty()
                    && user
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.!~*'()&=+$,;?/%".contains(c));
                let host_ok = !host.is_empty()
                    && host
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
                    && !host.starts_with(['.', '-', ':']);
                if !user_ok || !host_ok {
                    return Err(format!(
                        "{uri:?} is not a SIP address: write it as sip:room@host or room@host"
                    ));
                }
                let transport = if tcp { ";transport=tcp" } else { "" };
                Ok(DialTarget::Sip {
                    uri: format!("sip:{user}@{host}{transport}"),
                })
            }
            DialTarget::Phone { number } => {
                let cleaned: String = number.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
                let digits = cleaned.strip_prefix('+').unwrap_or(&cleaned);
                if !(3..=20).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit())
                {
                    return Err(format!(
                        "{number:?} is not a telephone number: 3 to 20 digits, optionally after +"
                    ));
                }
                Ok(DialTarget::Phone { number: cleaned })
            }
        }
    }

    /// The target as people read it: the SIP address or the number.
    pub fn shown(&self) -> &str {
        match self {
            DialTarget::Sip { uri } => uri,
            DialTarget::Phone { number } => number,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sip(uri: &str) -> Result<DialTarget, String> {
        DialTarget::Sip { uri: uri.into() }.normalised()
    }

    fn phone(number: &str) -> Result<DialTarget, String> {
        DialTarget::Phone {
            number: number.into(),
        }
        .normalised()
    }

    #[test]
    fn sip_addresses_gain_their_scheme_and_bad_ones_are_refused() {
        assert_eq!(
            sip("room1@10.0.0.5:5060").unwrap().shown(),
            "sip:room1@10.0.0.5:5060"
        );
        assert_eq!(
            sip(" sip:boardroom@pbx.example.com ").unwrap().shown(),
            "sip:boardroom@pbx.example.com"
        );
        for bad in [
            "",
            "room",
            "@host",
            "room@",
            "sip:a b@host",
            "room@ho st",
            "room@-host",
            "room@host\r\nVia: x",
        ] {
            let e = sip(bad).unwrap_err();
            assert!(e.contains("SIP address"), "{bad:?}: {e}");
        }
        assert_eq!(
            sip("room1@10.0.0.5:5060;Transport=TCP").unwrap().shown(),
            "sip:room1@10.0.0.5:5060;transport=tcp"
        );
        assert_eq!(
            sip("room1@10.0.0.5;transport=udp").unwrap().shown(),
            "sip:room1@10.0.0.5"
        );
        for other in [
            "room@host;transport=tls",
            "room@host;maddr=10.0.0.1",
            "room@host;",
        ] {
            let e = sip(other).unwrap_err();
            assert!(e.contains(";transport=tcp"), "{other:?}: {e}");
        }
        assert!(
            sip(&format!("a@{}", "h".repeat(300)))
                .unwrap_err()
                .contains("256")
        );
    }

    #[test]
    fn phone_numbers_keep_digits_and_plus_only() {
        assert_eq!(
            phone("+86 138-0013-8000").unwrap().shown(),
            "+8613800138000"
        );
        assert_eq!(phone("110").unwrap().shown(), "110");
        for bad in ["", "12", "1234567890123456789012", "12a45", "++123", "+"] {
            assert!(
                phone(bad).unwrap_err().contains("telephone number"),
                "{bad:?}"
            );
        }
    }
}
