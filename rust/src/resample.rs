//! Resampling by meeting: intervals and paired tests that respect the
//! clustering of QMSum's queries (about 8 queries share each meeting, and a
//! model that handles a meeting badly does so for all its queries).
//!
//! Examples are grouped into clusters (meetings) `0..k`; every column (a
//! score type, or the per-example differences of two runs) is summed per
//! cluster once, in example order, and every statistic is built from those
//! sums:
//!
//! - [`bootstrap_means`]: the cluster bootstrap: each sample draws `k`
//!   clusters with replacement and keeps all their examples; its mean is the
//!   drawn clusters' sums added in draw order over their example counts. The
//!   same draws serve every column, so columns resample jointly.
//! - [`percentiles`]: numpy's default (linear) percentile of those means.
//! - [`sign_flip_p_values`]: the paired permutation test: under "no
//!   difference" each cluster's summed difference is as likely negative as
//!   positive, so its sign flips with all its examples. The statistic is the
//!   summed difference `T = sum_c s_c S_c`; the two-sided p-value is the share
//!   of sign vectors with `|T*| >= |T_obs|` (up to [`TIE_TOLERANCE`]), the
//!   identity included. With at most [`EXACT_MAX_CLUSTERS`] clusters all `2^k`
//!   sign vectors are enumerated (exact p-value, `hits / 2^k`); beyond, `samples`
//!   seeded draws give `(1 + hits) / (1 + samples)` (Phipson & Smyth 2010:
//!   the observed vector counts once, so p is never 0).
//! - [`holm`]: Holm's step-down adjustment of a family of p-values.
//! - [`clustered_variance`]: the variance of the mean under clustering (the
//!   cluster-robust estimate), as if independent, their ratio (the design
//!   effect) and the minimum detectable difference at 80% power and the 5%
//!   level.
//!
//! The random numbers are SplitMix64 (Steele, Lea and Flood 2014) seeded with
//! the seed itself; an index below `n` is Lemire's multiply-shift with
//! rejection (unbiased). The bootstrap draws sample after sample, `k` indices
//! each; the sign test draws `ceil(k / 64)` words per sample, cluster `c`
//! taking bit `c % 64` of word `c / 64` (set: negative). Same seed, same
//! numbers, on every platform.

use rayon::prelude::*;

/// Clusters up to which the sign-flip test enumerates all `2^k` sign vectors.
pub const EXACT_MAX_CLUSTERS: usize = 20;
/// `|T*|` counts as at least `|T_obs|` when it falls short by no more than this
/// share of `sum_c |S_c|`: sign vectors whose statistic equals the observed one
/// in exact arithmetic must not be lost to rounding (the sums are added in
/// different orders of signs).
pub const TIE_TOLERANCE: f64 = 1e-9;
/// z-quantiles of the two-sided 5% level and of 80% power.
const Z_975: f64 = 1.959_963_984_540_054;
const Z_80: f64 = 0.841_621_233_572_914_3;

/// SplitMix64: a 64-bit generator with one word of state.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`): the high word of `x * n`, redrawn while
    /// the low word falls below `2^64 mod n` (Lemire 2019), so no index is favoured.
    pub fn below(&mut self, n: u64) -> u64 {
        let threshold = n.wrapping_neg() % n;
        loop {
            let product = u128::from(self.next_u64()) * u128::from(n);
            if product as u64 >= threshold {
                return (product >> 64) as u64;
            }
        }
    }
}

/// Examples grouped into clusters `0..count`: each example's cluster and each
/// cluster's number of examples.
#[derive(Debug, Clone)]
pub struct Clusters {
    of: Vec<usize>,
    sizes: Vec<usize>,
}

