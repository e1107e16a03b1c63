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
    /// Loading parses a large JSON file, so it releases the GIL: callers can
    /// load data in another thread meanwhile.
    #[new]
    fn new(py: Python<'_>, path: &str) -> PyResult<Self> {
        py.detach(|| crate::stats::TokenCounter::from_file(path))
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
        py.detach(|| self.inner.count_batch(&texts))
            .map_err(value_error)
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
    if !word
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return Err(value_error(format!(
            "porter_stem expects [a-z0-9] characters only: {word:?}"
        )));
    }
    Ok(crate::stem::stem(word))
}

/// Our rule-based sentence splitter (rougeLsum with split_summaries).
#[pyfunction]
fn split_sentences(text: &str) -> Vec<String> {
    crate::sentences::split(text)
        .into_iter()
        .map(str::to_string)
        .collect()
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
            let values =
                pyo3::types::PyTuple::new(py, [score.precision, score.recall, score.fmeasure])?;
            let value = self
                .tuple_new
                .bind(py)
                .call1((self.score_class.bind(py), values))?;
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
        let inner = crate::rouge::Scorer::new(&rouge_types, use_stemmer, split_summaries)
            .map_err(value_error)?;
        let tuple_type = py.get_type::<pyo3::types::PyTuple>();
        let score_class = match score_class {
            Some(class) if class.is_subclass(&tuple_type)? => class,
            Some(_) => return Err(value_error("score_class must be a subclass of tuple")),
            None => tuple_type.clone(),
        };
        Ok(Self {
            inner,
            names: rouge_types
                .iter()
                .map(|n| pyo3::types::PyString::intern(py, n).unbind())
                .collect(),
            score_class: score_class.unbind(),
            tuple_new: tuple_type.getattr("__new__")?.unbind(),
        })
    }

    fn score<'py>(
        &self,
        py: Python<'py>,
        target: &str,
        prediction: &str,
    ) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
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

fn register_text(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(treebank_tokenize, m)?)?;
    m.add_function(wrap_pyfunction!(punkt_sentences, m)?)?;
    m.add_function(wrap_pyfunction!(word_tokenize, m)?)?;
    m.add_function(wrap_pyfunction!(qmsum_tokenize_texts, m)?)?;
    m.add_function(wrap_pyfunction!(qmsum_transcripts, m)?)?;
    m.add_function(wrap_pyfunction!(qmsum_raw_transcripts, m)?)?;
    Ok(())
}

/// The tokens of one sentence, as NLTK 3.8.1's `NLTKWordTokenizer().tokenize`.
#[pyfunction]
fn treebank_tokenize(sentence: &str) -> Vec<String> {
    crate::treebank::tokens(sentence)
}

