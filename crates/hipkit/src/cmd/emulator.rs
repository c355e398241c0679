//! `hipkit emulator`: the local HipChat API v2 server.

use crate::cli::EmulatorArgs;
use crate::failure::Failure;
use hipkit_emulator::{EmulatorConfig, RateSpec, TokenSpec};

fn usage<E: std::fmt::Display>(e: E) -> Failure {
    Failure::Usage(e.to_string())
}

/// Turns flags into the emulator's config.
pub fn config(args: &EmulatorArgs) -> Result<EmulatorConfig, Failure> {
    let tokens = args
        .tokens
        .iter()
        .map(|t| t.parse::<TokenSpec>().map_err(usage))
        .collect::<Result<Vec<_>, _>>()?;
    let rate = |v: &Option<String>| {
        v.as_deref()
            .map(str::parse::<RateSpec>)
            .transpose()
            .map_err(usage)
    };
    Ok(EmulatorConfig {
        listen: args.listen,
        tokens,
        rooms: args.rooms.clone(),
        users: args.users.clone(),
        tls: args.tls,
        rate_limit: rate(&args.rate_limit)?,
        flood_limit: rate(&args.flood_limit)?,
        max_body: args.max_body,
        ..EmulatorConfig::default()
    })
}

/// Runs until SIGINT/SIGTERM.
pub async fn run(args: EmulatorArgs) -> Result<(), Failure> {
    let running = hipkit_emulator::start(config(&args)?)
        .await
        .map_err(|e| Failure::Runtime(e.to_string()))?;
    println!("hipkit emulator listening on {}", running.base_url);
    println!("  API:    {}/v2/", running.base_url);
    if let Some(token) = &running.generated_token {
        println!("  generated token (all scopes): {token}");
        println!(
            "  export HIPCHAT_ENDPOINT={} HIPCHAT_API_TOKEN={token}",
            running.base_url
        );
    }
    println!("  web UI: {}/", running.base_url);
    super::shutdown_signal().await;
    running.shutdown().await;
    Ok(())
}