impl Clusters {
    /// `of[i]`: the cluster of example `i`; every cluster from 0 to the
    /// largest named must hold an example.
    pub fn new(of: &[usize]) -> Result<Self, String> {
        if of.is_empty() {
            return Err("no examples to resample".into());
        }
        let count = of.iter().max().map_or(0, |&c| c + 1);
        let mut sizes = vec![0usize; count];
        for &c in of {
            sizes[c] += 1;
        }
        if let Some(empty) = sizes.iter().position(|&n| n == 0) {
            return Err(format!("cluster {empty} holds no example"));
        }
        Ok(Self {
            of: of.to_vec(),
            sizes,
        })
    }

    pub fn count(&self) -> usize {
        self.sizes.len()
    }

    pub fn examples(&self) -> usize {
        self.of.len()
    }

    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }

    /// Per cluster, the sum of its examples' `values`, added in example order.
    pub fn sums(&self, values: &[f64]) -> Result<Vec<f64>, String> {
        if values.len() != self.of.len() {
            return Err(format!(
                "{} values for {} examples",
                values.len(),
                self.of.len()
            ));
        }
        let mut sums = vec![0.0; self.count()];
        for (&c, &value) in self.of.iter().zip(values) {
            sums[c] += value;
        }
        Ok(sums)
    }

    fn column_sums(&self, columns: &[Vec<f64>]) -> Result<Vec<Vec<f64>>, String> {
        columns.iter().map(|column| self.sums(column)).collect()
    }
}

/// The clusters each bootstrap sample draws: `samples` rows of `clusters`
/// indices, row after row from one SplitMix64 stream seeded with `seed`.
pub fn bootstrap_draws(clusters: usize, samples: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = SplitMix64::new(seed);
    (0..samples)
        .map(|_| {
            (0..clusters)
                .map(|_| rng.below(clusters as u64) as usize)
                .collect()
        })
        .collect()
}

/// Per column, the mean of each of `samples` cluster-bootstrap samples
/// (the draws of [`bootstrap_draws`]).
pub fn bootstrap_means(
    columns: &[Vec<f64>],
    clusters: &Clusters,
    samples: usize,
    seed: u64,
) -> Result<Vec<Vec<f64>>, String> {
    let sums = clusters.column_sums(columns)?;
    let k = clusters.count();
    let mut rng = SplitMix64::new(seed);
    let mut means = vec![Vec::with_capacity(samples); columns.len()];
    let mut drawn = vec![0usize; k];
    let mut totals = vec![0.0; columns.len()];
    for _ in 0..samples {
        let mut count = 0usize;
        for slot in drawn.iter_mut() {
            *slot = rng.below(k as u64) as usize;
            count += clusters.sizes[*slot];
        }
        for (total, column) in totals.iter_mut().zip(&sums) {
            *total = 0.0;
            for &c in &drawn {
                *total += column[c];
            }
        }
        for (mean, total) in means.iter_mut().zip(&totals) {
            mean.push(total / count as f64);
        }
    }
    Ok(means)
}

/// Per column, the percentiles `q` (in percent) of its [`bootstrap_means`]:
/// the interval bounds, without handing every sample back.
pub fn bootstrap_percentiles(
    columns: &[Vec<f64>],
    clusters: &Clusters,
    samples: usize,
    seed: u64,
    q: &[f64],
) -> Result<Vec<Vec<f64>>, String> {
    if samples == 0 {
        return Err("the bootstrap needs samples >= 1".into());
    }
    bootstrap_means(columns, clusters, samples, seed)?
        .iter()
        .map(|means| percentiles(means, q))
        .collect()
}

