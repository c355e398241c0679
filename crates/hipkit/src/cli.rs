//! Command-line interface. Flags are the top layer of [`hipkit::Settings`]; the environment
//! names in each flag's help are read by the settings, not by clap, so precedence lives in
//! one place (flag > env > hipkit.toml > default).

use clap::{Args, Parser, Subcommand};
use hipchat::{Color, MessageFormat};
use hipkit::Overrides;
use hipkit_emulator::RateSpec;
use hipkit_store::State;
use hipkit_transport::BackendKind;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// HipChat integration suite: send messages, emulate HipChat, deliver reliably.
#[derive(Debug, Parser)]
#[command(name = "hipkit", version, about, after_help = HIPKIT_EXAMPLES)]
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
    #[command(after_help = SEND_EXAMPLES)]
    Send(SendArgs),
    /// Run the local HipChat API v2 emulator.
    #[command(after_help = EMULATOR_EXAMPLES)]
    Emulator(EmulatorArgs),
    /// Run the service: send API, durable outbox and its workers (built-in emulator if no endpoint).
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),
    /// Inspect and repair the outbox (same store as `serve`).
    #[command(after_help = OUTBOX_EXAMPLES)]
    Outbox(OutboxArgs),
    /// Report one build with the configured reporters ([[reporters.*]]): for any CI step.
    #[command(after_help = REPORT_EXAMPLES)]
    Report(ReportArgs),
    /// Run slash-command integrations from a folder (the Python integrations server's
    /// command line works as it is).
    #[command(override_usage = INTEGRATIONS_USAGE, after_help = INTEGRATIONS_EXAMPLES)]
    Integrations(IntegrationsArgs),
    /// Export, import or erase an integration's storage on a running server (admin token).
    #[command(after_help = STORAGE_EXAMPLES)]
    Storage(StorageArgs),
    /// Check the configuration, reporters, store, HipChat endpoint and token, Python and
    /// every integration: one line per check; exit 1 if any fails.
    #[command(visible_alias = "doctor", after_help = CHECK_EXAMPLES)]
    Check(CheckArgs),
    /// Print the effective settings of a command, each with where it came from (flag,
    /// environment variable, file:line, default); secrets redacted.
    #[command(after_help = CONFIG_EXAMPLES)]
    Config(ConfigArgs),
}

/// `hipkit config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ConfigFormat::Toml)]
    pub format: ConfigFormat,
    /// The command whose settings to show, with its flags (none: no flags).
    #[command(subcommand)]
    pub of: Option<ConfigOf>,
}

/// `hipkit config`'s output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ConfigFormat {
    /// TOML, each value followed by a `# source` comment.
    Toml,
    /// One JSON object: each dotted key to `{"value", "source"}`.
    Json,
}

/// The commands `hipkit config` can show the settings of, with the same flags.
#[derive(Debug, Subcommand)]
pub enum ConfigOf {
    /// `hipkit serve`'s settings.
    Serve(ServeArgs),
    /// `hipkit send`'s settings.
    Send(SendArgs),
    /// `hipkit emulator`'s settings.
    Emulator(EmulatorArgs),
    /// `hipkit integrations`' settings.
    #[command(override_usage = INTEGRATIONS_USAGE)]
    Integrations(IntegrationsArgs),
    /// `hipkit check`'s settings.
    Check(CheckArgs),
}

impl ConfigArgs {
    /// The flags of the command shown.
    pub fn overrides(&self) -> Overrides {
        match &self.of {
            None => Overrides::new(),
            Some(ConfigOf::Serve(a)) => a.overrides(),
            Some(ConfigOf::Send(a)) => a.overrides(),
            Some(ConfigOf::Emulator(a)) => a.overrides(),
            Some(ConfigOf::Integrations(a)) => a.overrides(),
            Some(ConfigOf::Check(a)) => a.overrides(),
        }
    }
}

// Each subcommand's --help ends with real examples; crates/hipkit/tests/help_examples.rs
// parses every one with this parser and runs those that work offline against the emulator.

/// `hipkit --help`'s examples.
const HIPKIT_EXAMPLES: &str = "\
Examples:
  hipkit emulator                                   # a local HipChat to try things on
  hipkit send \"Build Room\" \"deployed\" --color green   # HIPCHAT_ENDPOINT, HIPCHAT_API_TOKEN
  hipkit serve --config /etc/hipkit/hipkit.toml     # the service (the package's unit runs this)";

