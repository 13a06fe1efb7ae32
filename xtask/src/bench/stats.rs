//! The statistics of the report: times per call, medians, and ratios paired by round.

pub(super) fn per(ns: u64, count: u64) -> f64 {
    ns as f64 / count as f64
}

pub(super) fn median(values: &[u64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid] as f64
    } else {
        f64::midpoint(sorted[mid - 1] as f64, sorted[mid] as f64)
    }
}

pub(super) fn median_f64(values: &mut [f64]) -> f64 {
    values.sort_unstable_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        f64::midpoint(values[mid - 1], values[mid])
    }
}

/// The median over rounds of (time per call of `values`) / (time per call of `base`), each
/// pair measured in the same round: less sensitive to load that drifts between rounds.
pub(super) fn paired_ratio(values: &[u64], count: u64, base: &[u64], base_count: u64) -> f64 {
    let mut ratios: Vec<f64> = values
        .iter()
        .zip(base)
        .map(|(&v, &b)| per(v, count) / per(b, base_count))
        .collect();
    median_f64(&mut ratios)
}

pub(super) fn min_max(values: &[u64]) -> (u64, u64) {
    (
        values.iter().copied().min().unwrap_or(0),
        values.iter().copied().max().unwrap_or(0),
    )
}

/// The median over rounds of (`values` / `base`) - (`other` / `base`), all three measured in
/// the same round, all `count` calls long: how far apart two settings are, in units of the
/// untraced time.
pub(super) fn paired_ratio_difference(values: &[u64], other: &[u64], base: &[u64]) -> f64 {
    let mut differences: Vec<f64> = values
        .iter()
        .zip(other)
        .zip(base)
        .map(|((&v, &o), &b)| (v as f64 - o as f64) / b as f64)
        .collect();
    median_f64(&mut differences)
}

/// `value` rounded to `decimals` places, for figures written to JSON.
pub(super) fn rounded(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}
