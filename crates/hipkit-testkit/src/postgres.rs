//! A throwaway PostgreSQL server a test owns, so it can stop and start it (the shared one
//! `scripts/test` starts must stay up for the other tests): Debian's packaged binaries
//! (`/usr/lib/postgresql/*/bin`), a cluster in a temporary directory, 127.0.0.1 only, a free
//! port, a random password; run as the packaged `postgres` user when the test runs as root
//! (PostgreSQL refuses root). Stopped and removed on drop.

use crate::synapse::{free_port, random_hex};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A PostgreSQL cluster of its own: [`Cluster::stop`] and [`Cluster::start`] take the
/// server away and bring it back on the same port with the same data.
pub struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    password: String,
    as_root: bool,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("dir", &self.dir.path())
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// The newest packaged PostgreSQL's `bin` folder; panics, saying how to install it.
fn bin_dir() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).unwrap_or_else(|| {
        panic!(
            "this test needs PostgreSQL's server binaries (/usr/lib/postgresql/*/bin/initdb): \
             run scripts/test (it installs them) or `apt-get install postgresql`"
        )
    })
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl Cluster {
    /// Creates the cluster (initdb, user `hipkit` with a random password) and starts it.
    pub fn start_new() -> Self {
        let bin = bin_dir();
        let as_root = running_as_root();
        let dir = tempfile::Builder::new()
            .prefix("hipkit-test-postgres.")
            .tempdir()
            .expect("a temporary directory");
        let password = random_hex();
        let pwfile = dir.path().join("password");
        std::fs::write(&pwfile, format!("{password}\n")).expect("write the password file");
        let cluster = Self {
            bin,
            dir,
            port: free_port(),
            password,
            as_root,
        };
        if as_root {
            let chown = Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(cluster.dir.path())
                .output()
                .expect("run chown");
            assert!(
                chown.status.success(),
                "running as root, PostgreSQL needs the packaged `postgres` user: {}",
                String::from_utf8_lossy(&chown.stderr)
            );
        }
        let data = cluster.data();
        let init = cluster.run(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                "hipkit".as_ref(),
                "-A".as_ref(),
                "scram-sha-256".as_ref(),
                format!("--pwfile={}", pwfile.display()).as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--no-locale".as_ref(),
            ],
        );
        let _ = std::fs::remove_file(&pwfile);
        assert!(
            init.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        cluster.start();
        cluster
    }

    /// Starts the server (again) and waits until it accepts connections.
    pub fn start(&self) {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let data = self.data();
        let log = self.dir.path().join("server.log");
        let out = self.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-w".as_ref(),
                "-t".as_ref(),
                "60".as_ref(),
                "-o".as_ref(),
                options.as_ref(),
                "start".as_ref(),
            ],
        );
        assert!(
            out.status.success(),
            "the PostgreSQL test server did not start: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// Stops the server (fast shutdown: clients are disconnected) and waits until it is down.
    pub fn stop(&self) {
        let out = self.pg_ctl_stop("fast");
        assert!(
            out.status.success(),
            "the PostgreSQL test server did not stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The server's URL (database `postgres`, user `hipkit` with its password).
    pub fn url(&self) -> String {
        format!(
            "postgres://hipkit:{}@127.0.0.1:{}/postgres",
            self.password, self.port
        )
    }

    /// The port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The password in [`Cluster::url`] (to check it never shows).
    pub fn password(&self) -> &str {
        &self.password
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn pg_ctl_stop(&self, mode: &str) -> Output {
        let data = self.data();
        self.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-m".as_ref(),
                mode.as_ref(),
                "-w".as_ref(),
                "stop".as_ref(),
            ],
        )
    }

    /// Runs one of the server's programs, as `postgres` when running as root.
    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) -> Output {
        let program = self.bin.join(program);
        let mut cmd = if self.as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        cmd.args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", Path::new(&program).display()))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.data().join("postmaster.pid").exists() {
            let _ = self.pg_ctl_stop("immediate");
        }
    }
}
