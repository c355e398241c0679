//! Subcommand implementations.

mod emulator;
mod outbox;
mod send;
mod serve;

use crate::cli::{Cli, Command};
use crate::failure::Failure;

/// Runs the chosen subcommand.
pub async fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Send(args) => {
            let file = crate::config::load(cli.config.as_deref())?;
            send::run(args, file).await
        }
        Command::Emulator(args) => emulator::run(args).await,
        Command::Serve(args) => {
            let file = crate::config::load(cli.config.as_deref())?;
            serve::run(args, file).await
        }
        Command::Outbox(args) => {
            let file = crate::config::load(cli.config.as_deref())?;
            outbox::run(args, file).await
        }
    }
}

/// Resolves when SIGINT or SIGTERM arrives.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
