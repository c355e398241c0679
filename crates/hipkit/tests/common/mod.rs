//! Spawning the real `hipkit` binary (emulator, serve) for end-to-end tests.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// The all-scopes token the spawned emulators accept.
pub const TOKEN: &str = "cli-secret-token-42";

/// A spawned `hipkit` process, killed (SIGKILL) on drop.
pub struct Proc {
    /// The child.
    pub child: Child,
    /// The URL its first line announced.
    pub base: String,
    /// The lines it printed at start.
    pub lines: Vec<String>,
}

impl Proc {
    /// Spawns `hipkit ARGS` with `env`, reading start-up lines until one starts with `last`.
    pub fn spawn(args: &[&str], env: &[(&str, &str)], last: &str) -> Self {
        Self::spawn_logging(args, env, last, Stdio::null())
    }

    /// [`Proc::spawn`] with the process's log (stderr) going to `stderr`.
    pub fn spawn_logging(args: &[&str], env: &[(&str, &str)], last: &str, stderr: Stdio) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hipkit"))
            .args(args)
            .env_remove("HIPCHAT_ENDPOINT")
            .env_remove("HIPCHAT_API_TOKEN")
            .env_remove("HIPCHAT_BACKEND")
            .env_remove("HIPKIT_CONFIG")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn hipkit");
        let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
        let mut lines = Vec::new();
        let mut line = String::new();
        while reader.read_line(&mut line).expect("read") > 0 {
            let done = line.trim().starts_with(last);
            lines.push(std::mem::take(&mut line));
            if done {
                break;
            }
        }
        // Keep draining so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in reader.lines() {});
        let base = lines
            .first()
            .and_then(|l| l.split_whitespace().last())
            .unwrap_or_else(|| panic!("no start-up line from hipkit {args:?}"))
            .to_owned();
        Self { child, base, lines }
    }

    /// `hipkit emulator` on a free port with [`TOKEN`] and `extra` flags.
    pub fn emulator(extra: &[&str]) -> Self {
        let mut args = vec!["emulator", "--listen", "127.0.0.1:0", "--token", TOKEN];
        args.extend_from_slice(extra);
        Self::spawn(&args, &[], "web UI:")
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A blocking HTTP client that trusts the emulator's self-signed certificate.
pub fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .danger_accept_invalid_certs(true)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// GET `base + path` with [`TOKEN`], as JSON.
pub fn get(base: &str, path: &str) -> Value {
    http()
        .get(format!("{base}{path}"))
        .bearer_auth(TOKEN)
        .send()
        .expect("GET")
        .json()
        .expect("JSON")
}

/// POST JSON with [`TOKEN`]; returns the status.
pub fn post(base: &str, path: &str, body: &Value) -> u16 {
    http()
        .post(format!("{base}{path}"))
        .bearer_auth(TOKEN)
        .json(body)
        .send()
        .expect("POST")
        .status()
        .as_u16()
}

/// Polls `check` every 20 ms until it holds; panics with `what` after `limit`.
pub fn wait_until(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out waiting for {what}");
}

/// Runs `hipkit ARGS` to its end in an empty directory with only `env` set.
pub fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().expect("tempdir");
    Command::new(env!("CARGO_BIN_EXE_hipkit"))
        .args(args)
        .current_dir(dir.path())
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run hipkit")
}
