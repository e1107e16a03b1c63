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

fn register_rouge(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyRougeCore>()?;
    m.add_function(wrap_pyfunction!(rouge_tokenize, m)?)?;
    m.add_function(wrap_pyfunction!(porter_stem, m)?)?;
    m.add_function(wrap_pyfunction!(split_sentences, m)?)?;
    Ok(())
}

/// rouge-score's tokens of `text` (stemmed when `stem`).
#[pyfunction]
#[pyo3(signature = (text, stem=false))]
fn rouge_tokenize(py: Python<'_>, text: &str, stem: bool) -> Vec<String> {
    py.detach(|| crate::rouge::tokenize(text, stem))
}

/// NLTK `PorterStemmer().stem(word)` for a word of `[a-z0-9]` characters.
#[pyfunction]
fn porter_stem(word: &str) -> PyResult<String> {
    if !word.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) {
        return Err(value_error(format!("porter_stem expects [a-z0-9] characters only: {word:?}")));
    }
    Ok(crate::stem::stem(word))
}

/// Our rule-based sentence splitter (rougeLsum with split_summaries).
#[pyfunction]
fn split_sentences(text: &str) -> Vec<String> {
    crate::sentences::split(text).into_iter().map(str::to_string).collect()
}

/// The Rust scorer behind `qmsum_fast.rouge.RougeScorer`. Results are dicts
/// from ROUGE type to `score_class(precision, recall, fmeasure)`, built here
/// with `tuple.__new__` (a namedtuple class or `tuple` itself).
#[pyclass(name = "RougeCore", frozen)]
struct PyRougeCore {
    inner: crate::rouge::Scorer,
    names: Vec<Py<pyo3::types::PyString>>,
    score_class: Py<pyo3::types::PyType>,
    tuple_new: Py<PyAny>,
}

impl PyRougeCore {
    fn to_dict<'py>(
        &self,
        py: Python<'py>,
        scores: &[crate::rouge::Score],
    ) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        let dict = pyo3::types::PyDict::new(py);
        for (name, score) in self.names.iter().zip(scores) {
            let values = pyo3::types::PyTuple::new(py, [score.precision, score.recall, score.fmeasure])?;
            let value = self.tuple_new.bind(py).call1((self.score_class.bind(py), values))?;
            dict.set_item(name.bind(py), value)?;
        }
        Ok(dict)
    }

    fn to_dicts<'py>(
        &self,
        py: Python<'py>,
        rows: Vec<Vec<crate::rouge::Score>>,
    ) -> PyResult<Vec<Bound<'py, pyo3::types::PyDict>>> {
        rows.iter().map(|row| self.to_dict(py, row)).collect()
    }
}

#[pymethods]
impl PyRougeCore {
    #[new]
    #[pyo3(signature = (rouge_types, use_stemmer=false, split_summaries=false, score_class=None))]
    fn new(
        py: Python<'_>,
        rouge_types: Vec<String>,
        use_stemmer: bool,
        split_summaries: bool,
        score_class: Option<Bound<'_, pyo3::types::PyType>>,
    ) -> PyResult<Self> {
        let inner = crate::rouge::Scorer::new(&rouge_types, use_stemmer, split_summaries).map_err(value_error)?;
        let tuple_type = py.get_type::<pyo3::types::PyTuple>();
        let score_class = match score_class {
            Some(class) if class.is_subclass(&tuple_type)? => class,
            Some(_) => return Err(value_error("score_class must be a subclass of tuple")),
            None => tuple_type.clone(),
        };
        Ok(Self {
            inner,
            names: rouge_types.iter().map(|n| pyo3::types::PyString::intern(py, n).unbind()).collect(),
            score_class: score_class.unbind(),
            tuple_new: tuple_type.getattr("__new__")?.unbind(),
        })
    }

    fn score<'py>(&self, py: Python<'py>, target: &str, prediction: &str) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        let scores = py.detach(|| self.inner.score(target, prediction));
        self.to_dict(py, &scores)
    }

    fn score_multi<'py>(
        &self,
        py: Python<'py>,
        targets: Vec<String>,
        prediction: &str,
    ) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        let scores = py.detach(|| self.inner.score_multi(&targets, prediction));
        self.to_dict(py, &scores)
    }

    /// Scores of each (target, prediction) pair, in parallel, GIL released.
    fn score_batch<'py>(
        &self,
        py: Python<'py>,
        targets: Vec<String>,
        predictions: Vec<String>,
    ) -> PyResult<Vec<Bound<'py, pyo3::types::PyDict>>> {
        if targets.len() != predictions.len() {
            return Err(value_error(format!(
                "score_batch: {} targets but {} predictions",
                targets.len(),
                predictions.len()
            )));
        }
        let rows = py.detach(|| self.inner.score_batch(&targets, &predictions));
        self.to_dicts(py, rows)
    }

    /// Best-of-targets scores of each (targets, prediction), in parallel.
    fn score_multi_batch<'py>(
        &self,
        py: Python<'py>,
        targets: Vec<Vec<String>>,
        predictions: Vec<String>,
    ) -> PyResult<Vec<Bound<'py, pyo3::types::PyDict>>> {
        if targets.len() != predictions.len() {
            return Err(value_error(format!(
                "score_multi_batch: {} target lists but {} predictions",
                targets.len(),
                predictions.len()
            )));
        }
        let rows = py.detach(|| self.inner.score_multi_batch(&targets, &predictions));
        self.to_dicts(py, rows)
    }
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

fn register_chunk(_m: &Bound<'_, PyModule>) -> PyResult<()> {
    Ok(())
}

// ---------------------------------------------------------------------------
// rank: extractive baselines and the query locator (rank.rs, bm25, textrank, oracle)
// ---------------------------------------------------------------------------

fn register_rank(_m: &Bound<'_, PyModule>) -> PyResult<()> {
    Ok(())
}
