//! A small service logging to a HipChat room: one record at each level (with a field and a
//! span), then one error 500 times in a tight loop, then exit through the guard.
//!
//! ```sh
//! HIPCHAT_ENDPOINT=http://127.0.0.1:8180 HIPCHAT_API_TOKEN=... HIPKIT_LOG_ROOM="Build Room" \
//!     cargo run -p hipkit-log --example log_to_room
//! ```

use std::env::var;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (room_layer, guard) = hipkit_log::builder(var("HIPKIT_LOG_ROOM")?)
        .endpoint(
            var("HIPCHAT_ENDPOINT")?,
            hipchat::Token::new(var("HIPCHAT_API_TOKEN")?),
        )
        .level(tracing::Level::INFO)
        .sender("log_to_room")
        .build()?;
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_filter(LevelFilter::INFO))
        .with(room_layer)
        .init();

    let _order = tracing::info_span!("order", id = 42).entered();
    tracing::trace!(step = 1, "trace: not posted (below INFO)");
    tracing::debug!(step = 2, "debug: not posted (below INFO)");
    tracing::info!(step = 3, "order received");
    tracing::warn!(step = 4, "payment slow");
    tracing::error!(step = 5, "payment failed");
    for attempt in 0..500 {
        tracing::error!(attempt, "card processor unreachable");
    }

    let report = guard.shutdown(std::time::Duration::from_secs(10));
    eprintln!("delivered {report:?}");
    Ok(())
}
