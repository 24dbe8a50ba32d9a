//! News of joins, batched per tick of the room (issue 16: large meetings).
//!
//! Telling everyone of each newcomer at once costs a join one message per
//! member under the room's lock: a crowd of N arriving together makes
//! N²/2 messages, socket writes and client parses. Instead a join only
//! notes its newcomer ([`Pending::add`]); at the room's next tick
//! ([`TICK`] after the first newcomer noted) every member is told of all
//! newcomers since that it sees and that joined after it ([`frames`]): one
//! `participant_joined` for a single newcomer, `participants_joined` lists
//! (of at most [`FRAME_PARTICIPANTS`]) for several. Any other news sent to everyone
//! (an update, a departure, a role change) flushes the pending newcomers
//! first, so nothing said about a newcomer reaches a member before their
//! join does. Each newcomer's `joined` roster already names everyone who
//! joined before them, pending or not; [`with_roster`] puts it together
//! from each member's JSON, kept until their state changes, so a newcomer
//! costs the encoding of no one but themselves.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use yunhui_proto::signaling::{Participant, ServerMessage};

use super::webinar;

/// How long news of a join may wait for others to go with it.
pub(super) const TICK: Duration = Duration::from_millis(50);

/// The newcomers no member has been told of yet.
#[derive(Debug, Default)]
pub(super) struct Pending {
    /// Their participant ids, in joining order.
    ids: Vec<String>,
    /// A tick is set and will flush them.
    tick_set: bool,
}

impl Pending {
    /// Notes newcomer `id`: `true` when no tick is set yet and the caller
    /// must set one.
    pub fn add(&mut self, id: String) -> bool {
        self.ids.push(id);
        !std::mem::replace(&mut self.tick_set, true)
    }

    /// The newcomers to tell of now, in joining order; empty when none.
    pub fn take(&mut self) -> Vec<String> {
        std::mem::take(&mut self.ids)
    }

    /// The tick fired: the next newcomer sets a new one.
    pub fn ticked(&mut self) {
        self.tick_set = false;
    }
}

/// A member, as far as news of joins is concerned: when they joined (their
/// sequence number in the room) and who they are.
pub(super) struct Seat<'a> {
    pub seq: u64,
    pub info: &'a Participant,
}

/// At most this many newcomers go in one frame: a socket's write buffer
/// keeps the size of the largest frame it sent, so a crowd's news goes out
/// in frames of this size rather than in one frame naming everyone.
pub(super) const FRAME_PARTICIPANTS: usize = 100;

/// The frames each member must get about `newcomers` (in joining order):
/// those it sees ([`webinar::sees`]) that joined after it, itself excluded,
/// in frames of at most [`FRAME_PARTICIPANTS`]. Members with nothing to
/// hear of are left out. Each newcomer is encoded once, and members told of
/// the same newcomers share the encoded frames: in a meeting each member
/// hears of a run of the batch (those after it), cut into frames at fixed
/// places, so the whole batch makes few distinct frames.
pub(super) fn frames<'a>(
    newcomers: &[Seat<'_>],
    members: impl Iterator<Item = Seat<'a>>,
) -> Vec<(&'a str, Arc<str>)> {
    if newcomers.is_empty() {
        return Vec::new();
    }
    let encoded: Vec<String> = newcomers
        .iter()
        .map(|n| serde_json::to_string(n.info).unwrap_or_default())
        .collect();
    let mut runs: HashMap<(usize, usize), Arc<str>> = HashMap::new();
    let mut lists: HashMap<Vec<usize>, Arc<str>> = HashMap::new();
    let mut out = Vec::new();
    for member in members {
        let told: Vec<usize> = newcomers
            .iter()
            .enumerate()
            .filter(|(_, n)| {
                n.seq > member.seq
                    && n.info.id != member.info.id
                    && webinar::sees(member.info, n.info)
            })
            .map(|(i, _)| i)
            .collect();
        let (Some(&first), Some(&last)) = (told.first(), told.last()) else {
            continue;
        };
        let id = member.info.id.as_str();
        if last - first + 1 == told.len() {
            // A run: cut at multiples of FRAME_PARTICIPANTS, shared.
            let mut start = first;
            while start <= last {
                let end = ((start / FRAME_PARTICIPANTS + 1) * FRAME_PARTICIPANTS).min(last + 1);
                let text = runs
                    .entry((start, end))
                    .or_insert_with(|| frame(encoded[start..end].iter().map(String::as_str)));
                out.push((id, text.clone()));
                start = end;
            }
        } else {
            for chunk in told.chunks(FRAME_PARTICIPANTS) {
                let text = lists
                    .entry(chunk.to_vec())
                    .or_insert_with(|| frame(chunk.iter().map(|&i| encoded[i].as_str())));
                out.push((id, text.clone()));
            }
        }
    }
    out
}

/// `joined`, given with no participants, in JSON with `roster` (each
/// participant already in JSON) as its participants: a newcomer's roster is
/// put together from encodings kept, not encoded anew for every newcomer.
pub(super) fn with_roster(joined: &ServerMessage, roster: &[Arc<str>]) -> Option<Arc<str>> {
    const EMPTY: &str = r#""participants":[]"#;
    let text = serde_json::to_string(joined).ok()?;
    // The key, not text inside a string: quotes there are escaped.
    let at = text.find(EMPTY)? + EMPTY.len() - 1;
    let mut out =
        String::with_capacity(text.len() + roster.iter().map(|p| p.len() + 1).sum::<usize>());
    out.push_str(&text[..at]);
    for (i, p) in roster.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(p);
    }
    out.push_str(&text[at..]);
    Some(out.into())
}

