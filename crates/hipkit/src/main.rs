//! `hipkit`: send HipChat messages, run the HipChat emulator, serve the send API and its
//! durable outbox. A thin binary over the hipkit library and its capability crates.

mod cli;
mod cmd;
mod failure;
mod logging;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // Flushes the `[log]` room's pending records when main returns.
    let _room_log = match logging::init(&cli) {
        Ok(guard) => guard,
        Err(failure) => {
            eprintln!("hipkit: {failure}");
            return ExitCode::from(failure.exit_code());
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hipkit: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(cmd::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("hipkit: {failure}");
            ExitCode::from(failure.exit_code())
        }
    }
}
