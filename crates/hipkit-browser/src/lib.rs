//! Headless Chromium for tests and benchmarks: [`Browser::start`] runs Debian's
//! `chromedriver` on a free loopback port with a fresh profile and opens a WebDriver session
//! ([`fantoccini::Client`]); dropping the [`Browser`] stops chromedriver and its Chromium.
//! Nothing is downloaded: `scripts/test` installs the `chromium` and `chromium-driver`
//! packages. For tests and benchmarks only: the waiting helpers panic with what they waited
//! for, as a failed assertion would.

pub use fantoccini;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use thiserror::Error;

/// How long the helpers wait for the page: only turns a hang into a failure.
pub const DEADLINE: Duration = Duration::from_secs(15);

/// How long chromedriver may take to answer its status endpoint.
const DRIVER_START: Duration = Duration::from_secs(30);

/// Why no browser could be started.
#[derive(Debug, Error)]
pub enum BrowserError {
    /// chromedriver or Chromium is not installed.
    #[error(
        "{0} not found: run scripts/test, which installs the Debian packages chromium and chromium-driver"
    )]
    Missing(String),
    /// chromedriver could not be started.
    #[error("cannot start chromedriver: {0}")]
    Spawn(#[source] std::io::Error),
    /// chromedriver did not become ready in time.
    #[error("chromedriver did not answer on port {port} within {secs} s")]
    NotReady {
        /// Its port.
        port: u16,
        /// How long we waited.
        secs: u64,
    },
    /// The WebDriver session could not be created.
    #[error("cannot open a WebDriver session: {0}")]
    Session(#[from] fantoccini::error::NewSessionError),
    /// The profile directory could not be made.
    #[error("cannot create a Chromium profile directory: {0}")]
    Profile(#[source] std::io::Error),
}

/// A headless Chromium session; chromedriver (and the Chromium it started) is stopped on drop.
pub struct Browser {
    /// The WebDriver client.
    pub client: Client,
    _driver: Driver,
    _profile: tempfile::TempDir,
}

/// The chromedriver process: its whole process group is killed on drop.
struct Driver(Child);

/// Window size used unless a test resizes: a laptop screen.
pub const WINDOW: (u32, u32) = (1280, 900);

fn find(names: &[&str], env: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env).map(PathBuf::from) {
        return p.exists().then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a fresh profile, no network
    /// services, and a 1280×900 window.
    pub async fn start() -> Result<Self, BrowserError> {
        let driver_bin = find(&["chromedriver"], "CHROMEDRIVER")
            .ok_or_else(|| BrowserError::Missing("chromedriver".into()))?;
        let chromium = find(&["chromium", "chromium-browser"], "CHROMIUM")
            .ok_or_else(|| BrowserError::Missing("chromium".into()))?;
        let profile = tempfile::tempdir().map_err(BrowserError::Profile)?;
        let port = free_port().map_err(BrowserError::Spawn)?;
        let driver = Driver(spawn_driver(&driver_bin, port)?);
        wait_ready(port).await?;
        let args = [
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            format!("--window-size={},{}", WINDOW.0, WINDOW.1),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({ "binary": chromium, "args": args }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await?;
        Ok(Self {
            client,
            _driver: driver,
            _profile: profile,
        })
    }

    /// Waits (up to [`DEADLINE`]) for an element matching a CSS selector; panics without one
    /// (for tests and benchmarks).
    pub async fn element(&self, css: &str) -> Element {
        self.wait_for(Locator::Css(css)).await
    }

    /// Waits (up to [`DEADLINE`]) for an element matching an XPath; panics without one.
    pub async fn xpath(&self, xpath: &str) -> Element {
        self.wait_for(Locator::XPath(xpath)).await
    }

    async fn wait_for(&self, locator: Locator<'_>) -> Element {
        match self
            .client
            .wait()
            .at_most(DEADLINE)
            .for_element(locator)
            .await
        {
            Ok(e) => e,
            Err(e) => panic!("no element {locator:?} within {DEADLINE:?}: {e}"),
        }
    }

    /// Runs a script in the page and returns its result; panics if it throws.
    pub async fn script(&self, js: &str) -> serde_json::Value {
        match self.client.execute(js, vec![]).await {
            Ok(v) => v,
            Err(e) => panic!("script failed: {js}: {e}"),
        }
    }

    /// Polls a script until it returns `true`; panics after [`DEADLINE`].
    pub async fn until(&self, js: &str) {
        let started = Instant::now();
        while self.script(js).await != serde_json::Value::Bool(true) {
            assert!(started.elapsed() < DEADLINE, "never true: {js}");
            tokio::task::yield_now().await;
        }
    }

    /// Saves a PNG screenshot of the window as `target/ui-artifacts/{name}`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = match self.client.screenshot().await {
            Ok(png) => png,
            Err(e) => panic!("screenshot failed: {e}"),
        };
        let path = artifacts_dir().join(name);
        if let Err(e) = std::fs::write(&path, png) {
            panic!("cannot write {}: {e}", path.display());
        }
        path
    }

    /// Ends the session (Chromium quits) and stops chromedriver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // chromedriver runs in its own process group with the Chromium it started: end the
        // whole group, by the id of the process this value started.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_driver(bin: &Path, port: u16) -> Result<Child, BrowserError> {
    use std::os::unix::process::CommandExt;
    Command::new(bin)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(BrowserError::Spawn)
}

/// Polls chromedriver's `/status` until it says ready (or the deadline passes).
async fn wait_ready(port: u16) -> Result<(), BrowserError> {
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/status");
    let started = Instant::now();
    while started.elapsed() < DRIVER_START {
        let ready = match http.get(&url).send().await {
            Ok(resp) => resp
                .json::<serde_json::Value>()
                .await
                .ok()
                .and_then(|v| v.pointer("/value/ready").and_then(|r| r.as_bool()))
                .unwrap_or(false),
            Err(_) => false,
        };
        if ready {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(BrowserError::NotReady {
        port,
        secs: DRIVER_START.as_secs(),
    })
}

/// Where tests leave screenshots: `target/ui-artifacts/` of the workspace.
pub fn artifacts_dir() -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("ui-artifacts");
    let _ = std::fs::create_dir_all(&dir);
    dir
}