/// `hipkit send --help`'s examples.
const SEND_EXAMPLES: &str = "\
Examples:
  hipkit send \"Build Room\" \"deployed <b>v2.1</b>\" --color green --notify
  echo \"disk 91% full\" | hipkit send Ops --format text --from monitor
  hipkit send --user ops@example.com \"your build is done\"

The server and token come from HIPCHAT_ENDPOINT and HIPCHAT_API_TOKEN (or hipkit.toml).";

/// `hipkit emulator --help`'s examples.
const EMULATOR_EXAMPLES: &str = "\
Examples:
  hipkit emulator                                   # http://127.0.0.1:8180, prints a token
  hipkit emulator --listen 127.0.0.1:0 --token s3cret --room Ops --user ops@example.com
  hipkit emulator --rate-limit 100/300 --flood-limit 30/60 --retention 200";

/// `hipkit serve --help`'s examples.
const SERVE_EXAMPLES: &str = "\
Examples:
  hipkit serve                                      # with the built-in emulator, to try it
  hipkit serve --endpoint https://hipchat.example.com --listen 127.0.0.1:8080
  hipkit serve --config /etc/hipkit/hipkit.toml --store /var/lib/hipkit/hipkit.db

The token comes from HIPCHAT_API_TOKEN (or [hipchat] token). Check a configuration first with
hipkit check --config FILE.";

/// `hipkit outbox --help`'s examples.
const OUTBOX_EXAMPLES: &str = "\
Examples:
  hipkit outbox list --state dead
  hipkit outbox retry --all-dead
  hipkit outbox purge --delivered-before 7d";

/// `hipkit report --help`'s examples.
const REPORT_EXAMPLES: &str = "\
Examples:
  hipkit report --event started --build build.json
  hipkit report --event finished --build - < build.json
  hipkit report --event finished --build build.json --dry-run   # print the requests only";

/// `hipkit integrations --help`'s examples.
const INTEGRATIONS_EXAMPLES: &str = "\
Examples:
  hipkit integrations 8080 ./integrations upload:GLOBAL_TOKEN 123:echo:ROOM_TOKEN
  hipkit integrations -p 8080 -i ./integrations -l integrations.log
  hipkit integrations --listen 127.0.0.1:8081 --integrations ./integrations --tokens-file tokens.txt";

/// `hipkit storage --help`'s examples.
const STORAGE_EXAMPLES: &str = "\
Examples:
  hipkit storage export echo --output echo.json
  hipkit storage import echo echo.json
  hipkit storage --url http://127.0.0.1:8080 erase echo

The admin token is [serve] api_token (HIPKIT_SERVE__API_TOKEN), as the server has it.";

/// `hipkit check --help`'s examples.
const CHECK_EXAMPLES: &str = "\
Examples:
  hipkit check                                      # ./hipkit.toml and HIPCHAT_* variables
  hipkit check --store hipkit.db --integrations integrations
  hipkit check --config /etc/hipkit/hipkit.toml     # what the packaged service uses

Exit status 0 when every check passes, 1 when one fails. Also spelled hipkit doctor.";

/// `hipkit config --help`'s examples.
const CONFIG_EXAMPLES: &str = "\
Examples:
  hipkit config serve                               # what serve would run with, and why
  hipkit config --format json send Builds        # send with a room given
  hipkit config check --config /etc/hipkit/hipkit.toml   # the packaged service's file

Secrets (tokens, passwords, keys, URL paths and query values) are shown as <redacted>.";

/// The seed's two command-line forms, kept.
const INTEGRATIONS_USAGE: &str = "hipkit integrations [OPTIONS] PORT INTEGRATIONS_PATH \
[NAME:TOKEN | ROOM_ID:INTEGRATION:TOKEN]...
       hipkit integrations [OPTIONS] -p PORT -i PATH [-t TOKEN...] [-l LOGFILE]";

