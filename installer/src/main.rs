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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Up(args) => yunhui_installer::up::run(args).await,
    }
}
