//! `yunhui-sfu`: one SFU node, standalone, with its internal HTTP API.

use std::net::{IpAddr, SocketAddr};

use anyhow::Context;
use clap::Parser;
use yunhui_sfu::internal_api::internal_router;
use yunhui_sfu::{Sfu, SfuConfig};

/// Runs one Yunhui SFU node.
#[derive(Parser)]
#[command(name = "yunhui-sfu", version, about)]
struct Args {
    /// UDP address of the node's single media port.
    #[arg(long, default_value = "0.0.0.0:7882")]
    udp_listen: SocketAddr,
    /// IP address clients are told to send media to.
    #[arg(long)]
    advertised_ip: IpAddr,
    /// TCP address of the internal API, health checks and metrics.
    #[arg(long, default_value = "0.0.0.0:7880")]
    http_listen: SocketAddr,
    /// Shared key signal presents on the internal API.
    #[arg(long, env = "YUNHUI_INTERNAL_KEY", hide_env_values = true)]
    internal_key: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(yunhui_sfu::log_filter())
        .init();
    let args = Args::parse();
    let registry = prometheus::Registry::new();
    let sfu = Sfu::start(SfuConfig {
        udp_listen: args.udp_listen,
        advertised_ip: args.advertised_ip,
        registry,
    })
    .await
    .context("starting the SFU")?;
    let listener = tokio::net::TcpListener::bind(args.http_listen)
        .await
        .with_context(|| format!("binding the internal API on {}", args.http_listen))?;
    tracing::info!(http = %args.http_listen, "internal API listening");
    axum::serve(listener, internal_router(sfu.clone(), &args.internal_key))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving the internal API")?;
    sfu.shutdown().await;
    Ok(())
}
