//! The recorder pool: a Deployment of workers that only connect out (to
//! signal and the SFU), a PodDisruptionBudget and a NetworkPolicy with no
//! ingress at all.

use yunhui_proto::env;

use super::BuildInput;
use super::pod::env_value;
use super::policy::{network_policy, pdb};
use super::worker::worker_deployment;
use crate::children::Child;
use crate::error::Result;
use crate::media_cluster::validate::Workers;

/// The recorder pool's children.
pub fn build(input: &BuildInput<'_>, recorder: &Workers) -> Result<Vec<Child>> {
    // The recorder's image is not built yet; it will need the internal key
    // and signal's URL, like the SIP gateway.
    let variables = vec![
        input.internal_key(),
        env_value(env::SIGNAL_URL, input.signal_url()),
    ];
    Ok(vec![
        worker_deployment(
            input,
            "recorder",
            recorder.replicas,
            variables,
            Vec::new(),
            recorder.resources.clone(),
            None,
        )?,
        pdb(input, "recorder")?,
        network_policy(input, "recorder", Vec::new())?,
    ])
}
