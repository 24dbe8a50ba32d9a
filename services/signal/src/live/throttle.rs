//! Rate limiting of meeting-password attempts (F-MTG-7).
//!
//! Failures are counted per meeting and source address, and per meeting
//! across all sources, in a sliding window:
//! - a source's first few failures cost nothing; after that every attempt
//!   from it waits longer (doubling up to a cap) before it is checked, and
//!   past the limit the source is refused until its block expires — even
//!   with the right password;
//! - a meeting under attack from many sources admits only a few password
//!   attempts per minute in all, so a botnet gains nothing by spreading out.
//!
//! A success clears the source's failures. Link keys and the host's own
//! account bypass the password and are never throttled, so the rightful
//! users always have a way in.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Limits of [`PasswordThrottle`].
#[derive(Debug, Clone)]
pub struct ThrottleConfig {
    /// Failures are forgotten after this long.
    pub window: Duration,
    /// Failures from one source that cost nothing.
    pub free_failures: u32,
    /// Delay of the first slowed attempt; doubles with each further failure.
    pub base_delay: Duration,
    /// Longest delay.
    pub max_delay: Duration,
    /// Failures from one source after which it is refused.
    pub source_limit: u32,
    /// How long a refused source stays refused.
    pub block: Duration,
    /// Failures of one meeting (all sources) after which its password
    /// attempts are rationed to `attack_rate_per_minute`.
    pub meeting_limit: u32,
    /// Password attempts per minute a meeting under attack accepts.
    pub attack_rate_per_minute: u32,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            window: Duration::from_secs(15 * 60),
            free_failures: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            source_limit: 10,
            block: Duration::from_secs(15 * 60),
            meeting_limit: 100,
            attack_rate_per_minute: 20,
        }
    }
}

/// What to do with a password attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Check the password after waiting this long.
    Check(Duration),
    /// Refuse without checking; attempts are accepted again after this long.
    Refuse(Duration),
}

#[derive(Debug, Default)]
struct Failures {
    times: Vec<Instant>,
    blocked_until: Option<Instant>,
}

impl Failures {
    fn prune(&mut self, now: Instant, window: Duration) {
        self.times.retain(|t| now.duration_since(*t) < window);
    }
}

#[derive(Debug, Default)]
struct MeetingAttempts {
    failures: Vec<Instant>,
    /// Password attempts accepted in the current minute while under attack.
    rationed: Vec<Instant>,
}

/// Counts password failures; shared by every signaling socket.
#[derive(Debug, Default)]
pub struct PasswordThrottle {
    config: ThrottleConfig,
    sources: Mutex<HashMap<(String, IpAddr), Failures>>,
    meetings: Mutex<HashMap<String, MeetingAttempts>>,
}

impl PasswordThrottle {
    /// A throttle with `config`.
    pub fn new(config: ThrottleConfig) -> Self {
        PasswordThrottle {
            config,
            ..Default::default()
        }
    }

    /// Decides on a password attempt for `meeting` from `source`.
    pub fn admit(&self, meeting: &str, source: IpAddr) -> Verdict {
        self.admit_at(meeting, source, Instant::now())
    }

    fn admit_at(&self, meeting: &str, source: IpAddr, now: Instant) -> Verdict {
        let c = &self.config;
        if let Some(m) = self.meetings.lock().get_mut(meeting) {
            m.failures.retain(|t| now.duration_since(*t) < c.window);
            if m.failures.len() as u32 >= c.meeting_limit {
                let minute = Duration::from_secs(60);
                m.rationed.retain(|t| now.duration_since(*t) < minute);
                if m.rationed.len() as u32 >= c.attack_rate_per_minute {
                    let wait = m
                        .rationed
                        .first()
                        .map(|t| minute.saturating_sub(now.duration_since(*t)))
                        .unwrap_or(minute);
                    return Verdict::Refuse(wait.max(Duration::from_secs(1)));
                }
                m.rationed.push(now);
            }
        }
        let mut sources = self.sources.lock();
        let Some(f) = sources.get_mut(&(meeting.to_string(), source)) else {
            return Verdict::Check(Duration::ZERO);
        };
        if let Some(until) = f.blocked_until {
            if until > now {
                return Verdict::Refuse(until - now);
            }
            f.blocked_until = None;
            f.times.clear();
        }
        f.prune(now, c.window);
        let n = f.times.len() as u32;
        if n < c.free_failures {
            return Verdict::Check(Duration::ZERO);
        }
        let doublings = (n - c.free_failures).min(16);
        let delay = c.base_delay.saturating_mul(1 << doublings).min(c.max_delay);
        Verdict::Check(delay)
    }