/// The percentiles `q` (in percent, 0 to 100) of `values`, numpy's default
/// (linear) method to the last bit: virtual index `(n - 1) * q / 100`, and
/// numpy's `_lerp` between its neighbours.
pub fn percentiles(values: &[f64], q: &[f64]) -> Result<Vec<f64>, String> {
    if values.is_empty() {
        return Err("no values to take percentiles of".into());
    }
    if values.iter().any(|v| v.is_nan()) {
        return Err("a value is NaN".into());
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    q.iter()
        .map(|&percent| {
            if !(0.0..=100.0).contains(&percent) {
                return Err(format!("percentile {percent} is not between 0 and 100"));
            }
            Ok(linear_percentile(&sorted, percent))
        })
        .collect()
}

fn linear_percentile(sorted: &[f64], percent: f64) -> f64 {
    let last = sorted.len() - 1;
    let index = last as f64 * (percent / 100.0);
    let below = index.floor();
    if index >= last as f64 {
        return sorted[last];
    }
    let (a, b) = (sorted[below as usize], sorted[below as usize + 1]);
    let gamma = index - below;
    let difference = b - a;
    if gamma >= 0.5 {
        b - difference * (1.0 - gamma)
    } else {
        a + difference * gamma
    }
}

/// Per column of per-example differences, the two-sided p-value of the
/// sign-flip test by cluster, and whether it is exact (all `2^k` sign
/// vectors) or from `samples` seeded draws (more than
/// [`EXACT_MAX_CLUSTERS`] clusters). All columns share the sign vectors.
pub fn sign_flip_p_values(
    columns: &[Vec<f64>],
    clusters: &Clusters,
    samples: usize,
    seed: u64,
) -> Result<(Vec<f64>, bool), String> {
    let sums = clusters.column_sums(columns)?;
    let k = clusters.count();
    if k <= EXACT_MAX_CLUSTERS {
        let p = sums.iter().map(|column| exact_sign_flip(column)).collect();
        return Ok((p, true));
    }
    if samples == 0 {
        return Err(format!(
            "{k} clusters are too many to enumerate: the sign-flip test needs samples >= 1"
        ));
    }
    Ok((sampled_sign_flip(&sums, samples, seed), false))
}

/// `|T_obs|` less the tolerance: a statistic at least this large is a hit.
fn hit_threshold(sums: &[f64]) -> f64 {
    let observed: f64 = signed_sum(sums, |_| 0).abs();
    let scale: f64 = sums.iter().map(|s| s.abs()).sum();
    observed - TIE_TOLERANCE * scale
}

/// `sum_c s_c S_c` added in cluster order, `s_c = -1` where `negative(c)` is 1
/// (else 0). The sign bit is flipped rather than branched on: random signs
/// would mispredict half the branches, and flipping it is exactly `-S_c`.
fn signed_sum(sums: &[f64], negative: impl Fn(usize) -> u64) -> f64 {
    let mut total = 0.0;
    for (c, &s) in sums.iter().enumerate() {
        total += f64::from_bits(s.to_bits() ^ (negative(c) << 63));
    }
    total
}

fn exact_sign_flip(sums: &[f64]) -> f64 {
    let threshold = hit_threshold(sums);
    // At most EXACT_MAX_CLUSTERS bits: the masks fit in u32.
    let vectors: u32 = 1 << sums.len();
    let hits = (0..vectors)
        .into_par_iter()
        .with_min_len(4096)
        .filter(|&mask| signed_sum(sums, |c| u64::from(mask >> c & 1)).abs() >= threshold)
        .count();
    hits as f64 / vectors as f64
}

fn sampled_sign_flip(sums: &[Vec<f64>], samples: usize, seed: u64) -> Vec<f64> {
    let k = sums.first().map_or(0, Vec::len);
    let thresholds: Vec<f64> = sums.iter().map(|column| hit_threshold(column)).collect();
    let mut hits = vec![0u64; sums.len()];
    let mut rng = SplitMix64::new(seed);
    let mut words = vec![0u64; k.div_ceil(64)];
    for _ in 0..samples {
        next_signs(&mut rng, &mut words);
        let negative = |c: usize| words[c / 64] >> (c % 64) & 1;
        for ((column, &threshold), hit) in sums.iter().zip(&thresholds).zip(hits.iter_mut()) {
            if signed_sum(column, negative).abs() >= threshold {
                *hit += 1;
            }
        }
    }
    hits.iter()
        .map(|&h| (1 + h) as f64 / (1 + samples) as f64)
        .collect()
}

/// One sample's sign vector: `words.len()` words, cluster `c` negative where
/// bit `c % 64` of word `c / 64` is set.
fn next_signs(rng: &mut SplitMix64, words: &mut [u64]) {
    for word in words.iter_mut() {
        *word = rng.next_u64();
    }
}

/// The sign vectors the sampled test draws: `samples` rows of `ceil(clusters / 64)`
/// words (see [`next_signs`]).
pub fn sign_flip_draws(clusters: usize, samples: usize, seed: u64) -> Vec<Vec<u64>> {
    let mut rng = SplitMix64::new(seed);
    (0..samples)
        .map(|_| {
            let mut words = vec![0u64; clusters.div_ceil(64)];
            next_signs(&mut rng, &mut words);
            words
        })
        .collect()
}

/// Holm's step-down adjustment: with the `m` p-values in ascending order
/// (ties in the order given), the `i`-th (from 0) becomes the running maximum
/// of `min(1, (m - i) p)`; each adjusted value is returned in the input's place.
pub fn holm(p_values: &[f64]) -> Result<Vec<f64>, String> {
    if let Some(bad) = p_values.iter().find(|p| !(0.0..=1.0).contains(*p)) {
        return Err(format!("p-value {bad} is not between 0 and 1"));
    }
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    let mut adjusted = vec![0.0; m];
    let mut running: f64 = 0.0;
    for (rank, &index) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p_values[index]).min(1.0));
        adjusted[index] = running;
    }
    Ok(adjusted)
}

