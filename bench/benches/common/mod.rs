//! What every criterion benchmark here shares: one configuration, and reading this run's
//! estimates back for the ratios.

use criterion::Criterion;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Criterion configured for these benchmarks (short phases: the 2-core VM is shared), writing
/// to `target/criterion-NAME`, the folder [`mean_ns`] reads.
pub fn criterion(name: &str) -> (Criterion, PathBuf) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../target/criterion-{name}"));
    let c = Criterion::default()
        .output_directory(&dir)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
        .configure_from_args();
    (c, dir)
}

/// Criterion's mean for `name` in this run, in nanoseconds.
pub fn mean_ns(dir: &Path, name: &str) -> Option<f64> {
    let path = dir.join(name.replace('/', "_")).join("new/estimates.json");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    json["mean"]["point_estimate"].as_f64()
}
