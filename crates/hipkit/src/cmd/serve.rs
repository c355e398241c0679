//! `hipkit serve`: the capabilities of [`hipkit::serve::capabilities`] on one listener, with
//! the built-in emulator standing in for HipChat when no endpoint is set.

use crate::failure::Failure;
use hipkit::Settings;

/// Runs until SIGINT/SIGTERM: stops intake, then finishes or releases deliveries in flight.
pub async fn run(settings: Settings) -> Result<(), Failure> {
    let started = hipkit::serve::start(settings).await?;
    for line in started.banner() {
        println!("{line}");
    }
    started.run(hipkit_server::shutdown_signal()).await;
    Ok(())
}
