//! What every reconcile gets, whatever its kind: a tracing span naming the
//! kind, namespace and name of the object (so every log line of the
//! reconcile says which object it is about), the reconcile count, duration
//! and failure metrics, and the per-object back-off of failed reconciles.
//! The controllers run their reconcile through [`instrumented`] and retry
//! through [`error_policy`]; the reconciles themselves do none of this.

use std::future::Future;
use std::sync::Arc;

use kube::Resource;
use kube::runtime::controller::Action;
use tracing::Instrument;

use crate::context::Context;
use crate::error::{Error, Result};

/// Key of an object in the back-off [`crate::backoff::Tracker`].
fn backoff_key<K: Resource<DynamicType = ()>>(obj: &K) -> String {
    format!(
        "{}/{}/{}",
        K::kind(&()),
        obj.meta().namespace.as_deref().unwrap_or_default(),
        obj.meta().name.as_deref().unwrap_or_default()
    )
}

/// The span of one reconcile of `obj`.
fn span<K: Resource<DynamicType = ()>>(obj: &K) -> tracing::Span {
    tracing::info_span!(
        "reconcile",
        kind = %K::kind(&()),
        namespace = obj.meta().namespace.as_deref().unwrap_or_default(),
        name = obj.meta().name.as_deref().unwrap_or_default(),
    )
}

/// Runs `reconcile` of `obj` in its span, counting it, timing it and
/// counting its failure; resets the object's back-off when it succeeds.
pub async fn instrumented<K, F, Fut>(obj: Arc<K>, ctx: Arc<Context>, reconcile: F) -> Result<Action>
where
    K: Resource<DynamicType = ()>,
    F: FnOnce(Arc<K>, Arc<Context>) -> Fut,
    Fut: Future<Output = Result<Action>>,
{
    let kind = K::kind(&());
    let key = backoff_key(obj.as_ref());
    let span = span(obj.as_ref());
    let metrics = ctx.metrics.clone();
    metrics.reconciles.with_label_values(&[&kind]).inc();
    let timer = metrics.duration.with_label_values(&[&kind]).start_timer();
    let result = reconcile(obj, ctx.clone()).instrument(span).await;
    timer.observe_duration();
    match &result {
        Ok(_) => ctx.backoff.succeeded(&key),
        Err(_) => metrics.failures.with_label_values(&[&kind]).inc(),
    }
    result
}

/// A failed reconcile is retried after the object's next back-off delay.
pub fn error_policy<K: Resource<DynamicType = ()>>(
    obj: Arc<K>,
    error: &Error,
    ctx: Arc<Context>,
) -> Action {
    let _span = span(obj.as_ref()).entered();
    let key = backoff_key(obj.as_ref());
    let delay = ctx.backoff.failed(&key);
    tracing::warn!(object = %key, %error, retry_in_ms = delay.as_millis() as u64, "reconcile failed; retrying");
    Action::requeue(delay)
}
