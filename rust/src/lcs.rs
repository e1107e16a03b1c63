//! Longest common subsequences, bit-parallel, with rouge-score's backtracking.
//!
//! The bit-parallel algorithm (Allison-Dix 1986, Hyyrö 2004) keeps, for one
//! column `j` of the classic DP table `T[i][j]` (LCS of `a[..i]` and `b[..j]`),
//! a bit vector `V_j` whose bit `i - 1` is zero exactly when
//! `T[i][j] = T[i - 1][j] + 1`. One step per symbol of `b` updates all rows:
//! `U = V & M[b_j]`, `V = (V + U) | (V - U)`, where `M[s]` has bit `i` set
//! when `a[i] == s`. So `T[i][j]` is the number of zero bits below bit `i` of `V_j`.
//!
//! [`lcs_length_ids`] needs only the last column. [`UnionLcs`] keeps all columns
//! of a sentence pair to read out the same LCS as rouge-score's
//! `_backtrack_norec`, whose choice of LCS decides rougeLsum's union.

/// Marks an id that matches nothing (a token absent from the other text).
pub(crate) const NO_ID: u32 = u32::MAX;

/// Bit masks of a pattern over dense ids: `slot_of[id]` indexes `masks`.
/// Reused across patterns; [`Masks::clear`] resets only the ids it set.
#[derive(Default)]
pub(crate) struct Masks {
    slot_of: Vec<u32>,
    used: Vec<u32>,
    masks: Vec<u64>,
    words: usize,
}

impl Masks {
    /// Loads `pattern` (ids below `vocab_size`, or [`NO_ID`] which never matches).
    pub(crate) fn load(&mut self, pattern: &[u32], vocab_size: usize) {
        self.clear();
        if self.slot_of.len() < vocab_size {
            self.slot_of.resize(vocab_size, NO_ID);
        }
        self.words = pattern.len().div_ceil(64).max(1);
        for (i, &id) in pattern.iter().enumerate() {
            if id == NO_ID {
                continue;
            }
            let mut slot = self.slot_of[id as usize];
            if slot == NO_ID {
                slot = self.used.len() as u32;
                self.slot_of[id as usize] = slot;
                self.used.push(id);
                self.masks.resize(self.masks.len() + self.words, 0);
            }
            self.masks[slot as usize * self.words + i / 64] |= 1 << (i % 64);
        }
    }

    fn clear(&mut self) {
        for &id in &self.used {
            self.slot_of[id as usize] = NO_ID;
        }
        self.used.clear();
        self.masks.clear();
    }

    /// The mask of `id`, if it occurs in the pattern.
    #[inline(always)]
    fn get(&self, id: u32) -> Option<&[u64]> {
        let slot = *self.slot_of.get(id as usize)?;
        (slot != NO_ID)
            .then(|| &self.masks[slot as usize * self.words..(slot as usize + 1) * self.words])
    }
}

/// LCS length of two id sequences over `vocab_size` ids ([`NO_ID`] never matches).
pub(crate) fn lcs_length_ids(a: &[u32], b: &[u32], vocab_size: usize, masks: &mut Masks) -> usize {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.is_empty() {
        return 0;
    }
    masks.load(short, vocab_size);
    if masks.words == 1 {
        let mut v = u64::MAX;
        for &id in long {
            if let Some(m) = masks.get(id) {
                let u = v & m[0];
                v = v.wrapping_add(u) | (v - u);
            }
        }
        return zeros_below(&[v], short.len());
    }
    let mut v = vec![u64::MAX; masks.words];
    for &id in long {
        if let Some(m) = masks.get(id) {
            advance(&mut v, m);
        }
    }
    zeros_below(&v, short.len())
}

