//! Spawning hipkit processes, reading their announced URL, and reading their memory.

use anyhow::{Context, Result, anyhow, bail};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `hipkit serve` settings turning off the limits it keeps for HipChat (500 requests per
/// 5 minutes per token, 30 messages a minute per room): the emulator here enforces none, and
/// the benchmarks measure how fast hipkit itself goes.
pub const NO_SEND_LIMITS: [(&str, &str); 2] = [
    ("HIPKIT_HIPCHAT__RATE_LIMIT", "0"),
    ("HIPKIT_HIPCHAT__FLOOD_LIMIT", "0"),
];

/// A spawned process, killed on drop.
pub struct Spawned {
    /// The child.
    pub child: Child,
    /// The first URL it printed.
    pub base: String,
    /// Time from spawn to its first line (it prints after binding).
    pub time_to_listening: Duration,
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns `binary args...` and waits for its first line, which ends with its base URL.
pub fn spawn(binary: &Path, args: &[&str]) -> Result<Spawned> {
    spawn_with_env(binary, args, &[])
}

/// Like [`spawn`], with extra environment variables.
pub fn spawn_with_env(binary: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<Spawned> {
    Ok(spawn_reading(binary, args, env, |_| true)?.0)
}

/// Like [`spawn_with_env`], also reading the banner up to and including the first line for
/// which `last` holds; returns the lines read (the first one announces the base URL).
pub fn spawn_reading(
    binary: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    last: impl Fn(&str) -> bool,
) -> Result<(Spawned, Vec<String>)> {
    let started = Instant::now();
    let mut child = Command::new(binary)
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("spawn {}", binary.display()))?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
    let mut reader = BufReader::new(stdout);
    let mut lines = Vec::new();
    let mut time_to_listening = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            let _ = child.kill();
            bail!("{} exited before its banner ended", binary.display());
        }
        time_to_listening.get_or_insert_with(|| started.elapsed());
        let line = line.trim_end().to_owned();
        let done = last(&line);
        lines.push(line);
        if done {
            break;
        }
    }
    std::thread::spawn(move || for _ in reader.lines() {});
    let base = lines
        .first()
        .and_then(|l| l.split_whitespace().last())
        .ok_or_else(|| anyhow!("no URL announced"))?
        .to_owned();
    let spawned = Spawned {
        child,
        base,
        time_to_listening: time_to_listening.unwrap_or_default(),
    };
    Ok((spawned, lines))
}

/// Resident set size of a process in MiB, from /proc.
pub fn rss_mib(pid: u32) -> Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow!("no VmRSS"))?;
    Ok(kb / 1024.0)
}

/// CPU time (user + system) a process has used so far, in seconds, from /proc.
pub fn cpu_seconds(pid: &str) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces) start at the last ')'.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| anyhow!("malformed /proc/{pid}/stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> Result<f64> {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| anyhow!("no CPU field {i} in /proc/{pid}/stat"))
    };
    // utime and stime are fields 14 and 15 of stat(5); Linux reports them in USER_HZ (100).
    Ok((ticks(11)? + ticks(12)?) / 100.0)
}

/// CPU time (user + system) of a process and every live descendant (from each thread's
/// `children` list in /proc), in seconds.
pub fn tree_cpu_seconds(pid: u32) -> Result<f64> {
    let mut total = cpu_seconds(&pid.to_string())?;
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))?;
    for task in tasks.flatten() {
        let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
            // A child that exited between the listing and the read has no CPU left to count.
            total += tree_cpu_seconds(child).unwrap_or(0.0);
        }
    }
    Ok(total)
}

/// The median of some durations, in milliseconds.
pub fn median_ms(samples: Vec<Duration>) -> f64 {
    percentile_ms(samples, 50)
}

/// The `pct`th percentile (nearest rank below) of some durations, in milliseconds; NaN for none.
pub fn percentile_ms(mut samples: Vec<Duration>, pct: usize) -> f64 {
    samples.sort();
    samples
        .get(samples.len().saturating_sub(1) * pct / 100)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(f64::NAN)
}
