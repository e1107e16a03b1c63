//! Length statistics of token counts: the summary of a list of lengths, and
//! the share of lengths that fit a context window.

/// Summary of a list of lengths; percentiles interpolate linearly between
/// order statistics, as numpy's default does.
#[derive(Debug, Clone, PartialEq)]
pub struct LengthSummary {
    pub count: usize,
    pub mean: f64,
    pub median: f64,
    pub p90: f64,
    pub p95: f64,
    pub min: usize,
    pub max: usize,
}

/// The summary of `lengths`; None when there are none.
pub fn summarize(lengths: &[usize]) -> Option<LengthSummary> {
    if lengths.is_empty() {
        return None;
    }
    let mut sorted = lengths.to_vec();
    sorted.sort_unstable();
    // In 128 bits, the sum of any number of lengths cannot overflow.
    let total: u128 = sorted.iter().map(|&n| n as u128).sum();
    Some(LengthSummary {
        count: sorted.len(),
        mean: total as f64 / sorted.len() as f64,
        median: percentile(&sorted, 50.0),
        p90: percentile(&sorted, 90.0),
        p95: percentile(&sorted, 95.0),
        min: sorted[0],
        max: sorted[sorted.len() - 1],
    })
}

fn percentile(sorted: &[usize], q: f64) -> f64 {
    let rank = q / 100.0 * (sorted.len() - 1) as f64;
    let low = rank.floor() as usize;
    let high = rank.ceil() as usize;
    let fraction = rank - low as f64;
    sorted[low] as f64 + (sorted[high] as f64 - sorted[low] as f64) * fraction
}

/// Share of lengths that fit `window` tokens with `reserve` kept for generation.
pub fn fit_share(lengths: &[usize], window: usize, reserve: usize) -> f64 {
    if lengths.is_empty() {
        return 0.0;
    }
    let budget = window.saturating_sub(reserve);
    lengths.iter().filter(|&&n| n <= budget).count() as f64 / lengths.len() as f64
}

/// [`fit_share`] for each of `windows`, in order.
pub fn fit_shares(lengths: &[usize], windows: &[usize], reserve: usize) -> Vec<f64> {
    windows
        .iter()
        .map(|&window| fit_share(lengths, window, reserve))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_matches_numpy_percentiles() {
        let s = summarize(&[1, 2, 3, 4, 10]).unwrap();
        assert_eq!(s.mean, 4.0);
        assert_eq!(s.median, 3.0);
        assert!((s.p90 - 7.6).abs() < 1e-12);
        assert_eq!((s.min, s.max, s.count), (1, 10, 5));
        assert!(summarize(&[]).is_none());
        let huge = summarize(&[usize::MAX, usize::MAX, 1]).unwrap();
        assert_eq!(huge.mean, (2.0 * usize::MAX as f64 + 1.0) / 3.0);
        assert_eq!(huge.max, usize::MAX);
    }

    #[test]
    fn fit_share_keeps_the_reserve() {
        assert_eq!(fit_share(&[100, 200, 300], 300, 100), 2.0 / 3.0);
        assert_eq!(fit_share(&[], 10, 0), 0.0);
        assert_eq!(fit_share(&[5], 3, usize::MAX), 0.0);
        assert_eq!(
            fit_shares(&[1, 5, usize::MAX], &[4, usize::MAX], 0),
            [1.0 / 3.0, 1.0]
        );
    }
}
