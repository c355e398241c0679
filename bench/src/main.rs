//! `hipkit-bench`: measures the real binaries over loopback and prints ratios against a
//! baseline measured in the same run. `bench/run` builds in release mode and calls this.

mod bridge;
mod client;
mod integrations;
mod load;
mod process;
mod relay;
mod replicas;
mod serve;
mod soak;
mod takeover;
mod ui;

use anyhow::{Context, Result, bail};
use std::path::PathBuf;

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "client".into());
    // `hook` loads a server already running: it takes no binary.
    let hipkit = if which == "hook" {
        default_binary()
    } else {
        args.next()
            .map(PathBuf::from)
            .unwrap_or_else(default_binary)
    };
    let seconds: f64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);
    if !hipkit.exists() {
        bail!(
            "{} not found: build it with cargo build --release -p hipkit",
            hipkit.display()
        );
    }
    let report = match which.as_str() {
        "client" => client::run(&hipkit, seconds)
            .await
            .context("client benchmark")?,
        "serve" => serve::run(&hipkit, seconds)
            .await
            .context("serve benchmark")?,
        "relay" => relay::run(&hipkit, seconds)
            .await
            .context("relay benchmark")?,
        "ui" => ui::run(&hipkit).await.context("web UI benchmark")?,
        "bridge" => bridge::run(&hipkit, seconds)
            .await
            .context("bridge benchmark")?,
        "integrations" => integrations::run(&hipkit, seconds)
            .await
            .context("integrations benchmark")?,
        "soak" => {
            let minutes = env_number("SOAK_MINUTES", 5.0)? as u64;
            let rate = env_number("SOAK_RATE", 30.0)?;
            soak::run(&hipkit, minutes.max(1), rate).await?
        }
        "hello" => {
            integrations::serve_hello().await?;
            return Ok(());
        }
        "hook" => {
            let [url, pid, message] = [args.next(), args.next(), args.next()];
            let (Some(url), Some(pid), Some(message)) = (url, pid, message) else {
                bail!("usage: hipkit-bench hook URL PID MESSAGE");
            };
            integrations::load_only(&url, pid.parse().context("PID")?, &message, seconds)
                .await
                .context("webhook load")?
        }
        "replicas" => replicas::run(&hipkit, seconds)
            .await
            .context("replicas benchmark")?,
        "takeover" => takeover::run(&hipkit).await.context("takeover benchmark")?,
        "intake" => serve::intake_only(&hipkit, seconds)
            .await
            .context("intake benchmark")?,
        "drain" => {
            let workers = std::env::var("BENCH_WORKERS").unwrap_or_else(|_| "64".into());
            let count = std::env::var("BENCH_BACKLOG")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(10_000);
            serve::drain_only(&hipkit, &workers, count)
                .await
                .context("drain benchmark")?
        }
        other => bail!(
            "unknown benchmark {other}; expected: client, serve, relay, ui, integrations, bridge, replicas, takeover, hook, intake, drain or soak"
        ),
    };
    println!("{report}");
    Ok(())
}

/// `target/release/hipkit` next to this benchmark binary.
fn default_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("hipkit")))
        .unwrap_or_else(|| PathBuf::from("target/release/hipkit"))
}

/// A positive number from the environment variable `name`, or `default` when it is unset.
fn env_number(name: &str, default: f64) -> Result<f64> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(v) => match v.parse::<f64>() {
            Ok(n) if n > 0.0 => Ok(n),
            _ => bail!("{name}={v:?}: expected a positive number"),
        },
    }
}
