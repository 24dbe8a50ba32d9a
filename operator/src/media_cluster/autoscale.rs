//! The SFU pool's autoscaler, as a decision: a pure function of what the
//! operator observed (the pool's pods, the load signal reports, the
//! Deployment's replicas, the last [`PoolScalingStatus`]) and the time. It
//! returns the replicas to apply, the status to record and the one step it
//! took; [`super::scaling`] reads the observation and carries out the step.
//!
//! **Load** is participants against capacity for the SFU pool, the unit a
//! node's capacity is given in and the one placement refuses rooms by
//! (calls against `callsPerNode` for the SIP pool): the participants on the
//! serving nodes (pods of the pool whose node reports to signal and is not
//! draining) over the sum of their capacities. CPU is reported too but not
//! used: signal knows no CPU budget per node to compare it with (a pod may
//! have no CPU limit), it swings within a report interval, and a node's
//! capacity in participants is what an administrator sizes for that node's
//! CPU. **Desired nodes** are the fewest that carry the participants at
//! `targetLoadPercent` of a node's capacity, within `minNodes..maxNodes`.
//!
//! **Up** at once: more desired nodes than the Deployment has raise its
//! replicas in the same reconcile. **Down** only after the load has stayed
//! low enough for fewer nodes for `scaleDownWindowSeconds` (a dip of a few
//! seconds does not drain a node), only while every serving pod reports (a
//! pod just started has no load yet), and one node at a time:
//!
//! 1. the serving node with the fewest participants (then fewest rooms, then
//!    by name) is chosen and recorded in the status as the drain
//!    ([`Step::StartDrain`]); it is then marked draining in signal, so no new
//!    room goes to it;
//! 2. its pod stays while it has rooms, until `drainTimeoutSeconds` after the
//!    drain began; a node is empty only once it has reported for
//!    [`DRAIN_SETTLE`] since the mark (a room placed just before the mark
//!    shows in the next report);
//! 3. then the Deployment's replicas are lowered by one, recorded first in
//!    the status (`removingTo`) so that a restarted operator never lowers
//!    them twice, and the pod is made the one the ReplicaSet removes
//!    ([`Step::Remove`]); the other pods must be ready then, since the
//!    ReplicaSet removes a pod that is not ready before any other;
//! 4. once that pod is gone the drain is over ([`Step::Removed`]).
//!
//! Pods no node could take (the scheduler found none: more pods than nodes
//! for a pool on the host network) carry nothing: they are removed without
//! a drain or the window as soon as the load asks for fewer nodes
//! ([`Step::DropUnscheduled`]); otherwise they would hold every scale-down,
//! since they never report.
//!
//! Every step is recorded in the status before it acts, so an operator
//! killed anywhere in between resumes the same drain and starts no other.
//! A drain already begun goes on if the load rises again: the pool grows
//! around it (its pod counts in the replicas until it is removed).

use chrono::{DateTime, Utc};
use yunhui_crds::media_cluster::{PoolDrain, PoolScalingStatus};
use yunhui_proto::media::MediaNodeLoad;
use yunhui_proto::worker::WorkerLoad;

/// How long after the drain mark a node's report of no rooms is believed:
/// more than two report intervals, so that a room placed just before the
/// mark has shown in a report.
pub const DRAIN_SETTLE: chrono::Duration = chrono::Duration::seconds(5);

/// The pool's scaling settings, from its spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Fewest nodes.
    pub min_nodes: i32,
    /// Most nodes.
    pub max_nodes: i32,
    /// Load per node, in percent of its capacity, the pool is sized for.
    pub target_load_percent: i32,
    /// How long the load must stay low before a node is drained.
    pub scale_down_window: chrono::Duration,
    /// How long a draining node keeps its rooms at most.
    pub drain_timeout: chrono::Duration,
}

/// Which pool is scaled: the words its Events use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    /// SFU nodes, loaded with participants in rooms.
    Sfu,
    /// SIP gateways, loaded with calls.
    Sip,
    /// Recorders, loaded with recording and live-streaming jobs.
    Recorder,
}

