//! Where `hipkit` writes its own log: stderr, filtered by `HIPKIT_LOG` (default `warn`), and
//! for `serve` with `[log] room` set, that room too (hipkit-log), posting through a client
//! built from `[hipchat]` straight to HipChat (not through the outbox, whose own warnings
//! are what the room is for).

use crate::cli::{Cli, Command};
use crate::failure::Failure;
use hipkit::Settings;
use hipkit_log::{FilteredRoomLayer, LogGuard};
use hipkit_transport::HttpTransport;
use std::sync::Arc;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, fmt};

/// Installs the process's subscriber; the guard (if a room is configured) flushes on drop.
pub fn init(cli: &Cli) -> Result<Option<LogGuard>, Failure> {
    let (room, guard) = room_layer(cli)?.unzip();
    // The integrations server logs each call and what integrations log (the seed printed it).
    let default = match &cli.command {
        Command::Integrations(_) => "warn,hipkit_integrations=info",
        _ => "warn",
    };
    let stderr_filter =
        EnvFilter::try_from_env("HIPKIT_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let writer = match &cli.command {
        Command::Integrations(args) => match &args.logfile {
            Some(path) => BoxMakeWriter::new(Arc::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| {
                        Failure::usage(format!("cannot open the log file {}: {e}", path.display()))
                    })?,
            )),
            None => BoxMakeWriter::new(std::io::stderr),
        },
        _ => BoxMakeWriter::new(std::io::stderr),
    };
    let to_file = matches!(&cli.command, Command::Integrations(a) if a.logfile.is_some());
    tracing_subscriber::registry()
        .with(
            fmt::layer()
                .with_writer(writer)
                .with_ansi(!to_file)
                .with_filter(stderr_filter),
        )
        .with(room)
        .init();
    Ok(guard)
}

/// The room layer for `serve` when `[log] room` is set. Settings that do not load are left
/// for the command to report, with its exit code.
fn room_layer<S>(cli: &Cli) -> Result<Option<(FilteredRoomLayer<S>, LogGuard)>, Failure>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let Command::Serve(args) = &cli.command else {
        return Ok(None);
    };
    let Ok(settings) = Settings::load(cli.config.as_deref(), &args.overrides()) else {
        return Ok(None);
    };
    if settings.log.room.is_none() {
        return Ok(None);
    }
    let mut config = settings.log.clone();
    config.sender = config.sender.or(settings.hipchat.default_sender.clone());
    let client = settings
        .hipchat
        .build()
        .map_err(|e| Failure::usage(format!("[log] room is set, but {e}")))?;
    config
        .build(Arc::new(HttpTransport::new(client)))
        .map_err(|e| Failure::usage(e.to_string()))
}
