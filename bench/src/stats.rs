//! Percentiles and throughput of one sample.

use serde::Serialize;

use crate::load::Sample;

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Summary {
    pub tasks: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub tasks_per_s: f64,
}

impl Summary {
    pub fn of(sample: &Sample) -> Summary {
        let mut ms: Vec<f64> = sample
            .latencies
            .iter()
            .map(|l| l.as_secs_f64() * 1e3)
            .collect();
        ms.sort_by(f64::total_cmp);
        Summary {
            tasks: ms.len(),
            p50_ms: nearest_rank(&ms, 0.50),
            p99_ms: nearest_rank(&ms, 0.99),
            tasks_per_s: ms.len() as f64 / sample.elapsed.as_secs_f64(),
        }
    }
}

/// The nearest-rank percentile of sorted values (NaN for none).
fn nearest_rank(sorted: &[f64], quantile: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (quantile * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
