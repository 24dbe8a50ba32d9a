//! `yunhui`: the Yunhui command line.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "yunhui",
    version,
    about = "Yunhui video meetings: run, bundle and install the platform"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole platform on this machine (signal + SFU, embedded database).
    Up(yunhui_installer::up::UpArgs),
    /// Check whether this host can run Yunhui (OS, CPU, kernel, cgroup, disk, ports, time).
    Preflight(yunhui_installer::preflight::PreflightArgs),
    /// Build, verify and sign air-gapped bundles.
    Bundle(yunhui_installer::bundle::BundleArgs),
    /// Serve a bundle's images as a read-only registry, or push them into one.
    Registry(yunhui_installer::registry::RegistryArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Up(args) => yunhui_installer::up::run(args).await,
        Command::Preflight(args) => {
            if !yunhui_installer::preflight::run(args)? {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Bundle(args) => Ok(yunhui_installer::bundle::run(args)?),
        Command::Registry(args) => Ok(yunhui_installer::registry::run(args).await?),
    }
}
