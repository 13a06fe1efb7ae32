//! The user-side pipeline alone: recorded kernel records replayed through decode -> record ->
//! strace text and -> JSON on one core (dualstack-user's example `pipeline_bench`), and the
//! mean size of those records: the ring buffer's bytes per event.

use std::process::Command;

use anyhow::{bail, Context as _, Result};
use serde_json::json;

use super::stats::rounded;

/// Issue 9's targets for the user side alone, on one core.
pub(super) const TARGET_STRACE_RATE: f64 = 2_000_000.0;
pub(super) const TARGET_JSON_RATE: f64 = 1_000_000.0;

pub(super) struct PipelineResults {
    /// What the example printed, shown as it is.
    pub(super) text: String,
    /// Mean size of the captured kernel records.
    pub(super) record_bytes: f64,
    /// (output, events per second, output bytes per event).
    pub(super) outputs: Vec<(String, f64, f64)>,
}

impl PipelineResults {
    pub(super) fn json(&self) -> serde_json::Value {
        let outputs: serde_json::Map<String, serde_json::Value> = self
            .outputs
            .iter()
            .map(|(name, rate, bytes)| {
                (
                    name.clone(),
                    json!({ "events_per_second": rate.round(), "bytes_per_event": rounded(*bytes, 1) }),
                )
            })
            .collect();
        json!({ "kernel_record_bytes_mean": rounded(self.record_bytes, 2), "outputs": outputs })
    }
}

/// Builds and runs the replay; returns what it printed and the figures in it.
pub(super) fn bench_pipeline() -> Result<PipelineResults> {
    let root = crate::workspace_root();
    let output = Command::new(env!("CARGO"))
        .args([
            "run",
            "--release",
            "--quiet",
            "-p",
            "dualstack-user",
            "--example",
            "pipeline_bench",
            "--",
            "1000000",
        ])
        .current_dir(&root)
        .output()
        .context("cannot run cargo")?;
    if !output.status.success() {
        bail!(
            "the pipeline replay failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    parse(text)
}

/// Reads `kernel records: N captured ..., B bytes each on average` and the lines
/// `pipeline NAME: R events/s, B bytes/event`.
fn parse(text: String) -> Result<PipelineResults> {
    let context = || format!("unexpected pipeline_bench output: {text:?}");
    let records_line = text
        .lines()
        .find(|l| l.starts_with("kernel records:"))
        .with_context(context)?;
    let record_bytes = number_before(records_line, "bytes").with_context(context)?;
    let mut outputs = Vec::new();
    for line in text.lines() {
        let Some((name, figures)) = line
            .strip_prefix("pipeline ")
            .and_then(|rest| rest.split_once(':'))
        else {
            continue;
        };
        let rate = number_before(figures, "events/s").with_context(context)?;
        let bytes = number_before(figures, "bytes/event").with_context(context)?;
        outputs.push((name.trim().to_owned(), rate, bytes));
    }
    Ok(PipelineResults {
        text,
        record_bytes,
        outputs,
    })
}

/// The number just before the word `unit` in `line`.
fn number_before(line: &str, unit: &str) -> Option<f64> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words.iter().position(|w| w.trim_end_matches(',') == unit)?;
    words.get(at.checked_sub(1)?)?.parse().ok()
}
