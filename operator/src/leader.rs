//! Leader election on a `coordination.k8s.io/v1` Lease: one replica runs the
//! controllers, the others wait. Losing the Lease ends [`hold`], and the
//! caller stops its controllers.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, PostParams};

use crate::context::OperatorConfig;
use crate::error::Result;

fn now() -> MicroTime {
    MicroTime(Timestamp::now())
}

fn expired(spec: &LeaseSpec) -> bool {
    let Some(MicroTime(renewed)) = spec.renew_time else {
        return true;
    };
    let secs = i64::from(spec.lease_duration_seconds.unwrap_or(15));
    Timestamp::now().as_second() > renewed.as_second() + secs
}

/// Tries once to take or renew the Lease; true when this replica holds it.
/// Creates the Lease when it does not exist.
pub async fn try_acquire(client: &Client, config: &OperatorConfig) -> Result<bool> {
    take(client, config, true).await
}

/// Takes or renews the Lease; a missing one is created only when `create`.
async fn take(client: &Client, config: &OperatorConfig, create: bool) -> Result<bool> {
    let api: Api<Lease> = Api::namespaced(client.clone(), &config.lease_namespace);
    let duration = i32::try_from(config.lease_duration.as_secs()).unwrap_or(15);
    let mine = |transitions: i32, acquired: Option<MicroTime>| LeaseSpec {
        holder_identity: Some(config.identity.clone()),
        lease_duration_seconds: Some(duration),
        acquire_time: acquired.or_else(|| Some(now())),
        renew_time: Some(now()),
        lease_transitions: Some(transitions),
        ..Default::default()
    };
    match api.get_opt(&config.lease_name).await? {
        // Deleted while this replica led (an uninstall): leadership is lost,
        // and the Lease is not brought back.
        None if !create => Ok(false),
        None => {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(config.lease_name.clone()),
                    ..Default::default()
                },
                spec: Some(mine(0, None)),
            };
            match api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
                Err(e) => Err(e.into()),
            }
        }
        Some(mut lease) => {
            let spec = lease.spec.clone().unwrap_or_default();
            let held_by_me = spec.holder_identity.as_deref() == Some(config.identity.as_str());
            if !held_by_me && !expired(&spec) {
                return Ok(false);
            }
            let transitions = spec.lease_transitions.unwrap_or(0) + i32::from(!held_by_me);
            let acquired = if held_by_me {
                spec.acquire_time.clone()
            } else {
                None
            };
            lease.spec = Some(mine(transitions, acquired));
            // resourceVersion in the body makes this a compare-and-swap.
            match api
                .replace(&config.lease_name, &PostParams::default(), &lease)
                .await
            {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// Waits until this replica holds the Lease.
pub async fn acquire(client: &Client, config: &OperatorConfig) -> Result<()> {
    let retry = config.lease_duration / 3;
    loop {
        match try_acquire(client, config).await {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "leader election failed; retrying"),
        }
        tokio::time::sleep(retry).await;
    }
}

/// Renews the Lease until it is lost; returns then.
pub async fn hold(client: &Client, config: &OperatorConfig) {
    let every = config.lease_duration / 3;
    let mut failures = 0u32;
    loop {
        tokio::time::sleep(every).await;
        match take(client, config, false).await {
            Ok(true) => failures = 0,
            Ok(false) => return,
            Err(e) => {
                failures += 1;
                tracing::warn!(error = %e, "renewing the leader Lease failed");
                // Give up before the Lease can expire under another replica.
                if failures >= 2 {
                    return;
                }
            }
        }
    }
}

/// Fixed interval used between acquisition attempts, for tests.
pub fn retry_interval(config: &OperatorConfig) -> Duration {
    config.lease_duration / 3
}
