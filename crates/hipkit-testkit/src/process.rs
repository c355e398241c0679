//! The `hipkit` binary as a process: a clean environment, start-up lines, kill on drop.

use crate::TOKEN;
use crate::blocking::BlockingApi;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

/// The prefixes of hipkit's variables: the documented `HIPCHAT_*` names and every
/// `HIPKIT_*` setting.
const PREFIXES: [&str; 2] = ["HIPCHAT_", "HIPKIT_"];

/// Whether [`clear_env`] removes the variable `name`.
pub fn is_cleared(name: &str) -> bool {
    PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Removes from `cmd` every `HIPCHAT_*` and `HIPKIT_*` variable of this process's
/// environment, so a developer's settings never reach a spawned `hipkit`. For a
/// `tokio::process::Command`, pass `cmd.as_std_mut()`.
pub fn clear_env(cmd: &mut Command) -> &mut Command {
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(is_cleared) {
            cmd.env_remove(&name);
        }
    }
    cmd
}

/// The `hipkit` binary under test (see the [`hipkit_bin!`](crate::hipkit_bin) macro).
#[derive(Clone, Debug)]
pub struct Hipkit {
    bin: PathBuf,
}

impl Hipkit {
    /// The binary at `bin`.
    pub fn at(bin: impl Into<PathBuf>) -> Self {
        Self { bin: bin.into() }
    }

    /// `hipkit ARGS` with hipkit's variables cleared ([`clear_env`]), then `env` set; stdin
    /// empty.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(&self.bin);
        clear_env(&mut cmd)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `cmd` to its end with `stdin` written to it; its output.
    pub fn run_with_stdin(mut cmd: Command, stdin: &[u8]) -> Output {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn hipkit");
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(stdin).expect("write stdin");
        drop(pipe);
        child.wait_with_output().expect("wait for hipkit")
    }

    /// Every record of the outbox in the database `store`, as `hipkit outbox list --json`
    /// prints them (oldest first).
    pub fn outbox_records(&self, store: &std::path::Path) -> Vec<serde_json::Value> {
        let store = store.to_str().expect("a UTF-8 store path");
        self.outbox_list(store, &[])
    }

    /// The records `hipkit outbox list --json ARGS` prints for the store `store` (a path or
    /// a `postgres://` URL), e.g. `["--state", "in_flight"]`.
    pub fn outbox_list(&self, store: &str, args: &[&str]) -> Vec<serde_json::Value> {
        let mut all = vec!["outbox", "list", "--json"];
        all.extend_from_slice(args);
        let out = self.run(&all, &[("HIPKIT_STORE", store)]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON record"))
            .collect()
    }

    /// Runs `hipkit ARGS` to its end in an empty directory with only `env` set.
    pub fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let dir = tempfile::tempdir().expect("tempdir");
        self.command(args, &[])
            .current_dir(dir.path())
            .env_clear()
            .envs(env.iter().copied())
            .output()
            .expect("run hipkit")
    }

    /// Spawns `hipkit ARGS` with `env`, reading start-up lines until one starts with `last`.
    pub fn spawn(&self, args: &[&str], env: &[(&str, &str)], last: &str) -> Proc {
        self.spawn_logging(args, env, last, Stdio::null())
    }

    /// [`Hipkit::spawn`] with the process's log (stderr) going to `stderr`.
    pub fn spawn_logging(
        &self,
        args: &[&str],
        env: &[(&str, &str)],
        last: &str,
        stderr: Stdio,
    ) -> Proc {
        let mut cmd = self.command(args, env);
        cmd.stdout(Stdio::piped()).stderr(stderr);
        Proc::start(cmd, last)
    }

    /// `hipkit emulator` on a free port with the all-scopes [`TOKEN`] and `extra` flags.
    pub fn emulator(&self, extra: &[&str]) -> Proc {
        let mut args = vec!["emulator", "--listen", "127.0.0.1:0", "--token", TOKEN];
        args.extend_from_slice(extra);
        self.spawn(&args, &[], "web UI:")
    }
}

/// A spawned `hipkit` process, killed (SIGKILL) on drop.
#[derive(Debug)]
pub struct Proc {
    /// The child.
    pub child: Child,
    /// The URL its first line announced.
    pub base: String,
    /// The lines it printed at start.
    pub lines: Vec<String>,
}

impl Proc {
    /// Spawns `cmd` (stdout piped), reading lines until one starts with `last`.
    pub fn start(mut cmd: Command, last: &str) -> Self {
        let mut child = cmd.spawn().expect("spawn hipkit");
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
            .unwrap_or_else(|| panic!("no start-up line from hipkit {:?}", cmd.get_args()))
            .to_owned();
        Self { child, base, lines }
    }

    /// A blocking client for its base URL sending [`TOKEN`].
    pub fn api(&self) -> BlockingApi {
        BlockingApi::at(&self.base)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hipchat_and_hipkit_variables_are_cleared_and_nothing_else() {
        for name in [
            "HIPCHAT_API_TOKEN",
            "HIPCHAT_ENDPOINT",
            "HIPKIT_CONFIG",
            "HIPKIT_LOG__ROOM",
        ] {
            assert!(is_cleared(name), "{name}");
        }
        for name in [
            "PATH",
            "HOME",
            "HIPCHAT",
            "MY_HIPKIT_CONFIG",
            "hipkit_store",
        ] {
            assert!(!is_cleared(name), "{name}");
        }
    }

    #[test]
    fn a_command_keeps_what_the_test_sets_after_clearing() {
        let mut cmd = Hipkit::at("/bin/true").command(&["x"], &[("HIPKIT_STORE", "/tmp/s.db")]);
        let set: Vec<_> = cmd
            .get_envs()
            .filter_map(|(k, v)| Some((k.to_str()?, v?.to_str()?)))
            .collect();
        assert!(set.contains(&("HIPKIT_STORE", "/tmp/s.db")), "{set:?}");
        assert!(cmd.status().expect("spawn /bin/true").success());
    }
}