/// `hipkit integrations`.
#[derive(Debug, Args)]
pub struct IntegrationsArgs {
    /// Port to listen on (the seed's first argument) [default: [serve] listen's, 8080].
    #[arg(value_name = "PORT", conflicts_with = "port_flag", value_parser = parse_port)]
    pub port: Option<u16>,
    /// The integrations folder [default: [integrations] path, else the current directory].
    #[arg(value_name = "INTEGRATIONS_PATH", conflicts_with = "path_flag")]
    pub path: Option<PathBuf>,
    /// Token specs: NAME:TOKEN (global) or ROOM_ID:INTEGRATION:TOKEN (prefer a tokens file:
    /// arguments show up in `ps`).
    #[arg(value_name = "TOKEN")]
    pub tokens: Vec<String>,
    /// Port to listen on (the seed's flag form).
    #[arg(id = "port_flag", short = 'p', long = "port", value_name = "PORT", value_parser = parse_port)]
    pub port_flag: Option<u16>,
    /// The integrations folder (the seed's flag form).
    #[arg(
        id = "path_flag",
        short = 'i',
        long = "integrations",
        value_name = "PATH"
    )]
    pub path_flag: Option<PathBuf>,
    /// Token specs (the seed's flag form).
    #[arg(short = 't', long = "tokens", value_name = "TOKEN", num_args = 1..)]
    pub tokens_flag: Vec<String>,
    /// Append the log to this file instead of writing it to stderr.
    #[arg(short = 'l', long = "logfile", value_name = "LOGFILE")]
    pub logfile: Option<PathBuf>,
    /// Address to bind: an IP (with PORT) or IP:PORT [default: 127.0.0.1].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// File with one token spec per line (`#` comments).
    #[arg(long, value_name = "FILE")]
    pub tokens_file: Option<PathBuf>,
    /// SQLite database for integration storage [env: HIPKIT_STORE] [default: hipkit.db].
    #[arg(long)]
    pub store: Option<PathBuf>,
    /// HipChat server the helpers and tokens are for.
    #[command(flatten)]
    pub server: ServerArgs,
}

/// `hipkit storage`.
#[derive(Debug, Args)]
pub struct StorageArgs {
    /// The running server (`hipkit serve` or `hipkit integrations`)
    /// [default: http:// + [serve] listen].
    #[arg(long, global = true, env = "HIPKIT_URL")]
    pub url: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub action: StorageAction,
}

/// Storage actions; the admin token is `[serve] api_token` (`HIPKIT_SERVE__API_TOKEN`).
#[derive(Debug, Subcommand)]
pub enum StorageAction {
    /// Print an integration's storage as JSON (the seed's `save`).
    Export {
        /// The integration.
        integration: String,
        /// Write to this file instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Replace an integration's storage with a JSON object from FILE (`-`: stdin; the
    /// seed's `load`).
    Import {
        /// The integration.
        integration: String,
        /// The JSON file (what export wrote).
        file: PathBuf,
    },
    /// Erase an integration's storage (the seed's `erase`).
    Erase {
        /// The integration.
        integration: String,
    },
}

/// `hipkit report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// started (Buildbot's new) or finished.
    #[arg(long)]
    pub event: hipkit_status::Event,
    /// The build as JSON (Buildbot's data API shape, as HttpStatusPush sends it); `-` reads
    /// standard input.
    #[arg(long)]
    pub build: PathBuf,
    /// Print the requests that would be sent (tokens redacted) and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print each report as it is accepted.
    #[arg(long)]
    pub verbose: bool,
    /// Attempts per report before it is given up (transient failures only: unreachable,
    /// timeouts, 429, 5xx); a CI step waits at most about attempts x (--timeout + --max-wait).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub attempts: u32,
    /// Longest wait between two attempts (a server's Retry-After is honoured up to it):
    /// seconds or a duration such as 500ms.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub max_wait: Duration,
    /// SQLite database remembering previous builds for change/problem [env: HIPKIT_STORE]
    /// [default: hipkit.db].
    #[arg(long)]
    pub store: Option<PathBuf>,
    /// HipChat server and token.
    #[command(flatten)]
    pub server: ServerArgs,
}

/// `hipkit serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [env: HIPKIT_LISTEN] [default: 127.0.0.1:8080].
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// SQLite database file for the outbox [env: HIPKIT_STORE] [default: hipkit.db].
    #[arg(long)]
    pub store: Option<PathBuf>,
    /// Delivery backend: outbox (default), http, memory, null, file, or a djhipchat2 path
    /// [env: HIPCHAT_BACKEND].
    #[arg(long)]
    pub backend: Option<BackendKind>,
    /// Deliveries in flight at once [env: HIPKIT_CONCURRENCY] [default: 8].
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Start the built-in emulator even though a HipChat token is set (without an endpoint
    /// and without this, a token is refused) [config: serve.emulator].
    #[arg(long)]
    pub emulator: bool,
    /// HipChat server and token (no endpoint and no token: start the built-in emulator).
    #[command(flatten)]
    pub server: ServerArgs,
}

