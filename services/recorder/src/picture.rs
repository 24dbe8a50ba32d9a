//! Whose video the recording shows: the choice ([`choose`]) and the switch
//! from one participant's frames to another's, which can only happen at a
//! keyframe of the new one ([`VideoSwitch`]).

use std::time::{Duration, Instant};

use crate::frames::Vp8Frame;

/// How long to wait for a keyframe asked for before asking again (a PLI
/// or its answer may be lost).
pub const KEYFRAME_RETRY: Duration = Duration::from_secs(1);

/// The participant the speaker view shows, among those sending video: the
/// spotlighted participant, else the one sharing a screen, else the active
/// speaker, else whoever is shown now, else the first with video. Ids not
/// in `with_video` are passed over.
pub fn choose(
    spotlight: Option<&str>,
    screen_sharer: Option<&str>,
    active_speaker: Option<&str>,
    shown: Option<&str>,
    with_video: &[&str],
) -> Option<String> {
    [spotlight, screen_sharer, active_speaker, shown]
        .into_iter()
        .flatten()
        .find(|id| with_video.contains(id))
        .or_else(|| with_video.first().copied())
        .map(str::to_owned)
}

/// Switches the recorded video between participants at keyframes.
///
/// Frames of the participant shown are written. When another is wanted, the
/// caller asks them for a keyframe (the id [`VideoSwitch::set_wanted`] and
/// [`VideoSwitch::keyframe_overdue`] return); their first keyframe switches
/// the picture to them. Until then the shown participant's frames keep being
/// written, or, if they left, nothing is.
#[derive(Debug, Default)]
pub struct VideoSwitch {
    shown: Option<String>,
    wanted: Option<String>,
    asked_at: Option<Instant>,
}

impl VideoSwitch {
    /// A switch that shows no one yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The participant whose frames are written.
    pub fn shown(&self) -> Option<&str> {
        self.shown.as_deref()
    }

    /// The participant waited for, whose next keyframe switches to them.
    pub fn wanted(&self) -> Option<&str> {
        self.wanted.as_deref()
    }

    /// Sets who should be shown (usually [`choose`]'s answer). Returns the
    /// participant to ask for a keyframe now, when this starts a switch.
    /// Wanting the one shown (or no one) cancels a pending switch.
    pub fn set_wanted(&mut self, wanted: Option<&str>, now: Instant) -> Option<String> {
        if wanted.is_none() || wanted == self.shown() {
            self.wanted = None;
            self.asked_at = None;
            return None;
        }
        if wanted == self.wanted() {
            return None;
        }
        self.wanted = wanted.map(str::to_owned);
        self.asked_at = Some(now);
        self.wanted.clone()
    }

    /// A participant's video stopped (they left, or stopped their camera):
    /// if they were shown, nothing is written until the wanted participant's
    /// next keyframe.
    pub fn remove(&mut self, source: &str) {
        if self.shown() == Some(source) {
            self.shown = None;
        }
        if self.wanted() == Some(source) {
            self.wanted = None;
            self.asked_at = None;
        }
    }

    /// Offers one complete frame from `source`; true if it goes into the
    /// recording.
    pub fn offer(&mut self, source: &str, frame: &Vp8Frame) -> bool {
        if frame.keyframe && self.wanted() == Some(source) {
            self.shown = self.wanted.take();
            self.asked_at = None;
            return true;
        }
        self.shown() == Some(source)
    }

