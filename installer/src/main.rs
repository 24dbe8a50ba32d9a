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
    /// Install the platform on a Kubernetes cluster from a bundle (SITE.yaml).
    Install(yunhui_installer::install::SiteArgs),
    /// Upgrade an installed site to a new bundle or site file; a failure rolls back.
    Upgrade(yunhui_installer::install::SiteArgs),
    /// Remove exactly what install created (the inventory), nothing else.
    Uninstall(yunhui_installer::install::SiteArgs),
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
        Command::Install(args) => Ok(yunhui_installer::install::run(
            args,
            Some(yunhui_installer::install::Mode::Install),
        )
        .await?),
        Command::Upgrade(args) => Ok(yunhui_installer::install::run(
            args,
            Some(yunhui_installer::install::Mode::Upgrade),
        )
        .await?),
        Command::Uninstall(args) => Ok(yunhui_installer::install::run(args, None).await?),
    }
}