/// `hipkit outbox`.
#[derive(Debug, Args)]
pub struct OutboxArgs {
    /// SQLite database file [env: HIPKIT_STORE] [default: hipkit.db].
    #[arg(long, global = true)]
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
        state: Option<State>,
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
        /// Queue it even while a worker is delivering it (it may then arrive twice).
        #[arg(long, conflicts_with = "all_dead")]
        force: bool,
    },
    /// Copy what a damaged database still holds into a new file (serve must be stopped).
    Recover {
        /// The damaged database.
        damaged: PathBuf,
        /// The new database to create (must not exist); point `--store` at it afterwards.
        new: PathBuf,
    },
    /// Delete delivered messages older than a duration (e.g. 7d, 12h, 30m).
    Purge {
        /// Age of the oldest delivered message to keep.
        #[arg(long, value_parser = parse_duration)]
        delivered_before: Duration,
    },
}

/// Where the HipChat server is and how to authenticate.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// HipChat base URL, e.g. https://hipchat.example.com [env: HIPCHAT_ENDPOINT]
    /// [default: http://127.0.0.1:8180, the emulator].
    #[arg(long)]
    pub endpoint: Option<String>,
    /// API token; prefer HIPCHAT_API_TOKEN (flags show up in `ps`).
    #[arg(long)]
    pub token: Option<String>,
    /// Accept invalid TLS certificates (self-signed test servers only).
    #[arg(long)]
    pub insecure: bool,
    /// Request timeout: seconds, or a duration such as 1m30s [default: 30].
    #[arg(long, value_parser = parse_timeout)]
    pub timeout: Option<Duration>,
}

/// `hipkit check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// SQLite database file [env: HIPKIT_STORE] [default: hipkit.db].
    #[arg(long)]
    pub store: Option<PathBuf>,
    /// The integrations folder to check [default: [integrations] path].
    #[arg(long = "integrations", value_name = "PATH")]
    pub integrations: Option<PathBuf>,
    /// Also check the built-in emulator's settings ([config: serve.emulator]).
    #[arg(long)]
    pub emulator: bool,
    /// HipChat server and token to check.
    #[command(flatten)]
    pub server: ServerArgs,
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
    /// Sender label shown on room notifications, at most 64 characters
    /// [env: HIPCHAT_DEFAULT_SENDER].
    #[arg(long = "from")]
    pub from: Option<String>,
    /// Message format: text or html.
    #[arg(long)]
    pub format: Option<MessageFormat>,
    /// Notification colour: yellow, green, red, purple, gray or random.
    #[arg(long)]
    pub color: Option<Color>,
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
    /// Address to listen on; port 0 picks a free port [env: HIPKIT_EMULATOR_LISTEN]
    /// [default: 127.0.0.1:8180].
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Accepted token, `TOKEN[:scope,scope...]` (no scopes = all); repeatable.
    // Text here, checked by the settings: clap's error would quote the value, a token.
    #[arg(long = "token")]
    pub tokens: Vec<String>,
    /// Room to create at start; repeatable [default: Build Room].
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
    pub rate_limit: Option<RateSpec>,
    /// Enforce per-recipient flood control, `N/SECONDS` (default: report 30/60 without enforcing).
    #[arg(long)]
    pub flood_limit: Option<RateSpec>,
    /// Largest accepted JSON body in bytes [default: 1048576].
    #[arg(long)]
    pub max_body: Option<usize>,
    /// Messages kept per room; the oldest are dropped beyond it
    /// [env: HIPKIT_EMULATOR__RETENTION] [default: 1000].
    #[arg(long)]
    pub retention: Option<usize>,
}

/// A duration in hipkit's one syntax ([`hipchat::duration`]: `30`, `1m30s`, `7d`).
fn parse_duration(raw: &str) -> Result<Duration, String> {
    hipchat::parse_duration(raw).map_err(|e| hipchat::error_chain(&e))
}

/// A duration of at least one second.
fn parse_timeout(raw: &str) -> Result<Duration, String> {
    let duration = parse_duration(raw)?;
    if duration < Duration::from_secs(1) {
        return Err("the timeout must be at least 1 second".into());
    }
    Ok(duration)
}

/// A port number; the error repeats the usage, as the seed's scripts expect.
fn parse_port(raw: &str) -> Result<u16, String> {
    raw.parse()
        .map_err(|_| format!("not a port number (0-65535)\n\nUsage: {INTEGRATIONS_USAGE}"))
}

/// `Some(true)` for a flag that was given, so an absent flag leaves lower layers alone.
fn given(flag: bool) -> Option<bool> {
    flag.then_some(true)
}

/// A repeatable flag's values, when any were given.
fn listed<T: Clone>(values: &[T]) -> Option<Vec<T>> {
    (!values.is_empty()).then(|| values.to_vec())
}

