//! `hipkit report`: runs the configured reporters once for one build, for any CI step.
//! Exit 0 when every report was accepted, 1 when a destination refused or stayed
//! unreachable, 2 on bad configuration or a bad build.

use crate::cli::ReportArgs;
use crate::failure::Failure;
use hipkit::Settings;
use hipkit_status::report::send_with_retries;
use hipkit_status::{Build, HistoryMode, Outgoing, Prepared, ReportError, report::ReportErrorKind};
use hipkit_transport::outbox::RetryPolicy;
use hipkit_transport::{HttpTransport, MemoryTransport, Transport};
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

/// Reads the build JSON from the file, or standard input for `-`.
fn read_build(args: &ReportArgs) -> Result<Build, Failure> {
    let bytes = if args.build.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| Failure::usage(format!("cannot read the build from stdin: {e}")))?;
        buf
    } else {
        std::fs::read(&args.build).map_err(|e| {
            Failure::usage(format!(
                "cannot read the build {}: {e}",
                args.build.display()
            ))
        })?
    };
    Build::from_json(&bytes).map_err(|e| Failure::usage(format!("bad build JSON: {e}")))
}

/// A reporter that could not prepare: a template or hook (exit 2) or the store (exit 1).
fn prepare_failure(failures: &[ReportError]) -> Option<Failure> {
    let text = failures
        .iter()
        .map(ReportError::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    if failures.is_empty() {
        None
    } else if failures
        .iter()
        .all(|f| !matches!(f.kind, ReportErrorKind::History(_)))
    {
        Some(Failure::usage(text))
    } else {
        Some(Failure::runtime(text))
    }
}

/// `hipkit report`'s own short retry budget: `--attempts`, waits from 0.5 s growing to
/// `--max-wait` (not the outbox's 10 attempts over minutes: a CI step must not hang).
fn retry_policy(args: &ReportArgs) -> RetryPolicy {
    RetryPolicy {
        max_attempts: args.attempts,
        min_delay: Duration::from_millis(500).min(args.max_wait),
        max_delay: args.max_wait,
        ..RetryPolicy::default()
    }
}

/// Sends each report with `hipkit report`'s retry budget; every failure is reported.
async fn deliver(args: &ReportArgs, outgoing: &[Outgoing]) -> Result<(), Failure> {
    let policy = retry_policy(args);
    let mut errors = Vec::new();
    for report in outgoing {
        match send_with_retries(report, &policy).await {
            Ok(delivery) if args.verbose => println!(
                "reported: {} -> {} ({})",
                report.reporter,
                report.destination(),
                delivery.id
            ),
            Ok(_) => {}
            Err(e) => errors.push(format!(
                "reporter {} -> {}: {e}",
                report.reporter,
                report.destination()
            )),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Failure::runtime(errors.join("\n")))
    }
}

/// Runs `hipkit report`.
pub async fn run(args: &ReportArgs, settings: Settings) -> Result<(), Failure> {
    let build = read_build(args)?;
    let (transport, history): (Result<Arc<dyn Transport>, _>, _) = if args.dry_run {
        (Ok(Arc::new(MemoryTransport::new())), HistoryMode::ReadOnly)
    } else {
        let client = settings.hipchat.build();
        let transport = client.map(|c| Arc::new(HttpTransport::new(c)) as Arc<dyn Transport>);
        (transport, HistoryMode::Record)
    };
    let reporters = settings
        .reporters
        .one_shot(&settings.hipchat, &settings.store, transport, history)
        .await?;
    if reporters.is_empty() {
        return Err(Failure::usage(
            "no reporters configured: add [[reporters.hipchat]] or [[reporters.http]] to hipkit.toml",
        ));
    }
    let Prepared { outgoing, failures } = reporters.prepare(&build, args.event).await;
    if args.dry_run {
        for report in &outgoing {
            println!("{}", report.describe());
        }
        if outgoing.is_empty() {
            println!("# nothing to send for this build (modes, filters, or no destination)");
        }
    } else {
        deliver(args, &outgoing).await?;
    }
    prepare_failure(&failures).map_or(Ok(()), Err)
}