impl PoolKind {
    /// What the load counts.
    fn load_unit(self) -> &'static str {
        match self {
            PoolKind::Sfu => "participants",
            PoolKind::Sip => "calls",
            PoolKind::Recorder => "jobs",
        }
    }

    /// What keeps a draining node: `{n} rooms open`, `{n} calls in progress`.
    fn sessions_left(self, n: u64) -> String {
        match self {
            PoolKind::Sfu => format!("{n} rooms open"),
            PoolKind::Sip => format!("{n} calls in progress"),
            PoolKind::Recorder => format!("{n} jobs running"),
        }
    }
}

/// One node of a pool as signal's table lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its id in signal: its pod's name.
    pub id: String,
    /// Whether it still reports.
    pub live: bool,
    /// Whether it takes nothing new.
    pub draining: bool,
    /// Load it takes at most (participants, calls).
    pub capacity: u64,
    /// Load on it (participants, calls).
    pub load: u64,
    /// What keeps it while it drains (rooms, calls).
    pub sessions: u64,
}

impl From<&MediaNodeLoad> for Member {
    fn from(node: &MediaNodeLoad) -> Self {
        Member {
            id: node.node_id.clone(),
            live: node.live,
            draining: node.draining,
            capacity: node.capacity,
            load: node.participants,
            sessions: node.rooms,
        }
    }
}

impl From<&WorkerLoad> for Member {
    fn from(worker: &WorkerLoad) -> Self {
        Member {
            id: worker.worker_id.clone(),
            live: worker.live,
            draining: worker.draining,
            capacity: worker.capacity,
            load: worker.in_progress,
            sessions: worker.in_progress,
        }
    }
}

/// One pod of the pool (not terminating).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolPod {
    /// Its name: the node's id in signal.
    pub name: String,
    /// Whether it is Ready.
    pub ready: bool,
    /// Whether it is on a node: false once the scheduler found none for
    /// it (e.g. more pods than nodes for a pool on the host network).
    pub scheduled: bool,
}

/// What the operator observed.
#[derive(Debug, Clone, Copy)]
pub struct Observed<'a> {
    /// Now.
    pub now: DateTime<Utc>,
    /// The Deployment's replicas (`None`: no Deployment yet).
    pub replicas: Option<i32>,
    /// The pool's pods that are not terminating.
    pub pods: &'a [PoolPod],
    /// Signal's table of the pool's nodes; `None` when signal could not be asked.
    pub nodes: Option<&'a [Member]>,
    /// The scaling status recorded last.
    pub previous: Option<&'a PoolScalingStatus>,
}

/// What the autoscaler decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The Deployment's replicas.
    pub replicas: i32,
    /// The scaling status to record.
    pub status: PoolScalingStatus,
    /// What changed, if anything.
    pub step: Option<Step>,
}

/// One step of scaling; each is told in an Event.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// More nodes: the load asks for them (or `minNodes` does).
    ScaleUp {
        /// Replicas before.
        from: i32,
        /// Replicas now.
        to: i32,
        /// The load, if known.
        load_percent: Option<i32>,
    },
    /// A node is marked draining in signal: no new rooms go to it.
    StartDrain {
        /// Its pod.
        pod: String,
        /// Participants still on it.
        participants: u64,
        /// The load.
        load_percent: Option<i32>,
        /// Nodes the load asks for.
        desired: i32,
    },
    /// The drained node's pod is removed: replicas lowered by one.
    Remove {
        /// Its pod.
        pod: String,
        /// Replicas before.
        from: i32,
        /// Replicas now.
        to: i32,
        /// Rooms still open on it (more than none only after a timeout).
        rooms: u64,
        /// Seconds the drain took.
        seconds: i64,
    },
    /// The drained pod is gone: the drain is over.
    Removed {
        /// Its pod.
        pod: String,
    },
    /// Pods no node could take are removed without a drain (they carry
    /// nothing): replicas lowered by their number, at most to the nodes
    /// the load asks for. The ReplicaSet removes unscheduled pods first.
    DropUnscheduled {
        /// Replicas before.
        from: i32,
        /// Replicas now.
        to: i32,
    },
}

/// The load of the serving nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Load {
    /// Participants on them.
    participants: u64,
    /// Their capacity in all.
    capacity: u64,
    /// How many report.
    reporting: usize,
    /// Whether every serving pod reports.
    all_reporting: bool,
}

impl Load {
    fn percent(&self) -> Option<i32> {
        (self.capacity > 0).then(|| {
            i32::try_from(self.participants.saturating_mul(100) / self.capacity).unwrap_or(i32::MAX)
        })
    }

