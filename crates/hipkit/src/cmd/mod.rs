//! Subcommand implementations: each resolves its [`Settings`] once, then runs.

mod check;
mod emulator;
mod integrations;
mod outbox;
mod report;
mod send;
mod serve;
mod storage;

use crate::cli::{Cli, Command};
use crate::failure::Failure;
use hipkit::{Overrides, Settings};

/// Resolves the settings for one command (flag > env > file > default).
fn settings(cli_config: Option<&std::path::Path>, flags: &Overrides) -> Result<Settings, Failure> {
    Ok(Settings::load(cli_config, flags)?)
}

/// Runs the chosen subcommand.
pub async fn run(cli: Cli) -> Result<(), Failure> {
    let file = cli.config.as_deref();
    match cli.command {
        Command::Send(args) => send::run(&args, settings(file, &args.overrides())?).await,
        Command::Emulator(args) => emulator::run(settings(file, &args.overrides())?).await,
        Command::Serve(args) => serve::run(settings(file, &args.overrides())?).await,
        Command::Report(args) => report::run(&args, settings(file, &args.overrides())?).await,
        Command::Integrations(args) => {
            integrations::run(&args, settings(file, &args.overrides())?).await
        }
        Command::Check(args) => check::run(&args, file).await,
        Command::Storage(args) => storage::run(&args, &settings(file, &Overrides::new())?).await,
        Command::Outbox(args) => {
            let settings = settings(file, &args.overrides())?;
            outbox::run(args.action, &settings).await
        }
    }
}
