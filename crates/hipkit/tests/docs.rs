//! The guides cannot drift from the code: every fenced block of docs/build-status.md,
//! docs/djhipchat2.md and docs/integrations-server.md carries a marker on the line before it
//! (`<!-- test: KIND -->`, a block without one fails), and this test does what the marker says,
//! in page order, in one directory per page, against a real `hipkit emulator`:
//!
//! - `run`: the block runs as one `sh -e` script (the `hipkit` under test first on `PATH`,
//!   `HIPCHAT_ENDPOINT`/`HIPCHAT_API_TOKEN` naming the emulator); it must exit 0.
//! - `start`: each line is a long-running `hipkit` command (`VAR=value` prefixes allowed),
//!   started for real on a free loopback port (the page's port 8080 becomes 0, and `--listen`
//!   is given or replaced); later blocks' `127.0.0.1:8080` is rewritten to where it listens,
//!   and `HIPKIT_URL` (what `hipkit storage` otherwise takes from `[serve] listen`) names it.
//! - `parse`: each line is a `hipkit` command parsed by the real parser (alternative forms of
//!   a command that `start` runs, which could not all hold the page's store at once).
//! - `config [FILE]`: loaded through the real settings loader ([`hipkit::Settings::load`]);
//!   with FILE, also written there for the commands that follow.
//! - `file PATH`: written to PATH in the page's directory (an integration, a JSON body, a
//!   Python module), its `127.0.0.1:8080` rewritten like a command's.
//! - `python`: run by `python3` in the page's directory; it must exit 0.
//! - `stdout`: what the `run` block just before it printed, compared exactly.
//! - `output`: what hipkit prints; each `$ hipkit ...` line in it is parsed by the real parser.
//! - `seed`: the seed's own code, shown for comparison; Python is compiled by `python3`.
//! - `<!-- master.cfg: NAME -->` (tests/third_party/buildbot_check.py's marker): compiled
//!   here; scripts/test runs it as a real Buildbot master's reporter against the relay.
//!
//! After a page has run, the emulator's rooms are checked for what its commands sent.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

#[allow(dead_code, reason = "only the parser is used here")]
#[path = "../src/cli.rs"]
mod cli;
mod common;

use clap::Parser;
use common::shell;
use hipkit_testkit::{Proc, TOKEN, clear_env, hipkit_bin, wait_until};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// One fenced block and its marker.
#[derive(Debug)]
struct Block {
    /// 1-based line of the opening fence.
    line: usize,
    /// The marker's kind (`run`, `start`, ...).
    kind: String,
    /// The marker's argument (a file name), if any.
    arg: Option<String>,
    /// The fence's language (`sh`, `toml`, ...).
    lang: String,
    text: String,
}

/// The fenced blocks of `doc`, each with the `<!-- test: KIND [ARG] -->` marker on the line
/// before its opening fence; panics on a block without one.
fn blocks(page: &str, doc: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut lines = doc.lines().enumerate();
    let mut previous = "";
    while let Some((i, line)) = lines.next() {
        if let Some(lang) = line.strip_prefix("```") {
            let before = previous.trim();
            // tests/third_party/buildbot_check.py's own marker: scripts/test runs that block
            // as a real Buildbot master's configuration.
            let master_cfg = before
                .strip_prefix("<!-- master.cfg:")
                .map(|_| "master.cfg");
            let marker = before
                .strip_prefix("<!-- test:")
                .and_then(|m| m.strip_suffix("-->"))
                .or(master_cfg)
                .unwrap_or_else(|| {
                    panic!(
                        "{page}:{}: a fenced block without a `<!-- test: KIND -->` marker on \
                         the line before it",
                        i + 1
                    )
                });
            let mut words = marker.split_whitespace();
            let kind = words.next().expect("a marker kind").to_owned();
            let arg = words.next().map(str::to_owned);
            let mut text = String::new();
            for (_, l) in lines.by_ref() {
                if l.starts_with("```") {
                    break;
                }
                text.push_str(l);
                text.push('\n');
            }
            out.push(Block {
                line: i + 1,
                kind,
                arg,
                lang: lang.trim().to_owned(),
                text,
            });
            previous = "";
        } else {
            previous = line;
        }
    }
    out
}

/// A page being run: its directory, environment, emulator and the servers it started.
struct Run<'a> {
    page: &'a str,
    dir: &'a Path,
    env: Vec<(String, String)>,
    servers: Vec<Proc>,
    /// Where the page's `127.0.0.1:8080` listens in this run.
    address: Option<String>,
    /// What the last `run` block printed, while it is the block just before.
    stdout: Option<String>,
}