    /// The fewest nodes that carry the participants at the target load,
    /// within the policy's bounds; `None` without a report.
    fn desired(&self, policy: &Policy) -> Option<i32> {
        if self.reporting == 0 || self.capacity == 0 {
            return None;
        }
        let per_node = self.capacity / self.reporting as u64;
        let target = u64::try_from(policy.target_load_percent.clamp(1, 100)).unwrap_or(100);
        // ceil(participants / (per_node × target / 100)), in integers.
        let room_per_node = per_node.saturating_mul(target).max(1);
        let needed = self
            .participants
            .saturating_mul(100)
            .div_ceil(room_per_node);
        let needed = i32::try_from(needed).unwrap_or(i32::MAX);
        Some(needed.clamp(policy.min_nodes, policy.max_nodes.max(policy.min_nodes)))
    }
}

/// The live entry of `pod` in signal's table.
fn node_of<'a>(nodes: &'a [Member], pod: &str) -> Option<&'a Member> {
    nodes.iter().find(|n| n.live && n.id == pod)
}

fn load_of(pods: &[&PoolPod], nodes: &[Member]) -> Load {
    let mut load = Load {
        participants: 0,
        capacity: 0,
        reporting: 0,
        all_reporting: true,
    };
    for pod in pods {
        match node_of(nodes, &pod.name) {
            Some(node) if !node.draining => {
                load.participants += node.load;
                load.capacity += node.capacity;
                load.reporting += 1;
            }
            // Draining on its own (SIGTERM): it takes no rooms, and scaling
            // down beside it waits until its pod is gone.
            Some(_) => load.all_reporting = false,
            None => load.all_reporting = false,
        }
    }
    load
}

fn parse_time(text: &str, now: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now)
}

fn format_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The node to drain: of the serving pods, the one with the fewest
/// participants (calls), then the fewest rooms, then the first by name.
pub fn choose_drain<'a>(pods: &[&'a PoolPod], nodes: &[Member]) -> Option<&'a PoolPod> {
    pods.iter().copied().min_by_key(|pod| {
        let node = node_of(nodes, &pod.name);
        (
            node.map_or(0, |n| n.load),
            node.map_or(0, |n| n.sessions),
            pod.name.clone(),
        )
    })
}

