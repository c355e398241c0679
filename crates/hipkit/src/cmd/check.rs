//! `hipkit check` (`doctor`): one line per check of what `serve` would use (the settings,
//! the reporters, the store, the HipChat endpoint and token, Python and each integration),
//! each with its verdict; exit 1 when any check fails.

use crate::cli::CheckArgs;
use crate::failure::Failure;
use hipchat::{AuthProbe, Error as HipChatError};
use hipkit::{DEFAULT_CONFIG_FILE, Settings};
use hipkit_integrations::registry::{self, Kind};
use hipkit_integrations::runtime::python::{HipChatTarget, check_python};
use hipkit_integrations::{Integrations, Options};
use hipkit_transport::push::redact_url;
use std::path::Path;
use std::sync::Arc;

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Works.
    Ok,
    /// Works, but deserves a look.
    Warn,
    /// Broken: `serve` would fail or lose messages.
    Fail,
    /// Not checked (nothing configured, or an earlier check failed).
    Skip,
}

impl Verdict {
    fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warn => "warn",
            Self::Fail => "FAIL",
            Self::Skip => "skip",
        }
    }
}

/// The printed lines and how many failed.
#[derive(Default)]
struct Report {
    failed: usize,
}

impl Report {
    fn line(&mut self, verdict: Verdict, what: &str, text: impl AsRef<str>) {
        if verdict == Verdict::Fail {
            self.failed += 1;
        }
        println!("{:<4}  {what:<12} {}", verdict.label(), text.as_ref());
    }

    fn outcome(self) -> Result<(), Failure> {
        match self.failed {
            0 => {
                println!("all checks passed");
                Ok(())
            }
            1 => Err(Failure::runtime("1 check failed")),
            n => Err(Failure::runtime(format!("{n} checks failed"))),
        }
    }
}

/// Runs every check; the settings are resolved here so that a bad configuration is a
/// failed check (exit 1) like any other.
pub async fn run(args: &CheckArgs, file: Option<&Path>) -> Result<(), Failure> {
    let mut report = Report::default();
    let settings = match Settings::load(file, &args.overrides()) {
        Ok(settings) => {
            report.line(Verdict::Ok, "config", config_source(file));
            settings
        }
        Err(e) => {
            report.line(Verdict::Fail, "config", e.to_string());
            return report.outcome();
        }
    };
    match settings.serve.validate() {
        Ok(()) => report.line(
            Verdict::Ok,
            "serve",
            format!("listen {}", settings.serve.listen),
        ),
        Err(e) => report.line(Verdict::Fail, "serve", e.to_string()),
    }
    reporters(&mut report, &settings);
    store(&mut report, &settings.store.path).await;
    hipchat(&mut report, &settings).await;
    integrations(&mut report, &settings).await;
    report.outcome()
}

/// Which file the settings came from.
fn config_source(file: Option<&Path>) -> String {
    match file {
        Some(path) => format!("{} read", path.display()),
        None if Path::new(DEFAULT_CONFIG_FILE).exists() => format!("{DEFAULT_CONFIG_FILE} read"),
        None => "no config file: defaults and environment".to_owned(),
    }
}

fn reporters(report: &mut Report, settings: &Settings) {
    match settings.reporters.check() {
        Ok(checked) if checked.is_empty() => {
            report.line(Verdict::Ok, "reporters", "none configured");
        }
        Ok(checked) => report.line(
            Verdict::Ok,
            "reporters",
            format!(
                "{} [[reporters.hipchat]], {} [[reporters.http]]",
                checked.hipchat.len(),
                checked.http.len()
            ),
        ),
        Err(e) => report.line(Verdict::Fail, "reporters", e.to_string()),
    }
}

/// An existing database must open and take a write; a missing one must be creatable in its
/// folder (`check` does not create it).
async fn store(report: &mut Report, path: &Path) {
    let shown = path.display();
    if path.exists() {
        let opened = hipkit_store::SqliteStore::open(path).await;
        let health = match &opened {
            Ok(store) => hipkit_store::OutboxStore::health(store).await.map(|_| ()),
            Err(_) => Ok(()),
        };
        match opened.map(|_| health) {
            Ok(Ok(())) => report.line(Verdict::Ok, "store", format!("{shown} is writable")),
            Ok(Err(e)) | Err(e) => {
                report.line(Verdict::Fail, "store", hipchat::error_chain(&e));
            }
        }
        return;
    }
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let probe = folder.join(format!(".hipkit-check-{}", std::process::id()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            report.line(
                Verdict::Ok,
                "store",
                format!("{shown} does not exist yet; its folder is writable (serve creates it)"),
            );
        }
        Err(e) => report.line(
            Verdict::Fail,
            "store",
            format!(
                "{shown} does not exist and cannot be created in {}: {e}",
                folder.display()
            ),
        ),
    }
}