/// One step: `V = (V + (V & M)) | (V - (V & M))` over multi-word integers
/// (least significant word first).
#[inline]
fn advance(v: &mut [u64], mask: &[u64]) {
    let mut carry = false;
    let mut borrow = false;
    for (word, &m) in v.iter_mut().zip(mask) {
        let u = *word & m;
        let (sum, c1) = word.overflowing_add(u);
        let (sum, c2) = sum.overflowing_add(carry as u64);
        let (diff, b1) = word.overflowing_sub(u);
        let (diff, b2) = diff.overflowing_sub(borrow as u64);
        carry = c1 || c2;
        borrow = b1 || b2;
        *word = sum | diff;
    }
}

/// `T[i][j]` from column `V_j`: the zero bits among the low `i` bits.
#[inline]
fn zeros_below(v: &[u64], i: usize) -> usize {
    let full = i / 64;
    let mut zeros: usize = v[..full].iter().map(|w| w.count_zeros() as usize).sum();
    let rest = i % 64;
    if rest > 0 {
        zeros += (!v[full] & ((1u64 << rest) - 1)).count_ones() as usize;
    }
    zeros
}

/// rouge-score's `_union_lcs` for one target sentence: marks the target
/// positions of the LCS that `_backtrack_norec` picks against each
/// prediction sentence. Scratch space is reused across calls.
#[derive(Default)]
pub(crate) struct UnionLcs {
    masks: Masks,
    columns: Vec<u64>,
    short_columns: Vec<u128>,
}

impl UnionLcs {
    /// Prepares for target sentence `target` (ids below `vocab_size`).
    pub(crate) fn load(&mut self, target: &[u32], vocab_size: usize) {
        self.masks.load(target, vocab_size);
    }

    /// Sets `hit[i]` for the target positions of the chosen LCS with `prediction`.
    pub(crate) fn mark(&mut self, target: &[u32], prediction: &[u32], hit: &mut [bool]) {
        if self.masks.words <= 2 {
            self.mark_short(target, prediction, hit);
            return;
        }
        let words = self.masks.words;
        self.columns.clear();
        self.columns.resize(words, u64::MAX);
        let mut matched = false;
        for (j, &id) in prediction.iter().enumerate() {
            self.columns.extend_from_within(j * words..(j + 1) * words);
            if let Some(mask) = self.masks.get(id) {
                advance(&mut self.columns[(j + 1) * words..(j + 2) * words], mask);
                matched = true;
            }
        }
        if !matched {
            return;
        }
        let (mut i, mut j) = (target.len(), prediction.len());
        while i > 0 && j > 0 {
            let column = &self.columns[j * words..(j + 1) * words];
            let mask = self.masks.get(prediction[j - 1]);
            // See `mark_short`: the highest row <= i that stops the walk up.
            let mut stop = None;
            for k in (0..i.div_ceil(64)).rev() {
                let below = if (k + 1) * 64 <= i {
                    u64::MAX
                } else {
                    (1u64 << (i - k * 64)) - 1
                };
                let bits = (!column[k] | mask.map_or(0, |m| m[k])) & below;
                if bits != 0 {
                    stop = Some(k * 64 + 64 - bits.leading_zeros() as usize);
                    break;
                }
            }
            let Some(row) = stop else { break };
            i = row;
            if mask.is_some_and(|m| m[(i - 1) / 64] >> ((i - 1) % 64) & 1 == 1) {
                hit[i - 1] = true;
                i -= 1;
            }
            j -= 1;
        }
    }