/// `participant_joined` for one encoded participant, `participants_joined`
/// for several.
fn frame<'a>(participants: impl ExactSizeIterator<Item = &'a str>) -> Arc<str> {
    let mut text = String::new();
    if participants.len() == 1 {
        text.push_str(r#"{"type":"participant_joined","participant":"#);
        participants.for_each(|p| text.push_str(p));
        text.push('}');
    } else {
        text.push_str(r#"{"type":"participants_joined","participants":["#);
        for (i, p) in participants.enumerate() {
            if i > 0 {
                text.push(',');
            }
            text.push_str(p);
        }
        text.push_str("]}");
    }
    text.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use yunhui_proto::signaling::Role;

    fn person(id: &str, role: Role) -> Participant {
        Participant {
            id: id.into(),
            display_name: format!("Name \"{id}\""),
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

    /// `people` seated in that order (the first joined first).
    fn seats(people: &[Participant]) -> impl Iterator<Item = Seat<'_>> + Clone {
        people.iter().enumerate().map(|(i, info)| Seat {
            seq: i as u64,
            info,
        })
    }

    fn told(frames: &[(&str, Arc<str>)], who: &str) -> Option<ServerMessage> {
        frames
            .iter()
            .find(|(id, _)| *id == who)
            .map(|(_, text)| serde_json::from_str(text).expect("a server message"))
    }

    #[test]
    fn everyone_hears_of_those_who_joined_after_them_in_one_frame() {
        let people = [
            person("a", Role::Host),
            person("b", Role::Participant),
            person("c", Role::Participant),
            person("d", Role::Participant),
        ];
        // a was there; b, c and d arrived since the last tick.
        let newcomers: Vec<Seat> = seats(&people).skip(1).collect();
        let frames = frames(&newcomers, seats(&people));
        assert_eq!(
            told(&frames, "a"),
            Some(ServerMessage::ParticipantsJoined {
                participants: people[1..].to_vec()
            })
        );
        assert_eq!(
            told(&frames, "b"),
            Some(ServerMessage::ParticipantsJoined {
                participants: people[2..].to_vec()
            }),
            "b's joined named a; it hears of the two after it"
        );
        assert_eq!(
            told(&frames, "c"),
            Some(ServerMessage::ParticipantJoined {
                participant: people[3].clone()
            }),
            "one newcomer: the single message"
        );
        assert_eq!(told(&frames, "d"), None, "the last one's roster was whole");
    }

    #[test]
    fn a_crowd_goes_out_in_frames_of_bounded_size() {
        let people: Vec<Participant> = (0..250)
            .map(|i| person(&format!("p{i}"), Role::Participant))
            .collect();
        // p0 was there; the other 249 arrived in one tick.
        let newcomers: Vec<Seat> = seats(&people).skip(1).collect();
        let frames = frames(&newcomers, seats(&people));
        let heard = |who: &str| -> Vec<String> {
            frames
                .iter()
                .filter(|(id, _)| *id == who)
                .flat_map(|(_, text)| match serde_json::from_str(text).unwrap() {
                    ServerMessage::ParticipantsJoined { participants } => {
                        assert!(participants.len() <= FRAME_PARTICIPANTS);
                        participants
                    }
                    ServerMessage::ParticipantJoined { participant } => vec![participant],
                    other => panic!("{other:?}"),
                })
                .map(|p| p.id)
                .collect()
        };
        for i in [0, 1, 57, 99, 100, 101, 248, 249] {
            let expected: Vec<String> = (i + 1..250).map(|j| format!("p{j}")).collect();
            assert_eq!(heard(&format!("p{i}")), expected, "p{i}");
        }
        // Everyone after the first cut shares the full frames.
        let distinct: std::collections::HashSet<&str> =
            frames.iter().map(|(_, text)| text.as_ref()).collect();
        assert!(distinct.len() < 260, "{} distinct frames", distinct.len());
    }

    #[test]
    fn a_webinar_attendee_hears_of_no_other_attendee() {
        let people = [
            person("host", Role::Host),
            person("x", Role::Attendee),
            person("y", Role::Attendee),
        ];
        let newcomers: Vec<Seat> = seats(&people).skip(1).collect();
        let frames = frames(&newcomers, seats(&people));
        assert_eq!(frames.len(), 1, "{frames:?}");
        assert_eq!(
            told(&frames, "host"),
            Some(ServerMessage::ParticipantsJoined {
                participants: people[1..].to_vec()
            })
        );
    }

    #[test]
    fn a_roster_goes_into_joined_as_encoded() {
        let people = [person("a", Role::Host), person("b", Role::Participant)];
        let roster: Vec<Arc<str>> = people
            .iter()
            .map(|p| serde_json::to_string(p).unwrap().into())
            .collect();
        for topic in [
            "Weekly",
            r#"x","participants":[]"#,
            r#"x\","participants":[]"#,
        ] {
            let joined = |participants: Vec<Participant>| ServerMessage::Joined {
                participant_id: "b".into(),
                meeting_id: "m".into(),
                meeting_number: "123".into(),
                topic: topic.into(),
                participants,
                ice_servers: Vec::new(),
            };
            let text = with_roster(&joined(Vec::new()), &roster).unwrap();
            assert_eq!(
                serde_json::from_str::<ServerMessage>(&text).unwrap(),
                joined(people.to_vec()),
                "{text}"
            );
        }
    }

    #[test]
    fn one_tick_per_batch() {
        let mut pending = Pending::default();
        assert!(pending.add("a".into()), "the first newcomer sets the tick");
        assert!(!pending.add("b".into()));
        assert_eq!(pending.take(), ["a", "b"]);
        // Flushed early (other news went out): the tick still set serves.
        assert!(!pending.add("c".into()));
        pending.ticked();
        assert_eq!(pending.take(), ["c"]);
        assert!(pending.add("d".into()));
    }
}
