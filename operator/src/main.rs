//! `yunhui-operator`: the operator binary (settings from flags/env).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use yunhui_operator::OperatorConfig;
use yunhui_operator::telemetry::{self, Health, Metrics};

#[derive(Parser)]
#[command(
    name = "yunhui-operator",
    version,
    about = "Yunhui Kubernetes operator"
)]
struct Args {
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, env = "YUNHUI_OPERATOR_LISTEN", default_value = "0.0.0.0:8080")]
    listen: SocketAddr,
    /// Identity in the leader Lease (the pod name).
    #[arg(long, env = "POD_NAME", default_value = "yunhui-operator")]
    identity: String,
    /// Namespace of the leader Lease (the operator's namespace).
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    namespace: String,
    /// Name of the leader-election Lease.
    #[arg(
        long,
        env = "YUNHUI_OPERATOR_LEASE_NAME",
        default_value = "yunhui-operator"
    )]
    lease_name: String,
    /// Label selector: reconcile only resources that match (sharding).
    #[arg(long, env = "YUNHUI_OPERATOR_SELECTOR")]
    selector: Option<String>,
    /// Seconds a Lease stays valid without renewal.
    #[arg(long, env = "YUNHUI_OPERATOR_LEASE_SECONDS", default_value_t = 15)]
    lease_seconds: u64,
    /// Global pause switch: reconcile nothing.
    #[arg(long, env = "YUNHUI_OPERATOR_PAUSED", default_value_t = false)]
    paused: bool,
    /// Most reconciles of one kind at once (0: no limit).
    #[arg(long, env = "YUNHUI_OPERATOR_CONCURRENCY", default_value_t = 16)]
    concurrency: u16,
    /// Default image registry of the services.
    #[arg(
        long,
        env = "YUNHUI_IMAGE_REGISTRY",
        default_value = "registry.yunhui.dev/yunhui"
    )]
    image_registry: String,
    /// Default imagePullSecrets of the services' pods, comma-separated
    /// Secret names (the chart passes its own `imagePullSecrets`).
    #[arg(long, env = "YUNHUI_IMAGE_PULL_SECRETS", value_delimiter = ',')]
    image_pull_secrets: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let client = kube::Client::try_default().await?;
    let metrics = Metrics::new()?;
    let health = Arc::new(Health::default());
    let config = OperatorConfig {
        identity: args.identity,
        lease_namespace: args.namespace,
        lease_name: args.lease_name,
        selector: args.selector,
        lease_duration: Duration::from_secs(args.lease_seconds),
        paused: args.paused,
        default_registry: args.image_registry,
        default_pull_secrets: args
            .image_pull_secrets
            .into_iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        concurrency: args.concurrency,
        ..OperatorConfig::default()
    };
    // SIGTERM handled from here on, also during start-up.
    let shutdown = yunhui_runtime::shutdown_signal();
    let server = tokio::spawn(telemetry::serve(
        args.listen,
        metrics.clone(),
        health.clone(),
    ));
    tokio::select! {
        r = yunhui_operator::run(client, config, metrics, health) => r?,
        r = server => r??,
        _ = shutdown => {}
    }
    Ok(())
}
