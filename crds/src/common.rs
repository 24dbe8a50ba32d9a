//! Status parts shared by every Yunhui resource: conditions with
//! `observedGeneration`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Condition types every resource reports.
pub mod condition_type {
    /// Everything the resource asks for exists and is ready.
    pub const READY: &str = "Ready";
    /// The operator is changing children towards the spec.
    pub const PROGRESSING: &str = "Progressing";
    /// Something the resource needs is failing (invalid spec, unreachable signal, ...).
    pub const DEGRADED: &str = "Degraded";
    /// `spec.paused` is set: the operator leaves the children as they are.
    pub const RECONCILIATION_PAUSED: &str = "ReconciliationPaused";
}

/// Truth value of a condition, as Kubernetes spells it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ConditionStatus {
    /// The condition holds.
    True,
    /// The condition does not hold.
    False,
    /// The operator cannot tell.
    Unknown,
}

/// One observation about a resource, in the shape of `metav1.Condition`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Kind of condition: Ready, Progressing, Degraded or ReconciliationPaused.
    #[serde(rename = "type")]
    pub type_: String,
    /// Whether the condition holds: True, False or Unknown.
    pub status: ConditionStatus,
    /// The `metadata.generation` this condition was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// When the status last changed (RFC 3339).
    pub last_transition_time: String,
    /// One CamelCase word saying why, for machines.
    pub reason: String,
    /// A sentence saying why, for people.
    #[serde(default)]
    pub message: String,
}

/// Access to the conditions of a resource's status.
pub trait ResourceStatus {
    /// The status's conditions.
    fn conditions(&self) -> &[Condition];
    /// The generation the status describes.
    fn observed_generation(&self) -> Option<i64>;

    /// The condition of type `type_`, if reported.
    fn condition(&self, type_: &str) -> Option<&Condition> {
        self.conditions().iter().find(|c| c.type_ == type_)
    }

    /// Whether `Ready` is `True`.
    fn is_ready(&self) -> bool {
        self.condition(condition_type::READY)
            .is_some_and(|c| c.status == ConditionStatus::True)
    }
}
