//! Conditions: computing them, keeping `lastTransitionTime` stable, and
//! deciding whether a status write is needed at all.

use yunhui_crds::{Condition, ConditionStatus};

pub use yunhui_crds::common::condition_type::*;

/// A condition to report, before timestamps are settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// Condition type.
    pub type_: &'static str,
    /// True or False.
    pub status: bool,
    /// CamelCase reason.
    pub reason: String,
    /// Sentence for people.
    pub message: String,
}

impl Observation {
    /// A condition of `type_` with its truth, reason and message.
    pub fn new(
        type_: &'static str,
        status: bool,
        reason: &str,
        message: impl Into<String>,
    ) -> Self {
        Observation {
            type_,
            status,
            reason: reason.into(),
            message: message.into(),
        }
    }
}

/// The four standard conditions from one outcome: `ready`, `progressing`,
/// `degraded` (each with reason and message) and `paused`.
pub fn standard(
    ready: (bool, &str, String),
    progressing: bool,
    degraded: Option<(&str, String)>,
    paused: bool,
) -> Vec<Observation> {
    let (ok, reason, message) = ready;
    vec![
        Observation::new(READY, ok, reason, message),
        Observation::new(
            PROGRESSING,
            progressing,
            if progressing {
                "Reconciling"
            } else {
                "Reconciled"
            },
            if progressing {
                "children are being brought to the spec"
            } else {
                "children match the spec"
            },
        ),
        match degraded {
            Some((reason, message)) => Observation::new(DEGRADED, true, reason, message),
            None => Observation::new(DEGRADED, false, "AsExpected", "nothing is failing"),
        },
        if paused {
            Observation::new(
                RECONCILIATION_PAUSED,
                true,
                "Paused",
                "spec.paused is true: children are left as they are",
            )
        } else {
            Observation::new(
                RECONCILIATION_PAUSED,
                false,
                "Active",
                "the operator reconciles this resource",
            )
        },
    ]
}

/// Settles observations into conditions: a condition whose status did not
/// change keeps its `lastTransitionTime`.
pub fn settle(
    previous: &[Condition],
    observations: Vec<Observation>,
    generation: Option<i64>,
) -> Vec<Condition> {
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    observations
        .into_iter()
        .map(|o| {
            let status = if o.status {
                ConditionStatus::True
            } else {
                ConditionStatus::False
            };
            let time = previous
                .iter()
                .find(|c| c.type_ == o.type_ && c.status == status)
                .map(|c| c.last_transition_time.clone())
                .unwrap_or_else(|| now.clone());
            Condition {
                type_: o.type_.into(),
                status,
                observed_generation: generation,
                last_transition_time: time,
                reason: o.reason,
                message: o.message,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchanged_status_keeps_its_transition_time() {
        let first = settle(
            &[],
            standard((true, "Ready", "ok".into()), false, None, false),
            Some(1),
        );
        let mut old = first.clone();
        old[0].last_transition_time = "2020-01-01T00:00:00Z".into();
        let again = settle(
            &old,
            standard((true, "Ready", "ok".into()), false, None, false),
            Some(1),
        );
        assert_eq!(again[0].last_transition_time, "2020-01-01T00:00:00Z");
        let flipped = settle(
            &old,
            standard((false, "NotReady", "no".into()), true, None, false),
            Some(2),
        );
        assert_ne!(flipped[0].last_transition_time, "2020-01-01T00:00:00Z");
    }
}
