//! The interpreter check: the Python integrations need Python 3.7 or newer.

use super::PythonError;
use std::process::Stdio;
use tokio::process::Command;

/// Checks that `python` runs and is Python ≥ 3.7; `scripts` names what needs it.
pub async fn check_python(python: &str, scripts: &str) -> Result<String, PythonError> {
    let out = Command::new(python)
        .args(["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"])
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|source| PythonError::Unrunnable {
            python: python.to_owned(),
            scripts: scripts.to_owned(),
            source,
        })?;
    let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if !out.status.success() || major != 3 || minor < 7 {
        return Err(PythonError::TooOld {
            python: python.to_owned(),
            scripts: scripts.to_owned(),
            version,
        });
    }
    Ok(version)
}
