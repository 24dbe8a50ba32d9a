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

/// The span of one reconcile of `obj`: its kind, namespace and name.
fn span<K: Resource<DynamicType = ()>>(obj: &K) -> tracing::Span {
    tracing::info_span!(
        "reconcile",
        kind = %K::kind(&()),
        namespace = obj.meta().namespace.as_deref().unwrap_or_default(),
        // `name` would clash with the span's own name in JSON logs.
        object = obj.meta().name.as_deref().unwrap_or_default(),
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

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Mutex;

    use yunhui_crds::MediaCluster;

    use super::*;
    use crate::context::OperatorConfig;
    use crate::telemetry::Metrics;

    /// A context whose client points nowhere: these reconciles make no request.
    fn context() -> Arc<Context> {
        let config = kube::Config::new("http://127.0.0.1:9".parse().expect("url"));
        let client = kube::Client::try_from(config).expect("client");
        let metrics = Metrics::new().expect("metrics");
        let (caches, _, _) = crate::cache::Caches::new(&client);
        Arc::new(Context::new(
            client,
            caches,
            metrics,
            OperatorConfig::default(),
        ))
    }

    fn cluster() -> Arc<MediaCluster> {
        Arc::new(
            serde_json::from_value(serde_json::json!({
                "apiVersion": "yunhui.dev/v1alpha1", "kind": "MediaCluster",
                "metadata": {"name": "prod", "namespace": "meet"}, "spec": {}
            }))
            .expect("fixture"),
        )
    }

    /// Log lines, as the JSON the operator writes.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut lines) = self.0.lock() {
                lines.extend_from_slice(buf);
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// One test, so that no other test runs the span's callsite without a
    /// subscriber meanwhile.
    #[tokio::test]
    async fn every_reconcile_is_counted_timed_logged_in_its_objects_span_and_backs_off() {
        let ctx = context();
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(move || writer.clone())
            .finish();
        let _logs = tracing::subscriber::set_default(subscriber);

        let ok = instrumented(cluster(), ctx.clone(), |_, _| async {
            tracing::info!("inside");
            Ok(Action::await_change())
        })
        .await;
        assert!(ok.is_ok());
        let failed = instrumented(cluster(), ctx.clone(), |_, _| async {
            Err(Error::NoNamespace("test".into()))
        })
        .await;
        assert!(failed.is_err());

        let metrics = &ctx.metrics;
        assert_eq!(metrics.reconciles_of("MediaCluster"), 2);
        assert_eq!(
            metrics.failures.with_label_values(&["MediaCluster"]).get(),
            1
        );
        assert_eq!(
            metrics
                .duration
                .with_label_values(&["MediaCluster"])
                .get_sample_count(),
            2
        );
        let text = String::from_utf8(lines.0.lock().map(|l| l.clone()).unwrap_or_default())
            .expect("utf-8");
        let line: serde_json::Value = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .find(|l: &serde_json::Value| l["fields"]["message"] == "inside")
            .expect("the reconcile's log line");
        assert_eq!(
            line["span"],
            serde_json::json!({"name": "reconcile", "kind": "MediaCluster", "namespace": "meet", "object": "prod"})
        );

        // A failure backs off; a success resets it.
        let ctx = context();
        let key = "MediaCluster/meet/prod";
        let _ = error_policy(cluster(), &Error::NoNamespace("test".into()), ctx.clone());
        assert_eq!(ctx.backoff.failures(key), 1);
        let _ = instrumented(cluster(), ctx.clone(), |_, _| async {
            Ok(Action::await_change())
        })
        .await;
        assert_eq!(ctx.backoff.failures(key), 0);
    }
}
