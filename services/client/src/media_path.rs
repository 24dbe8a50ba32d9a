//! Whether a session's media still gets through, and when to ask signal to
//! connect it anew ([`ClientMessage::RestartMedia`]): the signaling socket
//! may live on while the media path dies (a firewall starts dropping UDP, a
//! NAT forgets the mapping, the route changes). A connection that failed,
//! or stayed disconnected longer than a short blip, is replaced by fresh
//! ones, which gather candidates again and may find another way (ICE-TCP,
//! TURN). While the path stays down the request is repeated, further and
//! further apart. The web client follows the same policy
//! (`services/web/src/media_path.ts`).
//!
//! [`decide`] is the policy, a pure function of what was observed;
//! [`PathWatch`] keeps what it needs between looks.
//!
//! [`ClientMessage::RestartMedia`]: yunhui_proto::signaling::ClientMessage::RestartMedia

use std::time::{Duration, Instant};

/// How long a connection may stay disconnected before media is restarted:
/// a few seconds without answers are reported as disconnected and recover
/// on their own when the blip ends.
pub const DISCONNECTED_GRACE: Duration = Duration::from_secs(4);

/// How long after a restart was asked for, while the connections are still
/// not up, it is asked for again: the n-th repeat waits the n-th entry (the
/// last one from then on). Longer than signal's shortest interval between
/// two restarts ([`MEDIA_RESTART_INTERVAL_MS`](yunhui_proto::limits::MEDIA_RESTART_INTERVAL_MS)).
pub const RETRY_AFTER: [Duration; 3] = [
    Duration::from_secs(10),
    Duration::from_secs(20),
    Duration::from_secs(30),
];

/// A peer connection's state, as far as the path is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathState {
    /// Not negotiated yet, or closed: says nothing about the path.
    Unused,
    /// Checking candidates, or setting up DTLS.
    Connecting,
    /// Up.
    Connected,
    /// No answers for a few seconds; may recover on its own.
    Disconnected,
    /// Gave up.
    Failed,
}

/// What to do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Every connection in use is up.
    Up,
    /// Nothing to do now.
    Wait,
    /// Ask signal to restart the media.
    Restart,
}

/// What was observed since the path was last up.
#[derive(Debug, Clone, Copy, Default)]
pub struct Since {
    /// Since when a connection has been disconnected.
    pub disconnected: Option<Instant>,
    /// When a restart was last asked for.
    pub last_request: Option<Instant>,
    /// Restarts asked for.
    pub attempts: u32,
}

/// The policy: `states` are the connections' states now.
pub fn decide(now: Instant, states: &[PathState], since: &Since) -> Decision {
    let used: Vec<PathState> = (states.iter().copied())
        .filter(|s| *s != PathState::Unused)
        .collect();
    if !used.is_empty() && used.iter().all(|s| *s == PathState::Connected) {
        return Decision::Up;
    }
    if let Some(asked) = since.last_request {
        let repeat = usize::try_from(since.attempts.saturating_sub(1)).unwrap_or(usize::MAX);
        let delay = RETRY_AFTER[repeat.min(RETRY_AFTER.len() - 1)];
        return if now.duration_since(asked) >= delay {
            Decision::Restart
        } else {
            Decision::Wait
        };
    }
    if used.contains(&PathState::Failed) {
        return Decision::Restart;
    }
    match since.disconnected {
        Some(at) if now.duration_since(at) >= DISCONNECTED_GRACE => Decision::Restart,
        // Disconnected for a moment, not negotiated yet, or connecting for
        // the first time (the stack fails a connection that cannot connect).
        _ => Decision::Wait,
    }
}

/// What [`decide`] needs between looks at the connections.
#[derive(Debug, Default)]
pub struct PathWatch {
    since: Since,
    /// Restarts asked for so far.
    pub requested: u32,
}

impl PathWatch {
    /// Looks at the connections' `states` at `now`; `true` when a restart
    /// is to be asked for (it is then counted as asked).
    pub fn look(&mut self, now: Instant, states: &[PathState]) -> bool {
        if states.contains(&PathState::Disconnected) {
            self.since.disconnected.get_or_insert(now);
        } else {
            self.since.disconnected = None;
        }
        match decide(now, states, &self.since) {
            Decision::Up => {
                self.since = Since::default();
                false
            }
            Decision::Wait => false,
            Decision::Restart => {
                self.since.last_request = Some(now);
                self.since.attempts += 1;
                self.since.disconnected = None;
                self.requested += 1;
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PathState::*;

    #[test]
    fn connections_that_are_up_need_nothing_and_unused_ones_are_not_up() {
        let now = Instant::now();
        let calm = Since::default();
        assert_eq!(decide(now, &[Connected, Connected], &calm), Decision::Up);
        assert_eq!(decide(now, &[Connected, Unused], &calm), Decision::Up);
        assert_eq!(decide(now, &[Unused, Unused], &calm), Decision::Wait);
        assert_eq!(decide(now, &[Connecting, Connected], &calm), Decision::Wait);
    }

    #[test]
    fn a_failed_connection_is_restarted_at_once_a_disconnected_one_after_a_grace() {
        let now = Instant::now();
        assert_eq!(
            decide(now, &[Connected, Failed], &Since::default()),
            Decision::Restart
        );
        let blip = Since {
            disconnected: Some(now - Duration::from_secs(1)),
            ..Since::default()
        };
        assert_eq!(decide(now, &[Disconnected], &blip), Decision::Wait);
        let long = Since {
            disconnected: Some(now - DISCONNECTED_GRACE),
            ..Since::default()
        };
        assert_eq!(decide(now, &[Disconnected], &long), Decision::Restart);
    }

    #[test]
    fn while_the_path_stays_down_restarts_are_asked_for_further_apart_and_never_too_soon() {
        let interval =
            Duration::from_millis(yunhui_proto::limits::MEDIA_RESTART_INTERVAL_MS as u64);
        let start = Instant::now();
        let mut watch = PathWatch::default();
        let mut asked_at = Vec::new();
        let mut now = start;
        // Down for two minutes, looked at every 100 ms.
        while now < start + Duration::from_secs(120) {
            if watch.look(now, &[Disconnected, Failed]) {
                asked_at.push(now);
            }
            now += Duration::from_millis(100);
        }
        assert_eq!(asked_at[0], start, "failed: asked at once");
        let gaps: Vec<Duration> = asked_at.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(&gaps[..3], &RETRY_AFTER, "{gaps:?}");
        assert!(gaps.iter().all(|gap| *gap > interval), "{gaps:?}");
        assert!(
            gaps[3..].iter().all(|gap| *gap == RETRY_AFTER[2]),
            "{gaps:?}"
        );
        assert_eq!(watch.requested as usize, asked_at.len());
        // Up again: the next outage starts over, with the grace.
        assert!(!watch.look(now, &[Connected, Connected]));
        assert!(!watch.look(now, &[Disconnected, Connected]));
        assert!(!watch.look(now + Duration::from_secs(3), &[Disconnected, Connected]));
        assert!(watch.look(now + DISCONNECTED_GRACE, &[Disconnected, Connected]));
    }
}
