//! Every subcommand's `--help` ends with real examples. Each example is parsed by the
//! binary's own parser (the `cli` module, compiled in here); those that work offline
//! (`send`, `report`, `outbox`, `check`) are also run as printed, through `sh`, against a
//! real `hipkit emulator` (`check --config /etc/hipkit/hipkit.toml` is run by
//! scripts/test-package on the installed package). The long-running ones (`serve`,
//! `emulator`, `integrations`) and those that need a running server (`storage`) are parsed
//! only.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

#[allow(dead_code, reason = "only the parser is used here")]
#[path = "../src/cli.rs"]
mod cli;
mod common;

use clap::{CommandFactory, Parser};
use common::shell;
use hipkit_testkit::{TOKEN, hipkit_bin};
use std::path::Path;

/// The example lines at the end of `hipkit ARGS --help`.
fn examples(args: &[&str]) -> Vec<String> {
    let mut argv = args.to_vec();
    argv.push("--help");
    let out = hipkit_bin!().run(&argv, &[]);
    assert!(out.status.success(), "hipkit {argv:?}");
    let help = String::from_utf8(out.stdout).unwrap();
    help.lines()
        .skip_while(|l| *l != "Examples:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_owned())
        .collect()
}

/// `hipkit` and every subcommand, with the examples each `--help` prints.
fn all_examples() -> Vec<(String, Vec<String>)> {
    let mut all = vec![("hipkit".to_owned(), examples(&[]))];
    for sub in cli::Cli::command().get_subcommands() {
        let name = sub.get_name().to_owned();
        let lines = examples(&[&name]);
        all.push((name, lines));
    }
    all
}

#[test]
fn every_subcommand_ends_its_help_with_examples_the_parser_takes() {
    let all = all_examples();
    assert!(all.len() >= 8, "{all:?}");
    for (command, lines) in &all {
        assert!(
            (2..=3).contains(&lines.len()),
            "`{command} --help` should end with two or three examples: {lines:?}"
        );
        for line in lines {
            let argv = shell::hipkit_argv(&shell::words(line))
                .unwrap_or_else(|| panic!("example without hipkit: {line}"));
            if command != "hipkit" {
                assert_eq!(argv.get(1), Some(command), "{line}");
            }
            if let Err(e) = cli::Cli::try_parse_from(&argv) {
                panic!("`{command} --help` example does not parse: {line}\n{e}");
            }
        }
    }
}

const BUILD: &str = r#"{"buildid": 20, "number": 7, "builderid": 79, "results": 0,
  "complete": true, "url": "http://buildbot:8010/#/builders/79/builds/7",
  "properties": {}, "builder": {"builderid": 79, "name": "Builder0"}}"#;

const CONFIG: &str = r#"
[[reporters.hipchat]]
builder_room_map = { Builder0 = "Builds" }
"#;

/// Runs each example line in `dir` against the emulator at `base`; each must succeed.
fn run_all(lines: &[String], dir: &Path, base: &str) {
    let bin = Path::new(env!("CARGO_BIN_EXE_hipkit"));
    let store = dir.join("hipkit.db");
    let env = [
        ("HIPCHAT_ENDPOINT", base),
        ("HIPCHAT_API_TOKEN", TOKEN),
        ("HIPKIT_STORE", store.to_str().unwrap()),
    ];
    for line in lines {
        let out = shell::run(bin, line, dir, &env);
        assert!(
            out.status.success(),
            "example failed: {line}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_offline_examples_run_as_printed_against_the_emulator() {
    let emulator = shell::docs_emulator();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("build.json"), BUILD).unwrap();
    std::fs::write(dir.path().join("hipkit.toml"), CONFIG).unwrap();
    for command in ["send", "report"] {
        run_all(&examples(&[command]), dir.path(), &emulator.base);
    }
    // The outbox examples look at the store `serve` made.
    let store = dir.path().join("hipkit.db");
    drop(hipkit_bin!().spawn(
        &["serve", "--listen", "127.0.0.1:0"],
        &[
            ("HIPCHAT_ENDPOINT", &emulator.base),
            ("HIPCHAT_API_TOKEN", TOKEN),
            ("HIPKIT_STORE", store.to_str().unwrap()),
        ],
        "delivery:",
    ));
    run_all(&examples(&["outbox"]), dir.path(), &emulator.base);
    let integrations = dir.path().join("integrations");
    std::fs::create_dir(&integrations).unwrap();
    std::fs::write(
        integrations.join("ping.py"),
        "def run_integration(query):\n    return 'pong'\n",
    )
    .unwrap();
    let check: Vec<String> = examples(&["check"])
        .into_iter()
        .filter(|l| !l.contains("/etc/"))
        .collect();
    assert_eq!(check.len(), 2, "{check:?}");
    run_all(&check, dir.path(), &emulator.base);
    let config: Vec<String> = examples(&["config"])
        .into_iter()
        .filter(|l| !l.contains("/etc/"))
        .collect();
    assert_eq!(config.len(), 2, "{config:?}");
    run_all(&config, dir.path(), &emulator.base);
    let api = emulator.api();
    let texts = |path: &str| -> Vec<String> {
        api.items(path)
            .iter()
            .map(|i| i["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(
        texts("/v2/room/Build%20Room/history"),
        ["deployed <b>v2.1</b>"]
    );
    assert_eq!(texts("/v2/room/Ops/history"), ["disk 91% full"]);
    assert_eq!(
        texts("/v2/user/ops@example.com/history/latest"),
        ["your build is done"]
    );
    // Started, then finished twice (one of the three a dry run).
    assert_eq!(texts("/v2/room/Builds/history").len(), 2);
}