    /// [`UnionLcs::mark`] for target sentences of at most 128 tokens: V fits a `u128`.
    fn mark_short(&mut self, target: &[u32], prediction: &[u32], hit: &mut [bool]) {
        let masks = &self.masks;
        let mask_of = |id: u32| -> Option<u128> {
            let m = masks.get(id)?;
            Some(if m.len() == 2 {
                (m[1] as u128) << 64 | m[0] as u128
            } else {
                m[0] as u128
            })
        };
        let columns = &mut self.short_columns;
        columns.clear();
        let mut v = u128::MAX;
        columns.push(v);
        for &id in prediction {
            if let Some(mask) = mask_of(id) {
                let u = v & mask;
                v = v.wrapping_add(u) | (v - u);
            }
            columns.push(v);
        }
        if v == u128::MAX {
            return; // no common token: the LCS is empty
        }
        // rouge-score's walk from (i, j): a match goes diagonally; otherwise
        // it goes left when T(i, j - 1) > T(i - 1, j), which (as T(i, j) is
        // the max of the two) is exactly when T grows at row i of column j,
        // i.e. bit i - 1 of V_j is 0. So in column j the walk climbs to the
        // highest row <= i whose bit is 0 in V_j or set in the mask of the
        // prediction token (a match), found with one leading-zeros count.
        let low = |i: usize| {
            if i >= 128 {
                u128::MAX
            } else {
                (1u128 << i) - 1
            }
        };
        let (mut i, mut j) = (target.len(), prediction.len());
        while i > 0 && j > 0 {
            let mask = mask_of(prediction[j - 1]).unwrap_or(0);
            let stops = (!columns[j] | mask) & low(i);
            if stops == 0 {
                break; // the walk climbs to row 0 without another match
            }
            i = 128 - stops.leading_zeros() as usize;
            if mask >> (i - 1) & 1 == 1 {
                hit[i - 1] = true;
                i -= 1;
            }
            j -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// rouge-score's `_lcs_table` + `_backtrack_norec`, as the reference.
    fn dp_lcs_indices(r: &[u32], c: &[u32]) -> (usize, Vec<usize>) {
        let mut t = vec![vec![0usize; c.len() + 1]; r.len() + 1];
        for i in 1..=r.len() {
            for j in 1..=c.len() {
                t[i][j] = if r[i - 1] == c[j - 1] {
                    t[i - 1][j - 1] + 1
                } else {
                    t[i - 1][j].max(t[i][j - 1])
                };
            }
        }
        let (mut i, mut j, mut picked) = (r.len(), c.len(), Vec::new());
        while i > 0 && j > 0 {
            if r[i - 1] == c[j - 1] {
                picked.push(i - 1);
                i -= 1;
                j -= 1;
            } else if t[i][j - 1] > t[i - 1][j] {
                j -= 1;
            } else {
                i -= 1;
            }
        }
        picked.reverse();
        (t[r.len()][c.len()], picked)
    }

    fn random_sequences(seed: u64, rounds: usize) -> Vec<(Vec<u32>, Vec<u32>)> {
        let mut state = seed;
        let mut next = |k: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) % k) as u32
        };
        (0..rounds)
            .map(|round| {
                let alphabet = 1 + (round % 9) as u64;
                let la = next(if round % 3 == 0 { 200 } else { 20 }) as usize;
                let lb = next(if round % 2 == 0 { 150 } else { 20 }) as usize;
                let a = (0..la).map(|_| next(alphabet)).collect();
                let b = (0..lb).map(|_| next(alphabet)).collect();
                (a, b)
            })
            .collect()
    }

    #[test]
    fn lcs_lengths_equal_dp() {
        let mut masks = Masks::default();
        for (a, b) in random_sequences(12345, 600) {
            let (expected, _) = dp_lcs_indices(&a, &b);
            assert_eq!(lcs_length_ids(&a, &b, 9, &mut masks), expected);
        }
    }

    #[test]
    fn union_marks_equal_rouge_score_backtracking() {
        let mut union = UnionLcs::default();
        for (r, c) in random_sequences(987, 3000) {
            let (_, expected) = dp_lcs_indices(&r, &c);
            let mut hit = vec![false; r.len()];
            union.load(&r, 9);
            union.mark(&r, &c, &mut hit);
            let picked: Vec<usize> = (0..r.len()).filter(|&i| hit[i]).collect();
            assert_eq!(picked, expected, "r={r:?} c={c:?}");
        }
    }

    #[test]
    fn absent_ids_never_match() {
        let mut masks = Masks::default();
        assert_eq!(
            lcs_length_ids(&[NO_ID, 1, NO_ID], &[0, 1, 2], 3, &mut masks),
            1
        );
    }
}