    /// Records a wrong or missing password.
    pub fn failed(&self, meeting: &str, source: IpAddr) {
        self.failed_at(meeting, source, Instant::now());
    }

    fn failed_at(&self, meeting: &str, source: IpAddr, now: Instant) {
        let c = &self.config;
        {
            let mut sources = self.sources.lock();
            // Forget sources that have gone quiet, so the map stays small.
            if sources.len() > 10_000 {
                sources.retain(|_, f| {
                    f.blocked_until.is_some_and(|u| u > now)
                        || f.times
                            .last()
                            .is_some_and(|t| now.duration_since(*t) < c.window)
                });
            }
            let f = sources.entry((meeting.to_string(), source)).or_default();
            f.prune(now, c.window);
            f.times.push(now);
            if f.times.len() as u32 >= c.source_limit {
                f.blocked_until = Some(now + c.block);
            }
        }
        {
            let mut meetings = self.meetings.lock();
            if meetings.len() > 10_000 {
                meetings.retain(|_, m| {
                    m.failures
                        .last()
                        .is_some_and(|t| now.duration_since(*t) < c.window)
                });
            }
            meetings
                .entry(meeting.to_string())
                .or_default()
                .failures
                .push(now);
        }
    }

    /// Records a right password: the source starts afresh.
    pub fn succeeded(&self, meeting: &str, source: IpAddr) {
        self.sources.lock().remove(&(meeting.to_string(), source));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ThrottleConfig {
        ThrottleConfig {
            window: Duration::from_secs(600),
            free_failures: 2,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(400),
            source_limit: 6,
            block: Duration::from_secs(300),
            meeting_limit: 10,
            attack_rate_per_minute: 3,
        }
    }

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 2));

    #[test]
    fn a_source_is_slowed_then_refused_while_others_are_not() {
        let t = PasswordThrottle::new(config());
        let now = Instant::now();
        let mut delays = Vec::new();
        for i in 0..6 {
            match t.admit_at("m", A, now) {
                Verdict::Check(d) => delays.push(d),
                Verdict::Refuse(_) => panic!("refused after {i} failures"),
            }
            t.failed_at("m", A, now);
        }
        let ms: Vec<u128> = delays.iter().map(|d| d.as_millis()).collect();
        assert_eq!(ms, [0, 0, 100, 200, 400, 400]);
        assert_eq!(
            t.admit_at("m", A, now),
            Verdict::Refuse(Duration::from_secs(300))
        );
        // Another source and another meeting are untouched.
        assert_eq!(t.admit_at("m", B, now), Verdict::Check(Duration::ZERO));
        assert_eq!(t.admit_at("n", A, now), Verdict::Check(Duration::ZERO));
        // The block expires.
        let later = now + Duration::from_secs(301);
        assert_eq!(t.admit_at("m", A, later), Verdict::Check(Duration::ZERO));
    }

    #[test]
    fn success_and_time_clear_failures() {
        let t = PasswordThrottle::new(config());
        let now = Instant::now();
        for _ in 0..4 {
            t.failed_at("m", A, now);
        }
        assert!(matches!(t.admit_at("m", A, now), Verdict::Check(d) if d > Duration::ZERO));
        let later = now + Duration::from_secs(601);
        assert_eq!(t.admit_at("m", A, later), Verdict::Check(Duration::ZERO));
        for _ in 0..4 {
            t.failed_at("m", A, now);
        }
        t.succeeded("m", A);
        assert_eq!(t.admit_at("m", A, now), Verdict::Check(Duration::ZERO));
    }

    #[test]
    fn a_meeting_under_attack_rations_attempts_from_everyone() {
        let t = PasswordThrottle::new(config());
        let now = Instant::now();
        for i in 0..10u8 {
            t.failed_at("m", IpAddr::from([10, 0, 0, i]), now);
        }
        for _ in 0..3 {
            assert_eq!(t.admit_at("m", B, now), Verdict::Check(Duration::ZERO));
        }
        assert!(matches!(t.admit_at("m", B, now), Verdict::Refuse(_)));
        // A minute later the ration refills.
        let later = now + Duration::from_secs(61);
        assert_eq!(t.admit_at("m", B, later), Verdict::Check(Duration::ZERO));
        // Other meetings are not rationed.
        assert_eq!(t.admit_at("n", B, now), Verdict::Check(Duration::ZERO));
    }
}