/// The HipChat target `serve` would use: the built-in emulator, or an endpoint that must
/// answer and accept the token (`auth_test=true`: HipChat checks it and does nothing).
async fn hipchat(report: &mut Report, settings: &Settings) {
    match hipkit::serve::wants_built_in_emulator(settings) {
        Ok(true) => {
            report.line(
                Verdict::Ok,
                "hipchat",
                "no endpoint set: serve starts its built-in emulator (messages stay on this \
                 machine; set [hipchat] endpoint for a real server)",
            );
            report.line(
                Verdict::Skip,
                "token",
                "the built-in emulator accepts its own token",
            );
            return;
        }
        Ok(false) => {}
        Err(e) => {
            report.line(Verdict::Fail, "hipchat", e.to_string());
            report.line(Verdict::Skip, "token", "no endpoint to check it against");
            return;
        }
    }
    let endpoint = redact_url(settings.hipchat.endpoint_or_default());
    let client = match settings.hipchat.build() {
        Ok(client) => client,
        Err(e) => {
            report.line(Verdict::Fail, "hipchat", format!("{endpoint}: {e}"));
            report.line(Verdict::Skip, "token", "no client to check it with");
            return;
        }
    };
    match client.auth_test(&AuthProbe::ListRooms).await {
        Ok(_) => {
            report.line(Verdict::Ok, "hipchat", format!("{endpoint} answers"));
            report.line(Verdict::Ok, "token", "accepted");
        }
        Err(HipChatError::Forbidden { .. }) => {
            report.line(Verdict::Ok, "hipchat", format!("{endpoint} answers"));
            report.line(
                Verdict::Ok,
                "token",
                "accepted (it may not list rooms, which sending does not need)",
            );
        }
        Err(HipChatError::Unauthorized(e)) => {
            report.line(Verdict::Ok, "hipchat", format!("{endpoint} answers"));
            report.line(Verdict::Fail, "token", format!("refused: {}", e.message));
        }
        Err(e @ HipChatError::Network { .. }) => {
            report.line(
                Verdict::Fail,
                "hipchat",
                format!("{endpoint} unreachable: {e}"),
            );
            report.line(Verdict::Skip, "token", "the endpoint did not answer");
        }
        Err(e) => {
            report.line(
                Verdict::Fail,
                "hipchat",
                format!("{endpoint} is not answering as HipChat does: {e}"),
            );
            report.line(
                Verdict::Skip,
                "token",
                "the endpoint did not answer as HipChat",
            );
        }
    }
}

/// Python (when the folder has `NAME.py` integrations) and every integration, loaded as the
/// integrations server loads them, in a throwaway storage.
async fn integrations(report: &mut Report, settings: &Settings) {
    let Some(dir) = &settings.integrations.path else {
        report.line(Verdict::Skip, "integrations", "[integrations] path not set");
        return;
    };
    let found = match registry::scan(dir) {
        Ok(found) => found,
        Err(e) => {
            report.line(Verdict::Fail, "integrations", hipchat::error_chain(&e));
            return;
        }
    };
    let config = &settings.integrations;
    let scripts: Vec<String> = found
        .values()
        .filter(|e| e.kind == Kind::Python)
        .map(|e| format!("{}.py", e.name))
        .collect();
    if scripts.is_empty() {
        report.line(Verdict::Skip, "python", "no Python integrations");
    } else {
        match check_python(&config.python, &scripts.join(", ")).await {
            Ok(version) => report.line(
                Verdict::Ok,
                "python",
                format!("{} {version}", config.python),
            ),
            Err(e) => {
                report.line(Verdict::Fail, "python", hipchat::error_chain(&e));
                return;
            }
        }
    }
    if found.is_empty() {
        report.line(
            Verdict::Warn,
            "integrations",
            format!("none in {}", dir.display()),
        );
        return;
    }
    let store = match hipkit_store::SqliteStore::temporary().await {
        Ok(store) => store,
        Err(e) => {
            report.line(Verdict::Fail, "integrations", hipchat::error_chain(&e));
            return;
        }
    };
    let mut config = config.clone();
    config.watch = false;
    let started = Integrations::start(Options {
        config,
        store: Arc::new(store),
        hipchat: HipChatTarget::from(&settings.hipchat),
    })
    .await;
    let integrations = match started {
        Ok(integrations) => integrations,
        Err(e) => {
            report.line(Verdict::Fail, "integrations", hipchat::error_chain(&e));
            return;
        }
    };
    for (name, loaded) in integrations.probe().await {
        let what = format!("/{name}");
        match loaded {
            Ok(Kind::Python) => report.line(Verdict::Ok, &what, "imports"),
            Ok(Kind::Executable) => report.line(Verdict::Ok, &what, "executable"),
            Err(e) => report.line(Verdict::Fail, &what, hipchat::error_chain(&e)),
        }
    }
    integrations.shutdown().await;
}
