//! What every criterion benchmark here shares: reading this run's estimates for the ratios.

use std::path::Path;

/// Criterion's mean for `name` in this run, in nanoseconds.
pub fn mean_ns(dir: &Path, name: &str) -> Option<f64> {
    let path = dir.join(name.replace('/', "_")).join("new/estimates.json");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    json["mean"]["point_estimate"].as_f64()
}