/// Decides the pool's replicas and the next step of scaling.
pub fn decide(policy: &Policy, observed: &Observed<'_>) -> Decision {
    let now = observed.now;
    let previous = observed.previous.cloned().unwrap_or_default();
    let replicas = observed.replicas.unwrap_or(policy.min_nodes);
    let nodes = observed.nodes.unwrap_or(&[]);
    let drain = previous.drain.clone();
    let serving: Vec<&PoolPod> = observed
        .pods
        .iter()
        .filter(|p| drain.as_ref().is_none_or(|d| d.pod != p.name))
        .collect();
    let load = load_of(&serving, nodes);
    let desired = load.desired(policy);
    let mut status = PoolScalingStatus {
        load_percent: load.percent(),
        desired_nodes: desired.unwrap_or_else(|| {
            replicas.clamp(policy.min_nodes, policy.max_nodes.max(policy.min_nodes))
        }),
        current_nodes: replicas,
        low_load_since: previous.low_load_since.clone(),
        drain: drain.clone(),
    };
    let decided = |replicas: i32, mut status: PoolScalingStatus, step: Option<Step>| {
        status.current_nodes = replicas;
        Decision {
            replicas,
            status,
            step,
        }
    };

    if let Some(drain) = drain {
        let pod_present = observed.pods.iter().any(|p| p.name == drain.pod);
        if let Some(to) = drain.removing_to {
            if pod_present {
                return decided(to, status, None);
            }
            status.drain = None;
            return decided(to, status, Some(Step::Removed { pod: drain.pod }));
        }
        if !pod_present {
            // Gone before its turn (deleted by someone else): the
            // ReplicaSet replaces it, and the load decides again.
            status.drain = None;
            return decided(replicas, status, Some(Step::Removed { pod: drain.pod }));
        }
        // The pool grows around a drain: the draining pod still counts.
        if let Some(desired) = desired
            && desired + 1 > replicas
        {
            let to = (desired + 1).min(policy.max_nodes.max(policy.min_nodes) + 1);
            if to > replicas {
                status.low_load_since = None;
                return decided(
                    to,
                    status,
                    Some(Step::ScaleUp {
                        from: replicas,
                        to,
                        load_percent: load.percent(),
                    }),
                );
            }
        }
        let since = parse_time(&drain.since, now);
        let elapsed = now - since;
        let rooms = node_of(nodes, &drain.pod).map_or(0, |n| n.sessions);
        let empty = elapsed >= DRAIN_SETTLE && rooms == 0;
        let timed_out = elapsed >= policy.drain_timeout;
        let others_ready = serving.iter().all(|p| p.ready);
        if (empty || timed_out) && others_ready && replicas > 0 {
            let to = replicas - 1;
            status.drain = Some(PoolDrain {
                removing_to: Some(to),
                ..drain.clone()
            });
            return decided(
                to,
                status,
                Some(Step::Remove {
                    pod: drain.pod,
                    from: replicas,
                    to,
                    rooms,
                    seconds: elapsed.num_seconds(),
                }),
            );
        }
        return decided(replicas, status, None);
    }

    let Some(desired) = desired else {
        // No load known: keep what there is, within the bounds upward only
        // (scaling down needs a load to drain by).
        let to = replicas.max(policy.min_nodes);
        let step = (to > replicas).then_some(Step::ScaleUp {
            from: replicas,
            to,
            load_percent: None,
        });
        return decided(to, status, step);
    };
    if desired > replicas {
        status.low_load_since = None;
        return decided(
            desired,
            status,
            Some(Step::ScaleUp {
                from: replicas,
                to: desired,
                load_percent: load.percent(),
            }),
        );
    }
    if desired == replicas {
        status.low_load_since = None;
        return decided(replicas, status, None);
    }
    let unscheduled = serving.iter().filter(|p| !p.scheduled).count();
    if unscheduled > 0 {
        // They never ran: nothing to drain, nothing to wait for.
        let unscheduled = i32::try_from(unscheduled).unwrap_or(i32::MAX);
        let to = replicas.saturating_sub(unscheduled).max(desired);
        return decided(
            to,
            status,
            Some(Step::DropUnscheduled { from: replicas, to }),
        );
    }
    if !load.all_reporting {
        // A pod that does not report yet (or drains on its own) has no
        // load to judge by: wait, neither starting nor ending the window.
        return decided(replicas, status, None);
    }
    let low_since = status
        .low_load_since
        .as_deref()
        .map_or(now, |t| parse_time(t, now));
    status.low_load_since = Some(format_time(low_since));
    if now - low_since < policy.scale_down_window {
        return decided(replicas, status, None);
    }
    let Some(pod) = choose_drain(&serving, nodes) else {
        return decided(replicas, status, None);
    };
    status.drain = Some(PoolDrain {
        pod: pod.name.clone(),
        since: format_time(now),
        removing_to: None,
    });
    let participants = node_of(nodes, &pod.name).map_or(0, |n| n.load);
    decided(
        replicas,
        status,
        Some(Step::StartDrain {
            pod: pod.name.clone(),
            participants,
            load_percent: load.percent(),
            desired,
        }),
    )
}

impl Step {
    /// The Event's action: distinct per transition and pod, because the
    /// event recorder folds events of the same reason and action on one
    /// object into one series (and keeps only the first note).
    pub fn action(&self) -> String {
        match self {
            Step::ScaleUp { to, .. } => format!("ScaleUpTo{to}"),
            Step::StartDrain { pod, .. } => format!("Drain/{pod}"),
            Step::Remove { to, .. } => format!("ScaleDownTo{to}"),
            Step::Removed { pod } => format!("Drained/{pod}"),
            Step::DropUnscheduled { to, .. } => format!("DropUnscheduledTo{to}"),
        }
    }