/// The variance of a mean of clustered examples, two ways.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusteredVariance {
    pub mean: f64,
    /// Cluster-robust: `k / (k - 1) * sum_c (S_c - n_c mean)^2 / N^2`; None with one cluster.
    pub clustered: Option<f64>,
    /// As if the `N` examples were independent: `s^2 / N`, `s^2` the sample
    /// variance (`N - 1` in the denominator); None with one example.
    pub independent: Option<f64>,
    /// `clustered / independent`; None when either is None or `independent` is 0.
    pub design_effect: Option<f64>,
    /// The smallest true difference a two-sided test at the 5% level detects
    /// with 80% power: `(z_0.975 + z_0.80) * sqrt(clustered)`, about 2.80 standard errors.
    pub minimum_detectable: Option<f64>,
}

/// [`ClusteredVariance`] of the mean of `values` grouped by `clusters`.
pub fn clustered_variance(
    values: &[f64],
    clusters: &Clusters,
) -> Result<ClusteredVariance, String> {
    let sums = clusters.sums(values)?;
    let n = values.len() as f64;
    let k = clusters.count();
    let mean = values.iter().sum::<f64>() / n;
    let clustered = (k > 1).then(|| {
        let spread: f64 = sums
            .iter()
            .zip(&clusters.sizes)
            .map(|(&s, &size)| (s - size as f64 * mean).powi(2))
            .sum();
        k as f64 / (k - 1) as f64 * spread / (n * n)
    });
    let independent = (values.len() > 1).then(|| {
        let squares: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
        squares / (n - 1.0) / n
    });
    let design_effect = match (clustered, independent) {
        (Some(c), Some(i)) if i > 0.0 => Some(c / i),
        _ => None,
    };
    Ok(ClusteredVariance {
        mean,
        clustered,
        independent,
        design_effect,
        minimum_detectable: clustered.map(|v| (Z_975 + Z_80) * v.sqrt()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clusters(of: &[usize]) -> Clusters {
        Clusters::new(of).unwrap()
    }

    #[test]
    fn splitmix_matches_the_reference_stream() {
        // The first outputs for seed 0 of the reference C code (Vigna's splitmix64.c).
        let mut rng = SplitMix64::new(0);
        let expected = [
            0xE220_A839_7B1D_CDAFu64,
            0x6E78_9E6A_A1B9_65F4,
            0x06C4_5D18_8009_454F,
        ];
        for value in expected {
            assert_eq!(rng.next_u64(), value);
        }
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut rng = SplitMix64::new(7);
        let mut seen = [0usize; 5];
        for _ in 0..5000 {
            seen[rng.below(5) as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 900 && n < 1100), "{seen:?}");
        assert_eq!(SplitMix64::new(3).below(1), 0);
    }

    #[test]
    fn clusters_refuse_gaps_and_nothing() {
        assert!(Clusters::new(&[]).is_err());
        assert_eq!(
            Clusters::new(&[0, 2]).unwrap_err(),
            "cluster 1 holds no example"
        );
        let c = clusters(&[1, 0, 1]);
        assert_eq!(c.sizes(), &[1, 2]);
        assert_eq!(c.sums(&[1.0, 2.0, 3.0]).unwrap(), vec![2.0, 4.0]);
        assert!(c.sums(&[1.0]).is_err());
    }

    #[test]
    fn bootstrap_means_follow_the_draws() {
        let c = clusters(&[0, 0, 1, 2, 2, 2]);
        let values = vec![0.1, 0.3, 0.5, 0.2, 0.4, 0.9];
        let doubled: Vec<f64> = values.iter().map(|v| 2.0 * v).collect();
        let means = bootstrap_means(&[values.clone(), doubled], &c, 50, 11).unwrap();
        let draws = bootstrap_draws(3, 50, 11);
        let sums = c.sums(&values).unwrap();
        for (s, drawn) in draws.iter().enumerate() {
            let mut total = 0.0;
            let mut count = 0;
            for &d in drawn {
                total += sums[d];
                count += c.sizes()[d];
            }
            assert_eq!(means[0][s], total / count as f64);
            assert_eq!(means[1][s], 2.0 * means[0][s]);
        }
        assert_eq!(
            means,
            bootstrap_means(
                &[values.clone(), values.iter().map(|v| 2.0 * v).collect()],
                &c,
                50,
                11
            )
            .unwrap()
        );
    }

    #[test]
    fn percentiles_are_numpys_linear() {
        // np.percentile([3, 1, 2, 10], [0, 2.5, 50, 97.5, 100])
        let p = percentiles(&[3.0, 1.0, 2.0, 10.0], &[0.0, 2.5, 50.0, 97.5, 100.0]).unwrap();
        assert_eq!(p, vec![1.0, 1.075, 2.5, 9.474999999999998, 10.0]);
        assert!(percentiles(&[], &[50.0]).is_err());
        assert!(percentiles(&[1.0], &[101.0]).is_err());
        assert_eq!(percentiles(&[4.0], &[2.5]).unwrap(), vec![4.0]);
    }

    /// The sign-flip p-value by listing every sign vector, without shortcuts.
    fn brute_force(values: &[f64], of: &[usize]) -> f64 {
        let c = clusters(of);
        let sums = c.sums(values).unwrap();
        let k = sums.len();
        let observed: f64 = sums.iter().sum::<f64>().abs();
        let scale: f64 = sums.iter().map(|s| s.abs()).sum();
        let mut hits = 0;
        for mask in 0..(1u64 << k) {
            let t: f64 = (0..k)
                .map(|i| {
                    if mask >> i & 1 == 1 {
                        -sums[i]
                    } else {
                        sums[i]
                    }
                })
                .fold(0.0, |a, b| a + b);
            if t.abs() >= observed - TIE_TOLERANCE * scale {
                hits += 1;
            }
        }
        hits as f64 / (1u64 << k) as f64
    }

    #[test]
    fn exact_sign_flip_equals_enumeration() {
        let of = [0, 0, 1, 2, 2, 3, 4];
        let values = vec![0.2, 0.1, -0.05, 0.3, 0.0, 0.12, -0.2];
        let (p, exact) =
            sign_flip_p_values(std::slice::from_ref(&values), &clusters(&of), 0, 0).unwrap();
        assert!(exact);
        assert_eq!(p[0], brute_force(&values, &of));
        // All sums equal: every vector but the two all-same-sign ones falls short.
        let (p, _) = sign_flip_p_values(&[vec![0.5; 3]], &clusters(&[0, 1, 2]), 0, 0).unwrap();
        assert_eq!(p[0], 2.0 / 8.0);
        // No difference at all: every vector ties, p = 1.
        let (p, _) = sign_flip_p_values(&[vec![0.0; 4]], &clusters(&[0, 1, 2, 3]), 0, 0).unwrap();
        assert_eq!(p[0], 1.0);
    }

    #[test]
    fn sampled_sign_flip_counts_the_identity_and_is_seeded() {
        let k = EXACT_MAX_CLUSTERS + 5;
        let of: Vec<usize> = (0..k).collect();
        let values: Vec<f64> = (0..k).map(|i| 0.01 * (i as f64 - 3.0)).collect();
        let c = clusters(&of);
        let (p, exact) = sign_flip_p_values(std::slice::from_ref(&values), &c, 999, 5).unwrap();
        assert!(!exact);
        assert_eq!(
            p,
            sign_flip_p_values(std::slice::from_ref(&values), &c, 999, 5)
                .unwrap()
                .0
        );
        assert!(p[0] >= 1.0 / 1000.0 && p[0] <= 1.0);
        // The same p-value from the draws handed out.
        let sums = c.sums(&values).unwrap();
        let threshold = hit_threshold(&sums);
        let hits = sign_flip_draws(k, 999, 5)
            .iter()
            .filter(|w| signed_sum(&sums, |i| w[i / 64] >> (i % 64) & 1).abs() >= threshold)
            .count();
        assert_eq!(p[0], (1 + hits) as f64 / 1000.0);
        // A large shift: only the identity (and near-identity) vectors reach it.
        let shifted: Vec<f64> = (0..k).map(|_| 1.0).collect();
        let (p, _) = sign_flip_p_values(&[shifted], &c, 999, 5).unwrap();
        assert_eq!(p[0], 1.0 / 1000.0);
        assert!(sign_flip_p_values(&[values], &c, 0, 5).is_err());
    }

    #[test]
    fn holm_matches_the_textbook() {
        let adjusted = holm(&[0.01, 0.04, 0.03, 0.005]).unwrap();
        // ascending 0.005, 0.01, 0.03, 0.04 -> 0.02, 0.03, 0.06, 0.06
        assert_eq!(adjusted, vec![0.03, 0.06, 0.06, 0.02]);
        assert_eq!(holm(&[0.6, 0.9]).unwrap(), vec![1.0, 1.0]);
        assert_eq!(holm(&[]).unwrap(), Vec::<f64>::new());
        assert!(holm(&[1.5]).is_err());
    }

    #[test]
    fn design_effect_is_one_without_clustering_and_large_with_it() {
        // One example per cluster: clustered = k/(k-1) * sum (y - mean)^2 / N^2 = s^2 / N.
        let values = vec![0.1, 0.4, 0.2, 0.7];
        let v = clustered_variance(&values, &clusters(&[0, 1, 2, 3])).unwrap();
        assert!((v.design_effect.unwrap() - 1.0).abs() < 1e-12);
        // Clusters whose examples are alike: the design effect nears the cluster size.
        let alike = vec![0.1, 0.1, 0.1, 0.5, 0.5, 0.5, 0.3, 0.3, 0.3];
        let of = [0, 0, 0, 1, 1, 1, 2, 2, 2];
        let v = clustered_variance(&alike, &clusters(&of)).unwrap();
        let independent = 0.24 / 8.0 / 9.0;
        assert!((v.independent.unwrap() - independent).abs() < 1e-15);
        let clustered = 1.5 * (0.6f64.powi(2) * 2.0) / 81.0;
        assert!((v.clustered.unwrap() - clustered).abs() < 1e-15);
        assert!((v.design_effect.unwrap() - clustered / independent).abs() < 1e-9);
        let mdd = v.minimum_detectable.unwrap();
        assert!((mdd - (Z_975 + Z_80) * clustered.sqrt()).abs() < 1e-15);
        let single = clustered_variance(&[0.3, 0.4], &clusters(&[0, 0])).unwrap();
        assert_eq!((single.clustered, single.design_effect), (None, None));
    }
}