/// The sentences of `text`, as an untrained `PunktSentenceTokenizer().tokenize`.
#[pyfunction]
fn punkt_sentences(text: &str) -> Vec<String> {
    crate::punkt::sentences(text)
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// `nltk.word_tokenize(text)` with the untrained Punkt splitter (no lowercasing).
#[pyfunction]
fn word_tokenize(text: &str) -> Vec<String> {
    crate::text::word_tokenize(text)
}

/// Queries or answers the QMSum way (lowercased, tokens joined by spaces), in parallel.
#[pyfunction]
fn qmsum_tokenize_texts(py: Python<'_>, texts: Vec<String>) -> Vec<String> {
    py.detach(|| crate::text::tokenize_texts(&texts))
}

/// Each meeting's `(speaker, content)` turns as one QMSum-preprocessed transcript.
#[pyfunction]
fn qmsum_transcripts(py: Python<'_>, meetings: Vec<Vec<(String, String)>>) -> Vec<String> {
    py.detach(|| crate::text::transcripts(&meetings))
}

/// Transcripts given as one string, tokenized and cleaned the QMSum way.
#[pyfunction]
fn qmsum_raw_transcripts(py: Python<'_>, texts: Vec<String>) -> Vec<String> {
    py.detach(|| crate::text::raw_transcripts(&texts))
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

fn register_rank(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(split_turn_sentences, m)?)?;
    m.add_function(wrap_pyfunction!(score_units, m)?)?;
    m.add_function(wrap_pyfunction!(select_within_budget, m)?)?;
    m.add_function(wrap_pyfunction!(merge_spans, m)?)?;
    m.add_function(wrap_pyfunction!(locate_turns, m)?)?;
    m.add_function(wrap_pyfunction!(oracle_select, m)?)?;
    m.add_function(wrap_pyfunction!(oracle_select_batch, m)?)?;
    m.add_class::<PyOracleUnits>()?;
    Ok(())
}

/// Sentences of a turn, cut after `.`, `?` or `!` followed by whitespace.
#[pyfunction]
fn split_turn_sentences(text: &str) -> Vec<String> {
    crate::rank::split_sentences(text)
}

/// Relevance of each unit: "bm25" or "tfidf" against the query, or
/// "textrank" (query ignored).
#[pyfunction]
fn score_units(
    py: Python<'_>,
    units: Vec<String>,
    query: &str,
    method: &str,
) -> PyResult<Vec<f64>> {
    let method = crate::locate::Method::parse(method).map_err(value_error)?;
    py.detach(|| crate::locate::score_units(&units, query, method))
        .map_err(value_error)
}

/// Units taken in `order` within `budget` ("stop", "skip" or "reach"), in
/// document order.
#[pyfunction]
fn select_within_budget(
    order: Vec<usize>,
    lengths: Vec<usize>,
    budget: usize,
    fill: &str,
) -> PyResult<Vec<usize>> {
    let fill = match fill {
        "stop" => crate::rank::Fill::Stop,
        "skip" => crate::rank::Fill::Skip,
        "reach" => crate::rank::Fill::Reach,
        other => {
            return Err(value_error(format!(
                "unknown fill rule {other:?} (use stop, skip or reach)"
            )))
        }
    };
    if let Some(bad) = order.iter().find(|&&i| i >= lengths.len()) {
        return Err(value_error(format!(
            "unit {bad} out of range: {} units",
            lengths.len()
        )));
    }
    Ok(crate::rank::select_within_budget(
        &order, &lengths, budget, fill,
    ))
}

/// Sorted, distinct indices merged into inclusive spans of neighbours.
#[pyfunction]
fn merge_spans(mut indices: Vec<usize>) -> Vec<(usize, usize)> {
    indices.sort_unstable();
    indices.dedup();
    crate::rank::merge_spans(&indices)
}

/// Inclusive spans of the best turns for the query within the token budget,
/// turn scores smoothed over `window` neighbours on each side.
#[pyfunction]
// window: crate::locate::DEFAULT_WINDOW, written out so Python sees the value.
#[pyo3(signature = (turns, token_counts, query, budget, method="bm25", window=16))]
fn locate_turns(
    py: Python<'_>,
    turns: Vec<String>,
    token_counts: Vec<usize>,
    query: &str,
    budget: usize,
    method: &str,
    window: usize,
) -> PyResult<Vec<(usize, usize)>> {
    let method = crate::locate::Method::parse(method).map_err(value_error)?;
    py.detach(|| crate::locate::locate(&turns, &token_counts, query, budget, method, window))
        .map_err(value_error)
}

fn oracle_limits(
    max_units: Option<usize>,
    max_tokens: Option<usize>,
) -> crate::oracle::OracleLimits {
    crate::oracle::OracleLimits {
        max_units,
        max_tokens,
    }
}

/// Greedy ROUGE-1 + ROUGE-2 F oracle: indices of the chosen units.
#[pyfunction]
#[pyo3(signature = (units, references, stem=true, max_units=None, max_tokens=None))]
fn oracle_select(
    py: Python<'_>,
    units: Vec<String>,
    references: Vec<String>,
    stem: bool,
    max_units: Option<usize>,
    max_tokens: Option<usize>,
) -> Vec<usize> {
    py.detach(|| {
        crate::oracle::OracleUnits::from_texts(&units, stem).select_texts(
            &references,
            stem,
            oracle_limits(max_units, max_tokens),
        )
    })
}

/// One meeting's units tokenized once, for the oracle over its queries.
#[pyclass(name = "OracleUnits", frozen)]
struct PyOracleUnits {
    inner: crate::oracle::OracleUnits,
    stem: bool,
}

#[pymethods]
impl PyOracleUnits {
    #[new]
    #[pyo3(signature = (units, stem=true))]
    fn new(py: Python<'_>, units: Vec<String>, stem: bool) -> Self {
        let inner = py.detach(|| crate::oracle::OracleUnits::from_texts(&units, stem));
        Self { inner, stem }
    }

    /// Indices of the chosen units for these references.
    #[pyo3(signature = (references, max_units=None, max_tokens=None))]
    fn select(
        &self,
        py: Python<'_>,
        references: Vec<String>,
        max_units: Option<usize>,
        max_tokens: Option<usize>,
    ) -> Vec<usize> {
        py.detach(|| {
            self.inner
                .select_texts(&references, self.stem, oracle_limits(max_units, max_tokens))
        })
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }
}

/// The oracle for many queries: `queries[i] = (meeting index, references)`.
/// Each meeting's units are tokenized once; queries run in parallel.
#[pyfunction]
#[pyo3(signature = (meetings, queries, stem=true, max_units=None, max_tokens=None))]
fn oracle_select_batch(
    py: Python<'_>,
    meetings: Vec<Vec<String>>,
    queries: Vec<(usize, Vec<String>)>,
    stem: bool,
    max_units: Option<usize>,
    max_tokens: Option<usize>,
) -> PyResult<Vec<Vec<usize>>> {
    if let Some((bad, _)) = queries.iter().find(|(m, _)| *m >= meetings.len()) {
        return Err(value_error(format!(
            "query refers to meeting {bad}, but there are {}",
            meetings.len()
        )));
    }
    let limits = oracle_limits(max_units, max_tokens);
    Ok(py.detach(|| {
        use rayon::prelude::*;
        let prepared: Vec<crate::oracle::OracleUnits> = meetings
            .par_iter()
            .map(|units| crate::oracle::OracleUnits::from_texts(units, stem))
            .collect();
        queries
            .par_iter()
            .map(|(meeting, references)| prepared[*meeting].select_texts(references, stem, limits))
            .collect()
    }))
}
