//! What hipkit's tests share, so that no test file carries its own copy: the real emulator
//! started in-process ([`emulator()`]) or as the `hipkit emulator` process
//! ([`Hipkit::emulator`]), an authenticated JSON client over loopback ([`Api`], and
//! [`BlockingApi`] for synchronous tests), HipChat's error envelope ([`assert_envelope`]),
//! bounded polling ([`wait_until`], [`wait_until_async`]), a PostgreSQL server a test can
//! stop and start ([`postgres::Cluster`]) and the one function that keeps a
//! developer's `HIPCHAT_*`/`HIPKIT_*` variables away from a spawned binary ([`clear_env`]).
//!
//! A dev-dependency only: no library crate depends on it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test-only crate: its helpers fail the calling test by panicking, as assertions do"
)]

mod api;
mod blocking;
mod emulator;
mod envelope;
pub mod postgres;
mod process;
pub mod props;
pub mod synapse;
mod wait;

pub use api::{Api, Reply};
pub use blocking::BlockingApi;
pub use emulator::{Emulator, EmulatorBuilder, emulator};
pub use envelope::assert_envelope;
pub use process::{Hipkit, Proc, clear_env, is_cleared};
pub use wait::{wait_until, wait_until_async};

/// The all-scopes token the kit's emulators accept unless a test picks its own.
pub const TOKEN: &str = "testkit-all-scopes-token-0123";

/// `Hipkit` for the `hipkit` binary of the calling crate's integration tests
/// (`CARGO_BIN_EXE_hipkit`, which only those tests see).
#[macro_export]
macro_rules! hipkit_bin {
    () => {
        $crate::Hipkit::at(env!("CARGO_BIN_EXE_hipkit"))
    };
}