    /// The Event's reason and note for this step in a pool of `kind`.
    pub fn event(&self, kind: PoolKind, target_load_percent: i32) -> (&'static str, String) {
        let load = |load: &Option<i32>| match load {
            Some(percent) => format!("load {percent}% of capacity, target {target_load_percent}%"),
            None => "no load reported yet; minNodes".to_string(),
        };
        match self {
            Step::ScaleUp {
                from,
                to,
                load_percent,
            } => (
                "ScaledUp",
                format!("ScaledUp {from}→{to}: {}", load(load_percent)),
            ),
            Step::StartDrain {
                pod,
                participants,
                load_percent,
                desired,
            } => (
                "Draining",
                format!(
                    "Draining {pod} ({participants} {}): {}, {desired} nodes are enough",
                    kind.load_unit(),
                    load(load_percent)
                ),
            ),
            Step::Remove {
                pod,
                from,
                to,
                rooms,
                seconds,
            } => (
                "ScaledDown",
                if *rooms == 0 {
                    format!("ScaledDown {from}→{to}: removing {pod}, drained in {seconds} s")
                } else {
                    format!(
                        "ScaledDown {from}→{to}: removing {pod}, drain timed out after {seconds} s with {}",
                        kind.sessions_left(*rooms)
                    )
                },
            ),
            Step::Removed { pod } => ("Drained", format!("Drained {pod}: its pod is gone")),
            Step::DropUnscheduled { from, to } => (
                "ScaledDown",
                format!(
                    "ScaledDown {from}→{to}: pods no node could take are removed without a drain"
                ),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAPACITY: u64 = 10;

    fn policy() -> Policy {
        Policy {
            min_nodes: 1,
            max_nodes: 3,
            target_load_percent: 70,
            scale_down_window: chrono::Duration::seconds(60),
            drain_timeout: chrono::Duration::seconds(300),
        }
    }

    fn t(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    fn pods(names: &[&str]) -> Vec<PoolPod> {
        names
            .iter()
            .map(|n| PoolPod {
                name: n.to_string(),
                ready: true,
                scheduled: true,
            })
            .collect()
    }

    /// Nodes `(name, participants, rooms)`, live, not draining.
    fn nodes(loads: &[(&str, u64, u64)]) -> Vec<Member> {
        loads
            .iter()
            .map(|(name, participants, rooms)| {
                Member::from(&MediaNodeLoad {
                    node_id: name.to_string(),
                    live: true,
                    draining: false,
                    capacity: CAPACITY,
                    rooms: *rooms,
                    participants: *participants,
                    cpu_millicores: 0,
                    bits_in_per_second: 0,
                    bits_out_per_second: 0,
                    region: None,
                })
            })
            .collect()
    }

    fn decide_at(
        now: DateTime<Utc>,
        replicas: i32,
        pods: &[PoolPod],
        nodes: &[Member],
        previous: Option<&PoolScalingStatus>,
    ) -> Decision {
        decide(
            &policy(),
            &Observed {
                now,
                replicas: Some(replicas),
                pods,
                nodes: Some(nodes),
                previous,
            },
        )
    }

    #[test]
    fn load_above_the_target_scales_up_at_once() {
        let pods = pods(&["a"]);
        let d = decide_at(t(0), 1, &pods, &nodes(&[("a", 8, 2)]), None);
        assert_eq!(d.replicas, 2);
        assert_eq!(
            d.step,
            Some(Step::ScaleUp {
                from: 1,
                to: 2,
                load_percent: Some(80)
            })
        );
        assert_eq!(d.status.load_percent, Some(80));
        assert_eq!(d.status.desired_nodes, 2);
        assert_eq!(d.status.current_nodes, 2);
        assert_eq!(
            d.step.unwrap().event(PoolKind::Sfu, 70).1,
            "ScaledUp 1→2: load 80% of capacity, target 70%"
        );
    }

    #[test]
    fn load_at_the_target_keeps_the_pool() {
        let pods = pods(&["a", "b"]);
        // 14 participants on 2 × 10 at 70%: exactly two nodes.
        let d = decide_at(t(0), 2, &pods, &nodes(&[("a", 7, 1), ("b", 7, 1)]), None);
        assert_eq!((d.replicas, d.step, d.status.desired_nodes), (2, None, 2));
        // One more participant needs a third node.
        let d = decide_at(t(0), 2, &pods, &nodes(&[("a", 8, 1), ("b", 7, 1)]), None);
        assert_eq!(d.replicas, 3);
    }

    #[test]
    fn the_pool_stays_within_min_and_max_nodes() {
        let pods3 = pods(&["a", "b", "c"]);
        let full = nodes(&[("a", 10, 1), ("b", 10, 1), ("c", 10, 1)]);
        let d = decide_at(t(0), 3, &pods3, &full, None);
        assert_eq!((d.replicas, d.step, d.status.desired_nodes), (3, None, 3));
        // No load at all: never below minNodes, and below it the pool grows.
        let mut p = policy();
        p.min_nodes = 2;
        let pods1 = pods(&["a"]);
        let d = decide(
            &p,
            &Observed {
                now: t(0),
                replicas: Some(1),
                pods: &pods1,
                nodes: Some(&nodes(&[("a", 0, 0)])),
                previous: None,
            },
        );
        assert_eq!(d.replicas, 2);
        // Signal unreachable: nothing is drained, minNodes still holds.
        let d = decide(
            &p,
            &Observed {
                now: t(0),
                replicas: Some(1),
                pods: &pods1,
                nodes: None,
                previous: None,
            },
        );
        assert_eq!(d.replicas, 2);
        assert!(matches!(
            d.step,
            Some(Step::ScaleUp {
                load_percent: None,
                ..
            })
        ));
    }

    #[test]
    fn low_load_drains_only_after_the_window() {
        let pods = pods(&["a", "b"]);
        let low = nodes(&[("a", 2, 1), ("b", 1, 1)]);
        let first = decide_at(t(0), 2, &pods, &low, None);
        assert_eq!((first.replicas, &first.step), (2, &None));
        assert_eq!(
            first.status.low_load_since.as_deref(),
            Some(format_time(t(0)).as_str())
        );
        assert_eq!(first.status.desired_nodes, 1);
        let within = decide_at(t(59), 2, &pods, &low, Some(&first.status));
        assert_eq!((within.replicas, &within.step), (2, &None));
        assert!(within.status.drain.is_none());
        let after = decide_at(t(60), 2, &pods, &low, Some(&within.status));
        assert_eq!(after.replicas, 2, "the pod stays while it drains");
        assert_eq!(
            after.step,
            Some(Step::StartDrain {
                pod: "b".into(),
                participants: 1,
                load_percent: Some(15),
                desired: 1
            })
        );
        assert_eq!(
            after.status.drain,
            Some(PoolDrain {
                pod: "b".into(),
                since: format_time(t(60)),
                removing_to: None
            })
        );
    }

    #[test]
    fn a_load_spike_inside_the_window_starts_it_again() {
        let pods = pods(&["a", "b"]);
        let low = nodes(&[("a", 2, 1), ("b", 1, 1)]);
        let first = decide_at(t(0), 2, &pods, &low, None);
        let spike = decide_at(
            t(30),
            2,
            &pods,
            &nodes(&[("a", 7, 1), ("b", 5, 1)]),
            Some(&first.status),
        );
        assert_eq!(spike.status.low_load_since, None);
        let low_again = decide_at(t(61), 2, &pods, &low, Some(&spike.status));
        assert_eq!(low_again.step, None, "the window starts at 61 s, not 0 s");
        let later = decide_at(t(121), 2, &pods, &low, Some(&low_again.status));
        assert!(matches!(later.step, Some(Step::StartDrain { .. })));
    }

    #[test]
    fn no_drain_while_a_pod_does_not_report() {
        let pods = pods(&["a", "b", "c"]);
        // c was just started: it has no report yet.
        let d = decide_at(t(0), 3, &pods, &nodes(&[("a", 1, 1), ("b", 0, 0)]), None);
        assert_eq!(
            (d.replicas, d.step, d.status.low_load_since),
            (3, None, None)
        );
    }

    #[test]
    fn the_drain_takes_the_node_with_the_fewest_participants() {
        let p = pods(&["a", "b", "c"]);
        let refs: Vec<&PoolPod> = p.iter().collect();
        let chosen = choose_drain(&refs, &nodes(&[("a", 3, 1), ("b", 1, 1), ("c", 2, 1)]));
        assert_eq!(chosen.map(|p| p.name.as_str()), Some("b"));
        // Ties: fewest rooms, then the first by name.
        let chosen = choose_drain(&refs, &nodes(&[("a", 2, 2), ("b", 2, 1), ("c", 2, 1)]));
        assert_eq!(chosen.map(|p| p.name.as_str()), Some("b"));
    }

    fn draining(pod: &str, since: i64, removing_to: Option<i32>) -> PoolScalingStatus {
        PoolScalingStatus {
            load_percent: Some(10),
            desired_nodes: 1,
            current_nodes: 2,
            low_load_since: Some(format_time(t(0))),
            drain: Some(PoolDrain {
                pod: pod.into(),
                since: format_time(t(since)),
                removing_to,
            }),
        }
    }

    #[test]
    fn a_draining_node_keeps_its_pod_while_it_has_rooms() {
        let pods = pods(&["a", "b"]);
        let previous = draining("b", 100, None);
        let d = decide_at(
            t(200),
            2,
            &pods,
            &nodes(&[("a", 0, 0), ("b", 1, 1)]),
            Some(&previous),
        );
        assert_eq!((d.replicas, d.step), (2, None));
        assert_eq!(d.status.drain, previous.drain, "the same drain goes on");
    }

    #[test]
    fn an_empty_node_is_removed_but_only_after_the_settle_time() {
        let pods = pods(&["a", "b"]);
        let previous = draining("b", 100, None);
        let empty = nodes(&[("a", 1, 1), ("b", 0, 0)]);
        let early = decide_at(t(102), 2, &pods, &empty, Some(&previous));
        assert_eq!(
            early.step, None,
            "a report older than the mark may miss a room"
        );
        let d = decide_at(t(105), 2, &pods, &empty, Some(&previous));
        assert_eq!(d.replicas, 1);
        assert_eq!(
            d.step,
            Some(Step::Remove {
                pod: "b".into(),
                from: 2,
                to: 1,
                rooms: 0,
                seconds: 5
            })
        );
        assert_eq!(d.status.drain.as_ref().unwrap().removing_to, Some(1));
        // Restarted (or just the next reconcile) before the pod went: the
        // replicas are not lowered a second time.
        let again = decide_at(t(106), 1, &pods, &empty, Some(&d.status));
        assert_eq!((again.replicas, again.step), (1, None));
        // The pod is gone: the drain is over.
        let a_only = super::tests::pods(&["a"]);
        let done = decide_at(
            t(107),
            1,
            &a_only,
            &nodes(&[("a", 1, 1)]),
            Some(&again.status),
        );
        assert_eq!(done.replicas, 1);
        assert_eq!(done.step, Some(Step::Removed { pod: "b".into() }));
        assert_eq!(done.status.drain, None);
    }

    #[test]
    fn a_drain_times_out_with_rooms_still_open() {
        let pods = pods(&["a", "b"]);
        let previous = draining("b", 100, None);
        let busy = nodes(&[("a", 1, 1), ("b", 2, 1)]);
        let d = decide_at(t(399), 2, &pods, &busy, Some(&previous));
        assert_eq!(d.step, None);
        let d = decide_at(t(400), 2, &pods, &busy, Some(&previous));
        assert_eq!(d.replicas, 1);
        let (reason, note) = d.step.unwrap().event(PoolKind::Sfu, 70);
        assert_eq!(reason, "ScaledDown");
        assert_eq!(
            note,
            "ScaledDown 2→1: removing b, drain timed out after 300 s with 1 rooms open"
        );
    }

    #[test]
    fn the_drained_pod_waits_for_the_others_to_be_ready() {
        let mut pods = pods(&["a", "b"]);
        pods[0].ready = false;
        let previous = draining("b", 100, None);
        let d = decide_at(
            t(200),
            2,
            &pods,
            &nodes(&[("a", 0, 0), ("b", 0, 0)]),
            Some(&previous),
        );
        assert_eq!((d.replicas, d.step), (2, None));
    }

    #[test]
    fn never_below_min_nodes_and_one_drain_at_a_time() {
        let pods1 = pods(&["a"]);
        let d = decide_at(
            t(1000),
            1,
            &pods1,
            &nodes(&[("a", 0, 0)]),
            Some(&PoolScalingStatus {
                low_load_since: Some(format_time(t(0))),
                ..PoolScalingStatus::default()
            }),
        );
        assert_eq!(
            (d.replicas, d.step),
            (1, None),
            "at minNodes nothing drains"
        );
        // While b drains, c (empty as well) is not drained too.
        let pods3 = pods(&["a", "b", "c"]);
        let previous = draining("b", 990, None);
        let d = decide_at(
            t(1000),
            3,
            &pods3,
            &nodes(&[("a", 0, 0), ("b", 1, 1), ("c", 0, 0)]),
            Some(&previous),
        );
        assert_eq!((d.replicas, d.step), (3, None));
        assert_eq!(d.status.drain.unwrap().pod, "b");
    }

    #[test]
    fn the_pool_grows_around_a_drain() {
        let pods = pods(&["a", "b"]);
        let previous = draining("b", 100, None);
        // a alone carries 9 of 10: two serving nodes wanted, plus b draining.
        let d = decide_at(
            t(110),
            2,
            &pods,
            &nodes(&[("a", 9, 1), ("b", 1, 1)]),
            Some(&previous),
        );
        assert_eq!(d.replicas, 3);
        assert!(matches!(d.step, Some(Step::ScaleUp { from: 2, to: 3, .. })));
        assert_eq!(d.status.drain, previous.drain);
    }

    /// A SIP pool's gateways are loaded with calls: each is one unit of load
    /// and keeps its gateway while it drains; the Events say calls.
    #[test]
    fn a_sip_pool_is_scaled_by_its_calls() {
        let gateway = |id: &str, calls: u64| {
            Member::from(&WorkerLoad {
                worker_id: id.into(),
                live: true,
                draining: false,
                capacity: 4,
                in_progress: calls,
            })
        };
        let pods2 = pods(&["a", "b"]);
        // 6 calls on 2 × 4 at 70%: a third gateway.
        let busy = [gateway("a", 4), gateway("b", 2)];
        let up = decide_at(t(0), 2, &pods2, &busy, None);
        assert_eq!(up.replicas, 3);
        assert_eq!(
            up.step.unwrap().event(PoolKind::Sip, 70).1,
            "ScaledUp 2→3: load 75% of capacity, target 70%"
        );
        // One call left: after the window the gateway with fewer calls drains.
        let quiet = [gateway("a", 0), gateway("b", 1)];
        let first = decide_at(t(0), 2, &pods2, &quiet, None);
        let drain = decide_at(t(60), 2, &pods2, &quiet, Some(&first.status));
        let step = drain.step.expect("a drain");
        assert_eq!(
            step.event(PoolKind::Sip, 70).1,
            "Draining a (0 calls): load 12% of capacity, target 70%, 1 nodes are enough"
        );
        // A gateway whose call outlasts the drain timeout is removed anyway.
        let previous = draining("b", 0, None);
        let late = decide_at(
            t(300),
            2,
            &pods2,
            &[gateway("a", 0), gateway("b", 1)],
            Some(&previous),
        );
        assert_eq!(
            late.step.unwrap().event(PoolKind::Sip, 70),
            (
                "ScaledDown",
                "ScaledDown 2→1: removing b, drain timed out after 300 s with 1 calls in progress"
                    .to_string()
            )
        );
    }

    /// More pods than nodes (a pool on the host network): the ones no node
    /// took are removed as soon as the load asks for fewer, without a drain
    /// or the window, and only down to what the load asks for; a pool
    /// whose pods all run waits for its window as before.
    #[test]
    fn pods_no_node_took_go_without_a_drain() {
        let mut pods3 = pods(&["a", "b", "c"]);
        pods3[2].ready = false;
        pods3[2].scheduled = false;
        // a and b report; c never ran. 3 participants: one node is enough.
        let low = nodes(&[("a", 2, 1), ("b", 1, 1)]);
        let d = decide_at(t(0), 3, &pods3, &low, None);
        assert_eq!(d.replicas, 2);
        assert_eq!(d.step, Some(Step::DropUnscheduled { from: 3, to: 2 }));
        assert_eq!(
            d.step.as_ref().unwrap().event(PoolKind::Sip, 70).1,
            "ScaledDown 3→2: pods no node could take are removed without a drain"
        );
        assert!(d.status.drain.is_none());
        // 15 participants on a and b: the load asks for c; it stays Pending.
        let busy = nodes(&[("a", 8, 1), ("b", 7, 1)]);
        let d = decide_at(t(0), 3, &pods3, &busy, None);
        assert_eq!((d.replicas, &d.step), (3, &None), "desired is 3");
        // Two of four never ran and the load asks for three: one goes.
        let mut pods4 = pods(&["a", "b", "c", "d"]);
        for pod in &mut pods4[2..] {
            pod.scheduled = false;
        }
        let d = decide_at(t(0), 4, &pods4, &nodes(&[("a", 9, 1), ("b", 6, 1)]), None);
        assert_eq!(d.step, Some(Step::DropUnscheduled { from: 4, to: 3 }));
    }
}
