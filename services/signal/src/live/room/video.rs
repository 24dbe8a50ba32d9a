//! Who watches whose video (F-CTL-8). Each member's video subscriptions are
//! kept so that every publisher can be told the most anyone watching wants of
//! it (`publish_quality`): a browser then stops encoding and uploading the
//! simulcast layers nobody watches, or all of them when nobody watches.

use std::collections::HashMap;

use yunhui_proto::signaling::VideoQuality;

/// What one member asked to watch.
#[derive(Debug, Clone)]
pub(super) struct VideoWish {
    /// The quality of everyone not listed.
    pub default: VideoQuality,
    /// Per publisher.
    pub participants: HashMap<String, VideoQuality>,
}

/// The wishes of a room's members and what each publisher was last told.
#[derive(Debug, Default)]
pub(super) struct VideoWishes {
    wishes: HashMap<String, VideoWish>,
    told: HashMap<String, VideoQuality>,
}

const QUALITIES: [VideoQuality; 4] = [
    VideoQuality::Off,
    VideoQuality::Low,
    VideoQuality::Medium,
    VideoQuality::High,
];

fn rank(quality: VideoQuality) -> usize {
    QUALITIES.iter().position(|q| *q == quality).unwrap_or(3)
}

impl VideoWishes {
    /// What `subscriber` last asked to watch.
    pub fn get(&self, subscriber: &str) -> Option<&VideoWish> {
        self.wishes.get(subscriber)
    }

    /// Replaces what `subscriber` watches.
    pub fn set(&mut self, subscriber: &str, wish: VideoWish) {
        self.wishes.insert(subscriber.to_owned(), wish);
    }

    /// Forgets a member who left.
    pub fn forget(&mut self, member: &str) {
        self.wishes.remove(member);
        self.told.remove(member);
    }

    /// The publishers among `members` whose most-wanted quality differs from
    /// what they were last told (`high` until told otherwise), with the new
    /// quality; records it as told. A member who never sent subscriptions
    /// watches everyone at `high`. A subscriber's default counts for every
    /// publisher, even one it lists lower: the result may ask for more than
    /// is watched, never for less.
    pub fn changes<'a>(
        &mut self,
        members: impl Iterator<Item = &'a String> + Clone,
    ) -> Vec<(String, VideoQuality)> {
        let silent = members
            .clone()
            .filter(|m| !self.wishes.contains_key(*m))
            .count();
        let mut defaults = [0usize; 4];
        let mut listed: HashMap<&str, VideoQuality> = HashMap::new();
        for (subscriber, wish) in &self.wishes {
            defaults[rank(wish.default)] += 1;
            for (publisher, quality) in &wish.participants {
                if publisher != subscriber {
                    let best = listed.entry(publisher).or_insert(VideoQuality::Off);
                    if rank(*quality) > rank(*best) {
                        *best = *quality;
                    }
                }
            }
        }
        let mut changed = Vec::new();
        for member in members {
            let own = self.wishes.get(member);
            let others_silent = silent - usize::from(own.is_none());
            let wanted = if others_silent > 0 {
                VideoQuality::High
            } else {
                let mut counts = defaults;
                if let Some(own) = own {
                    counts[rank(own.default)] -= 1;
                }
                let by_default = (0..4)
                    .rev()
                    .find(|r| counts[*r] > 0)
                    .map_or(VideoQuality::Off, |r| QUALITIES[r]);
                let by_name = listed
                    .get(member.as_str())
                    .copied()
                    .unwrap_or(VideoQuality::Off);
                if rank(by_name) > rank(by_default) {
                    by_name
                } else {
                    by_default
                }
            };
            let told = self.told.get(member).copied().unwrap_or(VideoQuality::High);
            if wanted != told {
                self.told.insert(member.clone(), wanted);
                changed.push((member.clone(), wanted));
            }
        }
        changed.sort_by(|a, b| a.0.cmp(&b.0));
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use VideoQuality::{High, Low, Medium, Off};

    fn wish(default: VideoQuality, listed: &[(&str, VideoQuality)]) -> VideoWish {
        VideoWish {
            default,
            participants: listed.iter().map(|(p, q)| ((*p).to_owned(), *q)).collect(),
        }
    }

    fn ids(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn publishers_learn_the_most_anyone_watching_wants() {
        let members = ids(&["a", "b", "c"]);
        let mut wishes = VideoWishes::default();
        assert_eq!(
            wishes.changes(members.iter()),
            vec![],
            "nobody has chosen: everyone at high"
        );
        wishes.set("a", wish(Off, &[("b", Low), ("c", High)]));
        assert_eq!(
            wishes.changes(members.iter()),
            vec![],
            "b and c have not chosen: they watch everyone at high"
        );
        wishes.set("b", wish(Off, &[("a", Medium), ("c", Low)]));
        wishes.set("c", wish(Off, &[("a", Low)]));
        assert_eq!(
            wishes.changes(members.iter()),
            vec![("a".into(), Medium), ("b".into(), Low)],
            "c stays high: a watches it at high"
        );
        assert_eq!(wishes.changes(members.iter()), vec![], "told once");
        // Nobody watches b any more.
        wishes.set("a", wish(Off, &[("c", High)]));
        assert_eq!(wishes.changes(members.iter()), vec![("b".into(), Off)]);
        // A newcomer who has not chosen watches everyone.
        let members = ids(&["a", "b", "c", "d"]);
        assert_eq!(
            wishes.changes(members.iter()),
            vec![("a".into(), High), ("b".into(), High), ("d".into(), Off)],
            "nobody has asked for the newcomer yet"
        );
        wishes.forget("d");
        let members = ids(&["a", "b", "c"]);
        assert_eq!(
            wishes.changes(members.iter()),
            vec![("a".into(), Medium), ("b".into(), Off)]
        );
    }

    #[test]
    fn a_default_counts_for_everyone_but_oneself() {
        let members = ids(&["a", "b"]);
        let mut wishes = VideoWishes::default();
        wishes.set("a", wish(High, &[]));
        wishes.set("b", wish(Off, &[("b", High)]));
        assert_eq!(
            wishes.changes(members.iter()),
            vec![("a".into(), Off)],
            "b watches nobody (its own entry does not count); a's default is for b"
        );
    }
}