impl Run<'_> {
    fn env(&self) -> Vec<(&str, &str)> {
        self.env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    fn localize(&self, text: &str) -> String {
        match &self.address {
            Some(addr) => text.replace("127.0.0.1:8080", addr),
            None => text.to_owned(),
        }
    }

    fn check(&self, block: &Block, what: &str, out: &Output) {
        assert!(
            out.status.success(),
            "{}:{}: {what} failed ({})\n--- block\n{}--- stdout\n{}--- stderr\n{}",
            self.page,
            block.line,
            out.status,
            block.text,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn block(&mut self, block: &Block) {
        let stdout = self.stdout.take();
        match block.kind.as_str() {
            "run" => {
                assert_eq!(block.lang, "sh", "{}:{}", self.page, block.line);
                let script = format!("set -e\n{}", self.localize(&block.text));
                let bin = Path::new(env!("CARGO_BIN_EXE_hipkit"));
                let out = shell::run(bin, &script, self.dir, &self.env());
                self.check(block, "the commands", &out);
                self.stdout = Some(String::from_utf8_lossy(&out.stdout).into_owned());
            }
            "stdout" => {
                let printed = stdout.unwrap_or_else(|| {
                    panic!(
                        "{}:{}: `stdout` must follow a `run` block",
                        self.page, block.line
                    )
                });
                assert_eq!(
                    printed.trim(),
                    block.text.trim(),
                    "{}:{}: the commands before print something else",
                    self.page,
                    block.line
                );
            }
            "start" => {
                for line in block.text.lines().filter(|l| !l.trim().is_empty()) {
                    self.start(block, line);
                }
            }
            "config" => {
                let name = block.arg.as_deref().unwrap_or("doc-snippet.toml");
                let path = self.dir.join(name);
                std::fs::write(&path, &block.text).unwrap();
                if let Err(e) = hipkit::Settings::load(Some(&path), &hipkit::Overrides::new()) {
                    panic!(
                        "{}:{}: the settings loader refuses this config: {e}\n{}",
                        self.page, block.line, block.text
                    );
                }
                if block.arg.is_none() {
                    std::fs::remove_file(&path).unwrap();
                }
            }
            "file" => {
                let path = self.dir.join(block.arg.as_deref().expect("file PATH"));
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, self.localize(&block.text)).unwrap();
            }
            "python" => {
                let out = python(self.dir, &self.env(), &self.localize(&block.text));
                self.check(block, "the Python snippet", &out);
            }
            "parse" => {
                for line in block.text.lines().filter(|l| !l.trim().is_empty()) {
                    parses(self.page, block.line, line);
                }
            }
            "output" => {
                for line in block.text.lines() {
                    if let Some(command) = line.strip_prefix("$ ") {
                        parses(self.page, block.line, command);
                    }
                }
            }
            "seed" | "master.cfg" => {
                if block.lang == "python" {
                    let check = "import ast, sys; ast.parse(sys.stdin.read())";
                    let mut cmd = Command::new("python3");
                    cmd.args(["-c", check]);
                    let out = with_stdin(cmd, &block.text);
                    self.check(block, "compiling the seed's Python", &out);
                }
            }
            other => panic!(
                "{}:{}: unknown marker kind `{other}`",
                self.page, block.line
            ),
        }
    }

    /// Starts one long-running documented command on a free loopback port.
    fn start(&mut self, block: &Block, line: &str) {
        let words = shell::words(line);
        let mut env = self.env.clone();
        let mut args = words.iter();
        for word in args.by_ref() {
            match word.split_once('=') {
                Some((k, v)) if word != "hipkit" && !k.contains('-') => {
                    env.push((k.to_owned(), v.to_owned()));
                }
                _ => {
                    assert_eq!(word, "hipkit", "{}:{}: {line}", self.page, block.line);
                    break;
                }
            }
        }
        let mut argv: Vec<String> = args
            .map(|w| match w.as_str() {
                "8080" => "0".to_owned(),
                "127.0.0.1:8080" => "127.0.0.1:0".to_owned(),
                _ => w.clone(),
            })
            .collect();
        parses(self.page, block.line, line);
        let command = argv.first().expect("a subcommand").clone();
        let local = if command == "integrations" {
            "127.0.0.1"
        } else {
            "127.0.0.1:0"
        };
        match argv.iter().position(|w| w == "--listen") {
            Some(i) => argv[i + 1] = local.to_owned(),
            None => argv.extend(["--listen".to_owned(), local.to_owned()]),
        }
        let args: Vec<&str> = argv.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut cmd = hipkit_bin!().command(&args, &env);
        cmd.current_dir(self.dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let banner = format!("hipkit {command} listening on http://");
        let server = Proc::start(cmd, &banner);
        let address = server
            .lines
            .iter()
            .find_map(|l| l.trim().strip_prefix(&banner))
            .expect("the listening line")
            .to_owned();
        self.env
            .push(("HIPKIT_URL".to_owned(), format!("http://{address}")));
        self.address = Some(address);
        self.servers.push(server);
    }
}

/// Parses a documented `hipkit` command line with the binary's own parser.
fn parses(page: &str, line: usize, command: &str) {
    let argv = shell::hipkit_argv(&shell::words(command))
        .unwrap_or_else(|| panic!("{page}:{line}: no hipkit command in `{command}`"));
    if let Err(e) = cli::Cli::try_parse_from(&argv) {
        panic!("{page}:{line}: `{command}` does not parse:\n{e}");
    }
}

/// `python3 -` in `dir` with hipkit's variables cleared, then `env`; `script` on stdin.
fn python(dir: &Path, env: &[(&str, &str)], script: &str) -> Output {
    let mut cmd = Command::new("python3");
    clear_env(&mut cmd)
        .arg("-")
        .current_dir(dir)
        .envs(env.iter().copied());
    with_stdin(cmd, script)
}

/// Runs `cmd` (python3) to its end with `stdin` written to it.
fn with_stdin(mut cmd: Command, stdin: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 (needed by the guides' tests) is missing");
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.as_bytes()).unwrap();
    drop(pipe);
    child.wait_with_output().unwrap()
}

/// Runs every block of the page `name` (under docs/) in a fresh directory prepared by
/// `prepare`, with the emulator's address and token in the environment (and `extra`).
fn run_page(
    name: &str,
    doc: &str,
    emulator: &Proc,
    extra: &[(&str, &str)],
    prepare: impl Fn(&Path),
) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    prepare(dir.path());
    let mut env = vec![
        ("HIPCHAT_ENDPOINT".to_owned(), emulator.base.clone()),
        ("HIPCHAT_API_TOKEN".to_owned(), TOKEN.to_owned()),
    ];
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let mut run = Run {
        page: name,
        dir: dir.path(),
        env,
        servers: Vec::new(),
        address: None,
        stdout: None,
    };
    let blocks = blocks(name, doc);
    assert!(!blocks.is_empty(), "{name}: no fenced blocks");
    for block in &blocks {
        run.block(block);
    }
    drop(run);
    dir
}

/// The messages of `room` in the emulator's history.
fn texts(emulator: &Proc, room: &str) -> Vec<String> {
    let room = room.replace(' ', "%20");
    emulator
        .api()
        .items(&format!("/v2/room/{room}/history"))
        .iter()
        .map(|i| i["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Waits until `room` has a message containing `part`.
fn wait_for_message(emulator: &Proc, room: &str, part: &str) {
    wait_until(
        &format!("a message with `{part}` in {room}"),
        Duration::from_secs(30),
        || texts(emulator, room).iter().any(|t| t.contains(part)),
    );
}

fn emulator() -> Proc {
    shell::docs_emulator()
}

fn docs(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs")
        .join(name)
}

fn read(name: &str) -> String {
    std::fs::read_to_string(docs(name)).unwrap_or_else(|e| panic!("docs/{name}: {e}"))
}

const BUILD: &str = r#"{"buildid": 20, "number": 7, "builderid": 79, "results": 0,
  "complete": true, "url": "http://buildbot:8010/#/builders/79/builds/7",
  "properties": {}, "builder": {"builderid": 79, "name": "linux-x64"}}"#;

#[test]
fn build_status_page_runs() {
    let emulator = emulator();
    run_page(
        "docs/build-status.md",
        &read("build-status.md"),
        &emulator,
        &[],
        |dir| {
            std::fs::write(dir.join("build.json"), BUILD).unwrap();
            std::fs::write(
                dir.join("hipkit.toml"),
                "[[reporters.hipchat]]\nbuilder_room_map = { \"linux-x64\" = \"Builds\" }\n",
            )
            .unwrap();
        },
    );
    // Started, then finished (the third a dry run).
    assert_eq!(
        texts(&emulator, "Builds").len(),
        2,
        "{:?}",
        texts(&emulator, "Builds")
    );
}

#[test]
fn djhipchat2_page_runs() {
    let emulator = emulator();
    run_page(
        "docs/djhipchat2.md",
        &read("djhipchat2.md"),
        &emulator,
        &[],
        |_| {},
    );
    wait_for_message(&emulator, "Build Room", "Deployed <b>v2.1</b>");
    wait_for_message(&emulator, "Ops", "disk 91% full");
    wait_for_message(&emulator, "Ops", "payment failed for order 42");
}

#[test]
fn integrations_server_page_runs() {
    let emulator = emulator();
    let dir = run_page(
        "docs/integrations-server.md",
        &read("integrations-server.md"),
        &emulator,
        &[("HIPKIT_SERVE__API_TOKEN", "doc-admin-token-0123")],
        |_| {},
    );
    // The sample webhook ran the integration, which kept its query in its storage.
    let exported = std::fs::read_to_string(dir.path().join("echo.json")).unwrap();
    assert!(exported.contains("testing me"), "{exported}");
}

#[test]
fn slash_commands_page_runs() {
    let emulator = emulator();
    run_page(
        "docs/slash-commands.md",
        &read("slash-commands.md"),
        &emulator,
        &[],
        |_| {},
    );
}

#[test]
fn a_block_without_a_marker_fails() {
    let doc = "text\n<!-- test: run -->\n```sh\ntrue\n```\n\n```sh\nfalse\n```\n";
    let result = std::panic::catch_unwind(|| blocks("page.md", doc));
    let message = *result.unwrap_err().downcast::<String>().unwrap();
    assert!(message.contains("page.md:7"), "{message}");
}

#[test]
fn the_buildbot_checks_marker_counts_as_one() {
    let doc = "<!-- master.cfg: 4.x -->\n```python\nc = {}\n```\n";
    let found = blocks("page.md", doc);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, "master.cfg");
}
