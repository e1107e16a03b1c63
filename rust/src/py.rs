//! PyO3 glue: converts arguments, releases the GIL around bulk work, maps errors
//! to Python exceptions. No logic lives here; it calls the pure modules.
//!
//! Each concern registers its functions in its own `register_*` function so that
//! the sections below stay independent.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

#[pymodule]
#[pyo3(name = "_core")]
fn core_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    register_stats(m)?;
    register_rouge(m)?;
    register_text(m)?;
    register_chunk(m)?;
    register_rank(m)?;
    Ok(())
}

fn value_error(err: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(err.to_string())
}

// ---------------------------------------------------------------------------
// stats: exact token counting (stats.rs)
// ---------------------------------------------------------------------------

fn register_stats(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyTokenCounter>()?;
    m.add_function(wrap_pyfunction!(length_summary, m)?)?;
    m.add_function(wrap_pyfunction!(fit_shares, m)?)?;
    Ok(())
}

/// count, mean, median, p90, p95, min and max of `lengths`; None when empty.
#[pyfunction]
fn length_summary(lengths: Vec<usize>) -> Option<std::collections::HashMap<&'static str, f64>> {
    let s = crate::stats::summarize(&lengths)?;
    Some(
        [
            ("count", s.count as f64),
            ("mean", s.mean),
            ("median", s.median),
            ("p90", s.p90),
            ("p95", s.p95),
            ("min", s.min as f64),
            ("max", s.max as f64),
        ]
        .into_iter()
        .collect(),
    )
}

/// Share of `lengths` within each window once `reserve` tokens are kept back.
#[pyfunction]
fn fit_shares(lengths: Vec<usize>, windows: Vec<usize>, reserve: usize) -> Vec<f64> {
    windows
        .iter()
        .map(|&window| crate::stats::fit_share(&lengths, window, reserve))
        .collect()
}

/// Counts tokens exactly as HF tokenizers `encode(text, add_special_tokens=False)`.
#[pyclass(name = "TokenCounter", frozen)]
struct PyTokenCounter {
    inner: crate::stats::TokenCounter,
}

#[pymethods]
impl PyTokenCounter {
    #[new]
    fn new(path: &str) -> PyResult<Self> {
        crate::stats::TokenCounter::from_file(path)
            .map(|inner| Self { inner })
            .map_err(value_error)
    }

    /// A counter from tokenizer.json text (e.g. `backend_tokenizer.to_str()`).
    #[staticmethod]
    fn from_json(json: &str) -> PyResult<Self> {
        crate::stats::TokenCounter::from_json(json)
            .map(|inner| Self { inner })
            .map_err(value_error)
    }

    /// Token counts of each text, in parallel, with the GIL released.
    fn count_batch(&self, py: Python<'_>, texts: Vec<String>) -> PyResult<Vec<usize>> {
        py.detach(|| self.inner.count_batch(&texts)).map_err(value_error)
    }

    /// Token counts of `prefix + transcript + suffix` prompts. Each distinct
    /// transcript is tokenized once where the tokenizer allows it exactly.
    fn count_prompts(
        &self,
        py: Python<'_>,
        transcripts: Vec<String>,
        prompts: Vec<(String, usize, String)>,
    ) -> PyResult<Vec<usize>> {
        py.detach(|| self.inner.count_prompts(&transcripts, &prompts))
            .map_err(value_error)
    }

    /// True when prompts sharing a transcript are counted from one tokenization.
    #[getter]
    fn splits_exactly(&self) -> bool {
        self.inner.splits_exactly()
    }
}

// ---------------------------------------------------------------------------
// rouge: ROUGE scoring, tokenizer and Porter stemmer (rouge.rs, stem.rs)
// ---------------------------------------------------------------------------

fn register_rouge(_m: &Bound<'_, PyModule>) -> PyResult<()> {
    Ok(())
}

// ---------------------------------------------------------------------------
// text: QMSum preprocessing (Treebank-style word tokenization)
// ---------------------------------------------------------------------------

fn register_text(_m: &Bound<'_, PyModule>) -> PyResult<()> {
    Ok(())
}

// ---------------------------------------------------------------------------
// chunk: transcript chunking into token budgets (chunk.rs)
// ---------------------------------------------------------------------------

fn register_chunk(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(chunk_turn_counts, m)?)?;
    m.add_function(wrap_pyfunction!(chunk_turns, m)?)?;
    Ok(())
}

fn chunk_tuples(chunks: Vec<crate::chunk::Chunk>) -> Vec<(usize, usize, usize)> {
    chunks
        .into_iter()
        .map(|c| (c.start, c.end, c.tokens))
        .collect()
}

/// `(start, end, tokens)` chunks (inclusive turn ranges) from per-turn counts.
#[pyfunction]
#[pyo3(signature = (turn_tokens, budget, overlap=0, separator_tokens=0))]
fn chunk_turn_counts(
    turn_tokens: Vec<usize>,
    budget: usize,
    overlap: usize,
    separator_tokens: usize,
) -> PyResult<Vec<(usize, usize, usize)>> {
    crate::chunk::chunk_counts(&turn_tokens, budget, overlap, separator_tokens)
        .map(chunk_tuples)
        .map_err(value_error)
}

/// `(start, end, tokens)` chunks whose joined turn text is counted exactly.
#[pyfunction]
#[pyo3(signature = (counter, turns, budget, overlap=0, separator="\n"))]
fn chunk_turns(
    py: Python<'_>,
    counter: &PyTokenCounter,
    turns: Vec<String>,
    budget: usize,
    overlap: usize,
    separator: &str,
) -> PyResult<Vec<(usize, usize, usize)>> {
    py.detach(|| crate::chunk::chunk_turns(&counter.inner, &turns, separator, budget, overlap))
        .map(chunk_tuples)
        .map_err(value_error)
}

// ---------------------------------------------------------------------------
// rank: extractive baselines and the query locator (rank.rs, bm25, textrank, oracle)
// ---------------------------------------------------------------------------

fn register_rank(_m: &Bound<'_, PyModule>) -> PyResult<()> {
    Ok(())
}