impl ServerArgs {
    /// The `[hipchat]` values these flags set.
    pub fn overrides(&self, o: &mut Overrides) {
        o.set("--endpoint", "hipchat.endpoint", self.endpoint.as_ref())
            .set("--token", "hipchat.token", self.token.as_ref())
            .set(
                "--insecure",
                "hipchat.accept_invalid_certs",
                given(self.insecure),
            )
            // Rounded up: a sub-second remainder must not shorten the limit.
            .set(
                "--timeout",
                "hipchat.timeout_secs",
                self.timeout
                    .map(|t| t.as_secs() + u64::from(t.subsec_nanos() > 0)),
            );
    }
}

impl SendArgs {
    /// The settings these flags set.
    pub fn overrides(&self) -> Overrides {
        let mut o = Overrides::new();
        self.server.overrides(&mut o);
        o.set("--from", "hipchat.default_sender", self.from.as_ref());
        o
    }
}

impl ServeArgs {
    /// The settings these flags set.
    pub fn overrides(&self) -> Overrides {
        let mut o = Overrides::new();
        self.server.overrides(&mut o);
        o.set("--listen", "serve.listen", self.listen)
            .set("--store", "store.path", self.store.as_ref())
            .set("--backend", "delivery.backend", self.backend)
            .set("--concurrency", "delivery.concurrency", self.concurrency)
            .set(
                "--emulator",
                "serve.emulator",
                self.emulator.then_some(true),
            );
        o
    }
}

impl CheckArgs {
    /// The settings these flags set (those `serve` takes, and the integrations folder).
    pub fn overrides(&self) -> Overrides {
        let mut o = Overrides::new();
        self.server.overrides(&mut o);
        o.set("--store", "store.path", self.store.as_ref())
            .set(
                "--integrations",
                "integrations.path",
                self.integrations.as_ref(),
            )
            .set("--emulator", "serve.emulator", given(self.emulator));
        o
    }
}

impl ReportArgs {
    /// The settings these flags set.
    pub fn overrides(&self) -> Overrides {
        let mut o = Overrides::new();
        self.server.overrides(&mut o);
        o.set("--store", "store.path", self.store.as_ref());
        o
    }
}

impl OutboxArgs {
    /// The settings these flags set.
    pub fn overrides(&self) -> Overrides {
        let mut o = Overrides::new();
        o.set("--store", "store.path", self.store.as_ref());
        o
    }
}

impl IntegrationsArgs {
    /// The settings these flags set (token specs are added by the command, not replaced).
    pub fn overrides(&self) -> Overrides {
        let mut o = Overrides::new();
        self.server.overrides(&mut o);
        o.set("--store", "store.path", self.store.as_ref())
            .set(
                "--integrations",
                "integrations.path",
                self.path_flag.as_ref().or(self.path.as_ref()),
            )
            .set(
                "--tokens-file",
                "integrations.tokens_file",
                self.tokens_file.as_ref(),
            );
        o
    }

    /// Every token spec given on the command line, in order.
    pub fn token_args(&self) -> impl Iterator<Item = &String> {
        self.tokens.iter().chain(&self.tokens_flag)
    }

    /// The port, from either form.
    pub fn port(&self) -> Option<u16> {
        self.port.or(self.port_flag)
    }
}

impl EmulatorArgs {
    /// The `[emulator]` values these flags set.
    pub fn overrides(&self) -> Overrides {
        let mut o = Overrides::new();
        o.set("--listen", "emulator.listen", self.listen)
            .set("--token", "emulator.tokens", listed(&self.tokens))
            .set("--room", "emulator.rooms", listed(&self.rooms))
            .set("--user", "emulator.users", listed(&self.users))
            .set("--tls", "emulator.tls", given(self.tls))
            .set(
                "--rate-limit",
                "emulator.rate_limit",
                self.rate_limit.as_ref(),
            )
            .set(
                "--flood-limit",
                "emulator.flood_limit",
                self.flood_limit.as_ref(),
            )
            .set("--max-body", "emulator.max_body", self.max_body)
            .set("--retention", "emulator.retention", self.retention);
        o
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_duration, parse_timeout};
    use std::time::Duration;

    #[test]
    fn durations_share_one_syntax() {
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        let bad = parse_duration("soon").unwrap_err();
        assert!(bad.contains("is not a duration like 30"), "{bad}");
    }

    #[test]
    fn timeouts() {
        assert_eq!(parse_timeout("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_timeout("1m30s"), Ok(Duration::from_secs(90)));
        assert!(parse_timeout("0").is_err());
        assert!(parse_timeout("500ms").is_err());
        assert!(parse_timeout("soon").is_err());
    }
}
