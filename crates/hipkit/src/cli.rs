//! Command-line interface (every flag also readable from the environment where natural).

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// HipChat integration suite: send messages, emulate HipChat, deliver reliably.
#[derive(Debug, Parser)]
#[command(name = "hipkit", version, about)]
pub struct Cli {
    /// Configuration file (TOML); default `hipkit.toml` in the current directory if present.
    #[arg(long, global = true, env = "HIPKIT_CONFIG")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send a room notification, or a private message with --user.
    Send(SendArgs),
    /// Run the local HipChat API v2 emulator.
    Emulator(EmulatorArgs),
    /// Run the service: send API, durable outbox and its workers (built-in emulator if no endpoint).
    Serve(ServeArgs),
    /// Inspect and repair the outbox (same store as `serve`).
    Outbox(OutboxArgs),
}

/// `hipkit serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "HIPKIT_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// SQLite database file for the outbox [default: hipkit.db].
    #[arg(long, env = "HIPKIT_STORE")]
    pub store: Option<PathBuf>,
    /// Delivery backend: outbox (default), http, memory, null, file, or a djhipchat2 path.
    #[arg(long, env = "HIPCHAT_BACKEND")]
    pub backend: Option<String>,
    /// Deliveries in flight at once [default: 8].
    #[arg(long, env = "HIPKIT_CONCURRENCY")]
    pub concurrency: Option<usize>,
    /// HipChat server and token (no endpoint: start the built-in emulator).
    #[command(flatten)]
    pub server: ServerArgs,
}

/// `hipkit outbox`.
#[derive(Debug, Args)]
pub struct OutboxArgs {
    /// SQLite database file [default: hipkit.db].
    #[arg(long, global = true, env = "HIPKIT_STORE")]
    pub store: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub action: OutboxAction,
}

/// Outbox actions.
#[derive(Debug, Subcommand)]
pub enum OutboxAction {
    /// List messages (oldest first).
    List {
        /// Only this state: queued, in_flight, delivered or dead.
        #[arg(long)]
        state: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Queue a message (or every dead one) again with a fresh attempt budget.
    Retry {
        /// The message id.
        #[arg(required_unless_present = "all_dead", conflicts_with = "all_dead")]
        id: Option<String>,
        /// Every dead message.
        #[arg(long)]
        all_dead: bool,
    },
    /// Delete delivered messages older than a duration (e.g. 7d, 12h, 30m).
    Purge {
        /// Age of the oldest delivered message to keep.
        #[arg(long, value_parser = humantime::parse_duration)]
        delivered_before: std::time::Duration,
    },
}

/// Where the HipChat server is and how to authenticate.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// HipChat base URL, e.g. https://hipchat.example.com [default: http://127.0.0.1:8180, the emulator].
    #[arg(long, env = "HIPCHAT_ENDPOINT")]
    pub endpoint: Option<String>,
    /// API token (prefer the environment variable: flags show up in `ps`).
    #[arg(long, env = "HIPCHAT_API_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Accept invalid TLS certificates (self-signed test servers only).
    #[arg(long)]
    pub insecure: bool,
    /// Request timeout in seconds.
    #[arg(long)]
    pub timeout: Option<u64>,
}

/// `hipkit send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// Room id or name (omit with --user).
    pub room: Option<String>,
    /// Message text; `-` or absent reads standard input.
    pub message: Option<String>,
    /// Send a private message to this user (id, email or @mention) instead.
    #[arg(long)]
    pub user: Option<String>,
    /// Sender label shown on room notifications (at most 64 characters).
    #[arg(long = "from", env = "HIPCHAT_DEFAULT_SENDER")]
    pub from: Option<String>,
    /// Message format.
    #[arg(long, value_parser = ["text", "html"])]
    pub format: Option<String>,
    /// Notification colour.
    #[arg(long, value_parser = ["yellow", "green", "red", "purple", "gray", "random"])]
    pub color: Option<String>,
    /// Notify the room's (or user's) participants.
    #[arg(long)]
    pub notify: bool,
    /// Server and token.
    #[command(flatten)]
    pub server: ServerArgs,
}

/// `hipkit emulator`.
#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8180", env = "HIPKIT_EMULATOR_LISTEN")]
    pub listen: SocketAddr,
    /// Accepted token, `TOKEN[:scope,scope...]` (no scopes = all); repeatable.
    #[arg(long = "token")]
    pub tokens: Vec<String>,
    /// Room to create at start; repeatable.
    #[arg(long = "room")]
    pub rooms: Vec<String>,
    /// User (email) to create at start; repeatable.
    #[arg(long = "user")]
    pub users: Vec<String>,
    /// Serve HTTPS with a self-signed certificate.
    #[arg(long)]
    pub tls: bool,
    /// Enforce a per-token limit, `N/SECONDS` (default: report 500/300 without enforcing).
    #[arg(long)]
    pub rate_limit: Option<String>,
    /// Enforce per-recipient flood control, `N/SECONDS` (default: report 30/60 without enforcing).
    #[arg(long)]
    pub flood_limit: Option<String>,
    /// Largest accepted JSON body in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    pub max_body: usize,
}
