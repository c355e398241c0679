//! `hipkit emulator`: the local HipChat API v2 server.

use crate::failure::Failure;
use hipkit::Settings;

/// Runs until SIGINT/SIGTERM.
pub async fn run(settings: Settings) -> Result<(), Failure> {
    let running = hipkit_emulator::start(settings.emulator)
        .await
        .map_err(Failure::runtime)?;
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
    hipkit_server::shutdown_signal().await;
    running.shutdown().await;
    Ok(())
}
