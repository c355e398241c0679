//! Writes what the Debian package ships beside the binary, generated from the binary's own
//! command-line definition: shell completions (bash, zsh, fish) and man pages (`hipkit.1` and
//! one per subcommand). An example rather than a hidden subcommand, so the generators
//! (clap_complete, clap_mangen) are dev-dependencies and never part of `hipkit`'s own build.
//!
//! `cargo run -p hipkit --example package_assets -- OUT_DIR` (scripts/package runs it) writes
//! `OUT_DIR/completions/{hipkit.bash,_hipkit,hipkit.fish}` and `OUT_DIR/man/*.1`.

#[allow(dead_code, reason = "only the command definition is used here")]
#[path = "../src/cli.rs"]
mod cli;

use clap::CommandFactory;
use clap_complete::Shell;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(out) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: package_assets OUT_DIR");
        return ExitCode::from(2);
    };
    match write_all(&out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("package_assets: cannot write into {}: {e}", out.display());
            ExitCode::from(1)
        }
    }
}

fn write_all(out: &std::path::Path) -> std::io::Result<()> {
    let completions = out.join("completions");
    let man = out.join("man");
    std::fs::create_dir_all(&completions)?;
    std::fs::create_dir_all(&man)?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        clap_complete::generate_to(shell, &mut cli::Cli::command(), "hipkit", &completions)?;
    }
    clap_mangen::generate_to(cli::Cli::command(), &man)?;
    Ok(())
}
