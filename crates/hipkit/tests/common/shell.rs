//! Command lines as documentation shows them (in `--help` examples and the guides' fenced
//! blocks): split into words the way `sh` would for the simple lines docs use, and run
//! through `sh` with the `hipkit` under test first on `PATH`.

use hipkit_testkit::{Proc, clear_env, hipkit_bin};
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The words of one simple shell command line: double and single quotes, backslash escapes
/// inside double quotes, a `#` comment at a word's start. Pipes and redirections stay words.
pub fn words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '#' if word.is_none() => break,
            c if c.is_whitespace() => words.extend(word.take()),
            '"' => {
                let w = word.get_or_insert_with(String::new);
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => w.extend(chars.next()),
                        c => w.push(c),
                    }
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                w.extend(chars.by_ref().take_while(|&c| c != '\''));
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

/// The `hipkit` invocation in a line's words: what follows the last `|`, without a `<` or
/// `>` redirection and its file, starting at `hipkit`; `None` when the line runs no hipkit.
pub fn hipkit_argv(words: &[String]) -> Option<Vec<String>> {
    let last = words.rsplit(|w| w == "|").next()?;
    let mut argv = Vec::new();
    let mut skip = false;
    for w in last {
        if skip {
            skip = false;
        } else if w == "<" || w == ">" {
            skip = true;
        } else {
            argv.push(w.clone());
        }
    }
    let start = argv.iter().position(|w| w == "hipkit")?;
    Some(argv.split_off(start))
}

/// Runs `line` with `sh -c` in `dir`: the `hipkit` under test first on `PATH`, hipkit's
/// variables cleared, then `env` set.
pub fn run(bin: &Path, line: &str, dir: &Path, env: &[(&str, &str)]) -> Output {
    let bin_dir = bin.parent().expect("the binary's directory");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("sh");
    clear_env(&mut cmd)
        .arg("-c")
        .arg(line)
        .current_dir(dir)
        .env("PATH", path)
        .envs(env.iter().copied())
        .stdin(Stdio::null());
    cmd.output().expect("run sh")
}

/// `hipkit emulator` with the rooms and user the documentation's examples name (`Build Room`,
/// `Ops`, `Builds`, `ops@example.com`).
pub fn docs_emulator() -> Proc {
    hipkit_bin!().emulator(&[
        "--room",
        "Build Room",
        "--room",
        "Ops",
        "--room",
        "Builds",
        "--user",
        "ops@example.com",
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_comments_and_pipes() {
        let w =
            words(r#"echo "disk 91% full" | hipkit send 'Build Room' "a \"b\"" < x.json  # note"#);
        assert_eq!(
            w,
            [
                "echo",
                "disk 91% full",
                "|",
                "hipkit",
                "send",
                "Build Room",
                "a \"b\"",
                "<",
                "x.json"
            ]
        );
        assert_eq!(
            hipkit_argv(&w).unwrap(),
            ["hipkit", "send", "Build Room", "a \"b\""]
        );
        assert_eq!(hipkit_argv(&words("curl -s http://x")), None);
    }
}