    /// The participant to ask again for a keyframe, when the last request
    /// is [`KEYFRAME_RETRY`] old and none came.
    pub fn keyframe_overdue(&mut self, now: Instant) -> Option<String> {
        let asked_at = self.asked_at?;
        if now.saturating_duration_since(asked_at) < KEYFRAME_RETRY {
            return None;
        }
        self.asked_at = Some(now);
        self.wanted.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn frame(keyframe: bool) -> Vp8Frame {
        Vp8Frame {
            data: Bytes::from_static(&[0]),
            keyframe,
            size: keyframe.then_some((320, 240)),
            rtp_timestamp: 0,
        }
    }

    #[test]
    fn the_choice_follows_the_priority_of_the_speaker_view() {
        let all = ["ann", "bob", "cid", "dan"];
        let pick = |s, sh, a, shown| choose(s, sh, a, shown, &all);
        assert_eq!(
            pick(Some("ann"), Some("bob"), Some("cid"), Some("dan")).as_deref(),
            Some("ann")
        );
        assert_eq!(
            pick(None, Some("bob"), Some("cid"), Some("dan")).as_deref(),
            Some("bob")
        );
        assert_eq!(
            pick(None, None, Some("cid"), Some("dan")).as_deref(),
            Some("cid")
        );
        assert_eq!(pick(None, None, None, Some("dan")).as_deref(), Some("dan"));
        assert_eq!(pick(None, None, None, None).as_deref(), Some("ann"));
    }

    #[test]
    fn participants_without_video_are_passed_over() {
        let with_video = ["dan"];
        assert_eq!(
            choose(Some("ann"), Some("bob"), Some("cid"), None, &with_video).as_deref(),
            Some("dan")
        );
        assert_eq!(
            choose(Some("ann"), None, Some("dan"), Some("eve"), &["eve", "dan"]).as_deref(),
            Some("dan")
        );
        assert_eq!(choose(Some("ann"), None, None, None, &[]), None);
    }

    #[test]
    fn the_picture_switches_only_at_a_keyframe_of_the_new_participant() {
        let now = Instant::now();
        let mut switch = VideoSwitch::new();
        assert_eq!(switch.set_wanted(Some("ann"), now).as_deref(), Some("ann"));
        assert!(
            !switch.offer("ann", &frame(false)),
            "no picture from an interframe"
        );
        assert!(switch.offer("ann", &frame(true)));
        assert_eq!(switch.shown(), Some("ann"));
        assert!(switch.offer("ann", &frame(false)));

        assert_eq!(switch.set_wanted(Some("bob"), now).as_deref(), Some("bob"));
        // Asked once: wanting bob again asks nothing more.
        assert_eq!(switch.set_wanted(Some("bob"), now), None);
        assert!(!switch.offer("bob", &frame(false)));
        assert!(
            switch.offer("ann", &frame(false)),
            "ann shown until bob's keyframe"
        );
        assert!(switch.offer("bob", &frame(true)));
        assert_eq!(switch.shown(), Some("bob"));
        assert_eq!(switch.wanted(), None);
        assert!(!switch.offer("ann", &frame(true)), "ann is no longer shown");
        assert!(switch.offer("bob", &frame(false)));
    }

    #[test]
    fn wanting_the_shown_participant_again_cancels_the_switch() {
        let now = Instant::now();
        let mut switch = VideoSwitch::new();
        switch.set_wanted(Some("ann"), now);
        switch.offer("ann", &frame(true));
        switch.set_wanted(Some("bob"), now);
        assert_eq!(switch.set_wanted(Some("ann"), now), None);
        assert!(!switch.offer("bob", &frame(true)));
        assert_eq!(switch.shown(), Some("ann"));
        assert_eq!(switch.keyframe_overdue(now + KEYFRAME_RETRY), None);
    }

    #[test]
    fn when_the_shown_participant_leaves_nothing_is_written_until_the_next_keyframe() {
        let now = Instant::now();
        let mut switch = VideoSwitch::new();
        switch.set_wanted(Some("ann"), now);
        switch.offer("ann", &frame(true));
        switch.remove("ann");
        assert_eq!(switch.shown(), None);
        assert!(!switch.offer("ann", &frame(false)));
        switch.set_wanted(Some("bob"), now);
        assert!(!switch.offer("bob", &frame(false)));
        assert!(switch.offer("bob", &frame(true)));
        assert_eq!(switch.shown(), Some("bob"));
    }

    #[test]
    fn a_keyframe_that_does_not_come_is_asked_for_again_each_second() {
        let start = Instant::now();
        let mut switch = VideoSwitch::new();
        switch.set_wanted(Some("ann"), start);
        assert_eq!(
            switch.keyframe_overdue(start + Duration::from_millis(900)),
            None
        );
        let later = start + KEYFRAME_RETRY;
        assert_eq!(switch.keyframe_overdue(later).as_deref(), Some("ann"));
        assert_eq!(
            switch.keyframe_overdue(later + Duration::from_millis(500)),
            None
        );
        assert_eq!(
            switch.keyframe_overdue(later + KEYFRAME_RETRY).as_deref(),
            Some("ann")
        );
        switch.offer("ann", &frame(true));
        assert_eq!(switch.keyframe_overdue(later + KEYFRAME_RETRY * 5), None);
    }
}
