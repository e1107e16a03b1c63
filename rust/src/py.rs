//! PyO3 glue: converts arguments, releases the GIL around bulk work, maps errors
//! to the package's `qmsum_fast.errors.InputError`. No logic lives here; it
//! calls the pure modules.
//!
//! Each concern registers its functions in its own `register_*` function so that
//! the sections below stay independent. Boolean flags are keyword-only.

use pyo3::exceptions::PyOverflowError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple, PyType};

use crate::count::Prompt;
use crate::oracle::OracleLimits;

pyo3::import_exception!(qmsum_fast.errors, InputError);

#[pymodule]
#[pyo3(name = "_core")]
fn core_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    register_count(m)?;
    register_stats(m)?;
    register_rouge(m)?;
    register_longbench_rouge(m)?;
    register_preprocess(m)?;
    register_chunk(m)?;
    register_rank(m)?;
    register_fragments(m)?;
    register_resample(m)?;
    Ok(())
}

fn input_error(err: impl std::fmt::Display) -> PyErr {
    InputError::new_err(err.to_string())
}

// ---------------------------------------------------------------------------
// Arguments: Python ints as sizes
// ---------------------------------------------------------------------------

fn is_overflow(py: Python<'_>, err: &PyErr) -> bool {
    err.is_instance_of::<PyOverflowError>(py)
}

/// `value` as a usize. A negative int, or one too large for usize, is an
/// InputError that names the argument (PyO3 alone raises OverflowError); a
/// value that is not an int keeps PyO3's TypeError.
fn size(value: &Bound<'_, PyAny>, name: &str) -> PyResult<usize> {
    value.extract().map_err(|err| {
        if is_overflow(value.py(), &err) {
            input_error(format!(
                "{name} must be an integer from 0 to {}, not {value}",
                usize::MAX
            ))
        } else {
            err
        }
    })
}

/// `extracted` (a value extracted in one go) or, when an int in it did not
/// fit, the value extracted again by `named`, item by item to name the bad one.
fn or_named<T>(
    py: Python<'_>,
    extracted: PyResult<T>,
    named: impl FnOnce() -> PyResult<T>,
) -> PyResult<T> {
    match extracted {
        Err(err) if is_overflow(py, &err) => named(),
        other => other,
    }
}

/// A list of sizes; a bad item is named `name[i]`.
fn sizes(value: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<usize>> {
    or_named(value.py(), value.extract(), || {
        let items: Vec<Bound<'_, PyAny>> = value.extract()?;
        items
            .iter()
            .enumerate()
            .map(|(i, item)| size(item, &format!("{name}[{i}]")))
            .collect()
    })
}

/// Extractors for `#[pyo3(from_py_with = ...)]`, one per argument name, so
/// that an int that does not fit is an InputError naming its argument.
mod arg {
    use super::*;

    macro_rules! sizes {
        ($kind:ident -> $ty:ty: $($name:ident),+) => {
            $(
                pub(super) fn $name(value: &Bound<'_, PyAny>) -> PyResult<$ty> {
                    $kind(value, stringify!($name))
                }
            )+
        };
    }

    sizes!(size -> usize: budget, overlap, separator_tokens, window, reserve);
    sizes!(sizes -> Vec<usize>: lengths, windows, turn_tokens, token_counts, order, group_sizes, counts);
    sizes!(optional_size -> Option<usize>: max_units, max_tokens, max_depth);

    fn optional_size(value: &Bound<'_, PyAny>, name: &str) -> PyResult<Option<usize>> {
        if value.is_none() {
            Ok(None)
        } else {
            size(value, name).map(Some)
        }
    }

    /// `(prefix, transcript index, suffix)` prompts.
    pub(super) fn prompts(value: &Bound<'_, PyAny>) -> PyResult<Vec<Prompt>> {
        or_named(value.py(), value.extract(), || {
            let items: Vec<(String, Bound<'_, PyAny>, String)> = value.extract()?;
            items
                .into_iter()
                .enumerate()
                .map(|(i, (prefix, index, suffix))| {
                    Ok((prefix, size(&index, &format!("prompts[{i}][1]"))?, suffix))
                })
                .collect()
        })
    }

    /// `(meeting index, references)` queries.
    pub(super) fn queries(value: &Bound<'_, PyAny>) -> PyResult<Vec<(usize, Vec<String>)>> {
        or_named(value.py(), value.extract(), || {
            let items: Vec<(Bound<'_, PyAny>, Vec<String>)> = value.extract()?;
            items
                .into_iter()
                .enumerate()
                .map(|(i, (meeting, references))| {
                    Ok((size(&meeting, &format!("queries[{i}][0]"))?, references))
                })
                .collect()
        })
    }
}

// ---------------------------------------------------------------------------
// count: exact token counting (count.rs)
// ---------------------------------------------------------------------------

fn register_count(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyTokenCounter>()
}

/// Counts tokens exactly as HF tokenizers `encode(text, add_special_tokens=False)`.
#[pyclass(name = "TokenCounter", frozen)]
struct PyTokenCounter {
    inner: crate::count::TokenCounter,
}

#[pymethods]
impl PyTokenCounter {
    /// Loading parses a large JSON file, so it releases the GIL: callers can
    /// load data in another thread meanwhile.
    #[new]
    fn new(py: Python<'_>, path: &str) -> PyResult<Self> {
        py.detach(|| crate::count::TokenCounter::from_file(path))
            .map(|inner| Self { inner })
            .map_err(input_error)
    }

    /// A counter from tokenizer.json text (e.g. `backend_tokenizer.to_str()`).
    #[staticmethod]
    fn from_json(json: &str) -> PyResult<Self> {
        crate::count::TokenCounter::from_json(json)
            .map(|inner| Self { inner })
            .map_err(input_error)
    }

    /// Token counts of each text, in parallel, with the GIL released.
    fn count_batch(&self, py: Python<'_>, texts: Vec<String>) -> PyResult<Vec<usize>> {
        py.detach(|| self.inner.count_batch(&texts))
            .map_err(input_error)
    }

    /// Token counts of `prefix + transcript + suffix` prompts. Each distinct
    /// transcript is tokenized once where the tokenizer allows it exactly.
    fn count_prompts(
        &self,
        py: Python<'_>,
        transcripts: Vec<String>,
        #[pyo3(from_py_with = arg::prompts)] prompts: Vec<Prompt>,
    ) -> PyResult<Vec<usize>> {
        py.detach(|| self.inner.count_prompts(&transcripts, &prompts))
            .map_err(input_error)
    }

    /// For each run of `group_sizes` consecutive prompts, the length of the
    /// longest common prefix of their token ids; `counts` are the prompts'
    /// token counts from `count_prompts`.
    fn common_prefix_counts(
        &self,
        py: Python<'_>,
        transcripts: Vec<String>,
        #[pyo3(from_py_with = arg::prompts)] prompts: Vec<Prompt>,
        #[pyo3(from_py_with = arg::group_sizes)] group_sizes: Vec<usize>,
        #[pyo3(from_py_with = arg::counts)] counts: Vec<usize>,
    ) -> PyResult<Vec<usize>> {
        py.detach(|| {
            self.inner
                .common_prefix_counts(&transcripts, &prompts, &group_sizes, &counts)
        })
        .map_err(input_error)
    }

    /// True when prompts sharing a transcript are counted from one tokenization.
    #[getter]
    fn splits_exactly(&self) -> bool {
        self.inner.splits_exactly()
    }
}

// ---------------------------------------------------------------------------
// stats: length statistics (stats.rs)
// ---------------------------------------------------------------------------

fn register_stats(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(length_summary, m)?)?;
    m.add_function(wrap_pyfunction!(fit_shares, m)?)?;
    Ok(())
}

/// count, mean, median, p90, p95, min and max of `lengths` (count, min and
/// max as ints); None when empty.
#[pyfunction]
fn length_summary<'py>(
    py: Python<'py>,
    #[pyo3(from_py_with = arg::lengths)] lengths: Vec<usize>,
) -> PyResult<Option<Bound<'py, PyDict>>> {
    let Some(s) = crate::stats::summarize(&lengths) else {
        return Ok(None);
    };
    let dict = PyDict::new(py);
    dict.set_item("count", s.count)?;
    dict.set_item("mean", s.mean)?;
    dict.set_item("median", s.median)?;
    dict.set_item("p90", s.p90)?;
    dict.set_item("p95", s.p95)?;
    dict.set_item("min", s.min)?;
    dict.set_item("max", s.max)?;
    Ok(Some(dict))
}

/// Share of `lengths` within each window once `reserve` tokens are kept back.
#[pyfunction]
fn fit_shares(
    #[pyo3(from_py_with = arg::lengths)] lengths: Vec<usize>,
    #[pyo3(from_py_with = arg::windows)] windows: Vec<usize>,
    #[pyo3(from_py_with = arg::reserve)] reserve: usize,
) -> Vec<f64> {
    crate::stats::fit_shares(&lengths, &windows, reserve)
}

// ---------------------------------------------------------------------------
// rouge: ROUGE scoring and its tokenizer (rouge.rs, summary_sentences.rs)
// ---------------------------------------------------------------------------

fn register_rouge(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyRougeCore>()?;
    m.add_function(wrap_pyfunction!(rouge_tokenize, m)?)?;
    m.add_function(wrap_pyfunction!(split_summary_sentences, m)?)?;
    Ok(())
}

/// rouge-score's tokens of `text` (stemmed when `stem`).
#[pyfunction]
#[pyo3(signature = (text, *, stem=false))]
fn rouge_tokenize(py: Python<'_>, text: &str, stem: bool) -> Vec<String> {
    py.detach(|| crate::rouge::tokenize(text, stem))
}

/// The sentences rougeLsum scores with `split_summaries`: our rule-based
/// splitter, in place of NLTK's Punkt model.
#[pyfunction]
fn split_summary_sentences(text: &str) -> Vec<String> {
    crate::summary_sentences::split(text)
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// The Rust scorer behind `qmsum_fast.rouge.RougeScorer`. Results are dicts
/// from ROUGE type to `score_class(precision, recall, fmeasure)`, built here
/// with `tuple.__new__` (a namedtuple class or `tuple` itself).
#[pyclass(name = "RougeCore", frozen)]
struct PyRougeCore {
    inner: crate::rouge::Scorer,
    names: Vec<Py<PyString>>,
    score_class: Py<PyType>,
    tuple_new: Py<PyAny>,
}

impl PyRougeCore {
    fn to_dict<'py>(
        &self,
        py: Python<'py>,
        scores: &[crate::rouge::Score],
    ) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (name, score) in self.names.iter().zip(scores) {
            let values = PyTuple::new(py, [score.precision, score.recall, score.fmeasure])?;
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
    ) -> PyResult<Vec<Bound<'py, PyDict>>> {
        rows.iter().map(|row| self.to_dict(py, row)).collect()
    }
}

#[pymethods]
impl PyRougeCore {
    #[new]
    #[pyo3(signature = (rouge_types, *, use_stemmer=false, split_summaries=false, score_class=None))]
    fn new(
        py: Python<'_>,
        rouge_types: Vec<String>,
        use_stemmer: bool,
        split_summaries: bool,
        score_class: Option<Bound<'_, PyType>>,
    ) -> PyResult<Self> {
        let inner = crate::rouge::Scorer::new(&rouge_types, use_stemmer, split_summaries)
            .map_err(input_error)?;
        let tuple_type = py.get_type::<PyTuple>();
        let score_class = match score_class {
            Some(class) if class.is_subclass(&tuple_type)? => class,
            Some(_) => return Err(input_error("score_class must be a subclass of tuple")),
            None => tuple_type.clone(),
        };
        Ok(Self {
            inner,
            names: rouge_types
                .iter()
                .map(|n| PyString::intern(py, n).unbind())
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
    ) -> PyResult<Bound<'py, PyDict>> {
        let scores = py.detach(|| self.inner.score(target, prediction));
        self.to_dict(py, &scores)
    }

    fn score_multi<'py>(
        &self,
        py: Python<'py>,
        targets: Vec<String>,
        prediction: &str,
    ) -> PyResult<Bound<'py, PyDict>> {
        let scores = py.detach(|| self.inner.score_multi(&targets, prediction));
        self.to_dict(py, &scores)
    }

    /// Scores of each (target, prediction) pair, in parallel, GIL released.
    fn score_batch<'py>(
        &self,
        py: Python<'py>,
        targets: Vec<String>,
        predictions: Vec<String>,
    ) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let rows = py
            .detach(|| self.inner.score_batch(&targets, &predictions))
            .map_err(input_error)?;
        self.to_dicts(py, rows)
    }

    /// Best-of-targets scores of each (targets, prediction), in parallel.
    fn score_multi_batch<'py>(
        &self,
        py: Python<'py>,
        targets: Vec<Vec<String>>,
        predictions: Vec<String>,
    ) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let rows = py
            .detach(|| self.inner.score_multi_batch(&targets, &predictions))
            .map_err(input_error)?;
        self.to_dicts(py, rows)
    }
}

// ---------------------------------------------------------------------------
// longbench_rouge: LongBench's ROUGE-L, the `rouge` package 1.0.1 (longbench_rouge.rs)
// ---------------------------------------------------------------------------

fn register_longbench_rouge(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(longbench_rouge_l, m)?)?;
    m.add_function(wrap_pyfunction!(longbench_rouge_scores, m)?)?;
    Ok(())
}

/// rouge 1.0.1's ROUGE-L F of one pair; None where rouge raises. `max_depth`:
/// the most nested backtrack frames that do not raise RecursionError.
#[pyfunction]
#[pyo3(signature = (prediction, reference, max_depth=None))]
fn longbench_rouge_l(
    py: Python<'_>,
    prediction: &str,
    reference: &str,
    #[pyo3(from_py_with = arg::max_depth)] max_depth: Option<usize>,
) -> Option<f64> {
    let scorer = crate::longbench_rouge::LongbenchRouge::new(max_depth);
    py.detach(|| scorer.rouge_l(prediction, reference).ok())
}

/// LongBench's score of each example (best over its references, 0.0 where
/// rouge raises), in parallel with the GIL released.
#[pyfunction]
#[pyo3(signature = (predictions, references, max_depth=None))]
fn longbench_rouge_scores(
    py: Python<'_>,
    predictions: Vec<String>,
    references: Vec<Vec<String>>,
    #[pyo3(from_py_with = arg::max_depth)] max_depth: Option<usize>,
) -> PyResult<Vec<f64>> {
    let scorer = crate::longbench_rouge::LongbenchRouge::new(max_depth);
    py.detach(|| scorer.best_scores(&predictions, &references))
        .map_err(input_error)
}

// ---------------------------------------------------------------------------
// preprocess: the QMSum preprocessing recipe (preprocess.rs)
// ---------------------------------------------------------------------------

fn register_preprocess(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(qmsum_tokenize_texts, m)?)?;
    m.add_function(wrap_pyfunction!(qmsum_transcripts, m)?)?;
    m.add_function(wrap_pyfunction!(qmsum_raw_transcripts, m)?)?;
    Ok(())
}

/// Queries or answers the QMSum way (lowercased, tokens joined by spaces), in parallel.
#[pyfunction]
fn qmsum_tokenize_texts(py: Python<'_>, texts: Vec<String>) -> Vec<String> {
    py.detach(|| crate::preprocess::tokenize_texts(&texts))
}

/// Each meeting's `(speaker, content)` turns as one QMSum-preprocessed transcript.
#[pyfunction]
fn qmsum_transcripts(py: Python<'_>, meetings: Vec<Vec<(String, String)>>) -> Vec<String> {
    py.detach(|| crate::preprocess::transcripts(&meetings))
}

/// Transcripts given as one string, tokenized and cleaned the QMSum way.
#[pyfunction]
fn qmsum_raw_transcripts(py: Python<'_>, texts: Vec<String>) -> Vec<String> {
    py.detach(|| crate::preprocess::raw_transcripts(&texts))
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
    #[pyo3(from_py_with = arg::turn_tokens)] turn_tokens: Vec<usize>,
    #[pyo3(from_py_with = arg::budget)] budget: usize,
    #[pyo3(from_py_with = arg::overlap)] overlap: usize,
    #[pyo3(from_py_with = arg::separator_tokens)] separator_tokens: usize,
) -> PyResult<Vec<(usize, usize, usize)>> {
    crate::chunk::chunk_counts(&turn_tokens, budget, overlap, separator_tokens)
        .map(chunk_tuples)
        .map_err(input_error)
}

/// `(start, end, tokens)` chunks whose joined turn text is counted exactly.
#[pyfunction]
#[pyo3(signature = (counter, turns, budget, overlap=0, separator="\n"))]
fn chunk_turns(
    py: Python<'_>,
    counter: &PyTokenCounter,
    turns: Vec<String>,
    #[pyo3(from_py_with = arg::budget)] budget: usize,
    #[pyo3(from_py_with = arg::overlap)] overlap: usize,
    separator: &str,
) -> PyResult<Vec<(usize, usize, usize)>> {
    py.detach(|| crate::chunk::chunk_turns(&counter.inner, &turns, separator, budget, overlap))
        .map(chunk_tuples)
        .map_err(input_error)
}

// ---------------------------------------------------------------------------
// rank: extractive baselines and the query locator
// (rank.rs, bm25.rs, tfidf.rs, textrank.rs, locate.rs, oracle.rs)
// ---------------------------------------------------------------------------

fn register_rank(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("DEFAULT_WINDOW", crate::locate::DEFAULT_WINDOW)?;
    m.add_function(wrap_pyfunction!(split_turn_sentences, m)?)?;
    m.add_function(wrap_pyfunction!(score_units, m)?)?;
    m.add_function(wrap_pyfunction!(select_within_budget, m)?)?;
    m.add_function(wrap_pyfunction!(locate_turns, m)?)?;
    m.add_function(wrap_pyfunction!(oracle_select, m)?)?;
    m.add_function(wrap_pyfunction!(oracle_select_batch, m)?)?;
    m.add_class::<PyOracleUnits>()?;
    Ok(())
}

/// The sentences a turn is cut into for the sentence baselines: cut after
/// `.`, `?` or `!` followed by whitespace.
#[pyfunction]
fn split_turn_sentences(text: &str) -> Vec<String> {
    crate::rank::split_turn_sentences(text)
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
    let method: crate::locate::Method = method.parse().map_err(input_error)?;
    py.detach(|| crate::locate::score_units(&units, query, method))
        .map_err(input_error)
}

/// Units taken in `order` within `budget` ("stop", "skip" or "reach"), in
/// document order.
#[pyfunction]
fn select_within_budget(
    #[pyo3(from_py_with = arg::order)] order: Vec<usize>,
    #[pyo3(from_py_with = arg::lengths)] lengths: Vec<usize>,
    #[pyo3(from_py_with = arg::budget)] budget: usize,
    fill: &str,
) -> PyResult<Vec<usize>> {
    let fill: crate::rank::Fill = fill.parse().map_err(input_error)?;
    crate::rank::select_within_budget(&order, &lengths, budget, fill).map_err(input_error)
}

/// Inclusive spans of the best turns for the query within the token budget,
/// turn scores smoothed over `window` neighbours on each side (by default
/// `DEFAULT_WINDOW`).
#[pyfunction]
#[pyo3(signature = (turns, token_counts, query, budget, method="bm25", window=crate::locate::DEFAULT_WINDOW))]
fn locate_turns(
    py: Python<'_>,
    turns: Vec<String>,
    #[pyo3(from_py_with = arg::token_counts)] token_counts: Vec<usize>,
    query: &str,
    #[pyo3(from_py_with = arg::budget)] budget: usize,
    method: &str,
    #[pyo3(from_py_with = arg::window)] window: usize,
) -> PyResult<Vec<(usize, usize)>> {
    let method: crate::locate::Method = method.parse().map_err(input_error)?;
    py.detach(|| crate::locate::locate(&turns, &token_counts, query, budget, method, window))
        .map_err(input_error)
}

/// Greedy ROUGE-1 + ROUGE-2 F oracle: indices of the chosen units.
#[pyfunction]
#[pyo3(signature = (units, references, *, stem=true, max_units=None, max_tokens=None))]
fn oracle_select(
    py: Python<'_>,
    units: Vec<String>,
    references: Vec<String>,
    stem: bool,
    #[pyo3(from_py_with = arg::max_units)] max_units: Option<usize>,
    #[pyo3(from_py_with = arg::max_tokens)] max_tokens: Option<usize>,
) -> Vec<usize> {
    let limits = OracleLimits {
        max_units,
        max_tokens,
    };
    py.detach(|| crate::oracle::select(&units, &references, stem, limits))
}

/// One meeting's units tokenized once, for the oracle over its queries.
#[pyclass(name = "OracleUnits", frozen)]
struct PyOracleUnits {
    inner: crate::oracle::OracleUnits,
}

#[pymethods]
impl PyOracleUnits {
    #[new]
    #[pyo3(signature = (units, *, stem=true))]
    fn new(py: Python<'_>, units: Vec<String>, stem: bool) -> Self {
        let inner = py.detach(|| crate::oracle::OracleUnits::new(&units, stem));
        Self { inner }
    }

    /// Indices of the chosen units for these references.
    #[pyo3(signature = (references, max_units=None, max_tokens=None))]
    fn select(
        &self,
        py: Python<'_>,
        references: Vec<String>,
        #[pyo3(from_py_with = arg::max_units)] max_units: Option<usize>,
        #[pyo3(from_py_with = arg::max_tokens)] max_tokens: Option<usize>,
    ) -> Vec<usize> {
        let limits = OracleLimits {
            max_units,
            max_tokens,
        };
        py.detach(|| self.inner.select(&references, limits))
    }
}

/// The oracle for many queries: `queries[i] = (meeting index, references)`.
/// Each meeting's units are tokenized once; queries run in parallel.
#[pyfunction]
#[pyo3(signature = (meetings, queries, *, stem=true, max_units=None, max_tokens=None))]
fn oracle_select_batch(
    py: Python<'_>,
    meetings: Vec<Vec<String>>,
    #[pyo3(from_py_with = arg::queries)] queries: Vec<(usize, Vec<String>)>,
    stem: bool,
    #[pyo3(from_py_with = arg::max_units)] max_units: Option<usize>,
    #[pyo3(from_py_with = arg::max_tokens)] max_tokens: Option<usize>,
) -> PyResult<Vec<Vec<usize>>> {
    let limits = OracleLimits {
        max_units,
        max_tokens,
    };
    py.detach(|| crate::oracle::select_batch(&meetings, &queries, stem, limits))
        .map_err(input_error)
}

// ---------------------------------------------------------------------------
// fragments: faithfulness signals (fragments.rs)
// ---------------------------------------------------------------------------

fn register_fragments(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("DEFAULT_NGRAM", crate::fragments::DEFAULT_NGRAM)?;
    m.add_function(wrap_pyfunction!(fragment_signals, m)?)?;
    Ok(())
}

fn source_of(value: &Bound<'_, PyAny>) -> PyResult<Vec<usize>> {
    sizes(value, "source_of")
}

fn ngram_size(value: &Bound<'_, PyAny>) -> PyResult<usize> {
    size(value, "n")
}

/// `(summary start, source start, length)` of each fragment, in tokens.
type FragmentTuple = (usize, usize, usize);
/// `(tokens, coverage, density, novel n-gram share, fragments)` of one summary.
type SignalsTuple = (
    usize,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Vec<FragmentTuple>,
);

fn signals_tuple(s: crate::fragments::Signals) -> SignalsTuple {
    let fragments = s
        .fragments
        .iter()
        .map(|f| (f.summary_start, f.source_start, f.len))
        .collect();
    (s.tokens, s.coverage, s.density, s.novel_ngrams, fragments)
}

/// Extractive fragments, coverage, density and the novel `n`-gram share of
/// each summary against `sources[source_of[i]]` and `queries[i]`, in
/// parallel with the GIL released.
#[pyfunction]
#[pyo3(signature = (summaries, sources, queries, source_of, *, n=crate::fragments::DEFAULT_NGRAM, stem=false))]
fn fragment_signals(
    py: Python<'_>,
    summaries: Vec<String>,
    sources: Vec<String>,
    queries: Vec<String>,
    #[pyo3(from_py_with = source_of)] source_of: Vec<usize>,
    #[pyo3(from_py_with = ngram_size)] n: usize,
    stem: bool,
) -> PyResult<Vec<SignalsTuple>> {
    let signals = py
        .detach(|| {
            crate::fragments::signals_batch(&summaries, &sources, &queries, &source_of, n, stem)
        })
        .map_err(input_error)?;
    Ok(signals.into_iter().map(signals_tuple).collect())
}

// ---------------------------------------------------------------------------
// resample: intervals and paired tests by meeting (resample.rs)
// ---------------------------------------------------------------------------

fn register_resample(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("EXACT_MAX_CLUSTERS", crate::resample::EXACT_MAX_CLUSTERS)?;
    m.add("TIE_TOLERANCE", crate::resample::TIE_TOLERANCE)?;
    m.add_function(wrap_pyfunction!(cluster_bootstrap_draws, m)?)?;
    m.add_function(wrap_pyfunction!(cluster_bootstrap_means, m)?)?;
    m.add_function(wrap_pyfunction!(sign_flip_draws, m)?)?;
    m.add_function(wrap_pyfunction!(cluster_bootstrap_percentiles, m)?)?;
    m.add_function(wrap_pyfunction!(linear_percentiles, m)?)?;
    m.add_function(wrap_pyfunction!(sign_flip_p_values, m)?)?;
    m.add_function(wrap_pyfunction!(holm_adjust, m)?)?;
    m.add_function(wrap_pyfunction!(clustered_variance, m)?)?;
    Ok(())
}

fn cluster_of(value: &Bound<'_, PyAny>) -> PyResult<crate::resample::Clusters> {
    let of = sizes(value, "clusters")?;
    crate::resample::Clusters::new(&of).map_err(input_error)
}

fn samples(value: &Bound<'_, PyAny>) -> PyResult<usize> {
    size(value, "samples")
}

fn cluster_count(value: &Bound<'_, PyAny>) -> PyResult<usize> {
    size(value, "clusters")
}

/// The clusters each bootstrap sample draws (`samples` rows of `clusters` indices).
#[pyfunction]
fn cluster_bootstrap_draws(
    py: Python<'_>,
    #[pyo3(from_py_with = cluster_count)] clusters: usize,
    #[pyo3(from_py_with = samples)] samples: usize,
    seed: u64,
) -> PyResult<Vec<Vec<usize>>> {
    if clusters == 0 {
        return Err(input_error("no clusters to draw"));
    }
    Ok(py.detach(|| crate::resample::bootstrap_draws(clusters, samples, seed)))
}

/// The sign vectors the sampled sign-flip test draws (`samples` rows of words).
#[pyfunction]
fn sign_flip_draws(
    py: Python<'_>,
    #[pyo3(from_py_with = cluster_count)] clusters: usize,
    #[pyo3(from_py_with = samples)] samples: usize,
    seed: u64,
) -> Vec<Vec<u64>> {
    py.detach(|| crate::resample::sign_flip_draws(clusters, samples, seed))
}

/// Per column, the mean of each cluster-bootstrap sample.
#[pyfunction]
fn cluster_bootstrap_means(
    py: Python<'_>,
    columns: Vec<Vec<f64>>,
    #[pyo3(from_py_with = cluster_of)] clusters: crate::resample::Clusters,
    #[pyo3(from_py_with = samples)] samples: usize,
    seed: u64,
) -> PyResult<Vec<Vec<f64>>> {
    py.detach(|| crate::resample::bootstrap_means(&columns, &clusters, samples, seed))
        .map_err(input_error)
}

/// Per column, the percentiles `q` (percent) of the cluster-bootstrap means.
#[pyfunction]
fn cluster_bootstrap_percentiles(
    py: Python<'_>,
    columns: Vec<Vec<f64>>,
    #[pyo3(from_py_with = cluster_of)] clusters: crate::resample::Clusters,
    #[pyo3(from_py_with = samples)] samples: usize,
    seed: u64,
    q: Vec<f64>,
) -> PyResult<Vec<Vec<f64>>> {
    py.detach(|| crate::resample::bootstrap_percentiles(&columns, &clusters, samples, seed, &q))
        .map_err(input_error)
}

/// numpy's linear percentiles `q` (percent) of `values`.
#[pyfunction]
fn linear_percentiles(values: Vec<f64>, q: Vec<f64>) -> PyResult<Vec<f64>> {
    crate::resample::percentiles(&values, &q).map_err(input_error)
}

/// Per column of differences, the two-sided sign-flip p-value by cluster, and
/// whether it is exact.
#[pyfunction]
fn sign_flip_p_values(
    py: Python<'_>,
    columns: Vec<Vec<f64>>,
    #[pyo3(from_py_with = cluster_of)] clusters: crate::resample::Clusters,
    #[pyo3(from_py_with = samples)] samples: usize,
    seed: u64,
) -> PyResult<(Vec<f64>, bool)> {
    py.detach(|| crate::resample::sign_flip_p_values(&columns, &clusters, samples, seed))
        .map_err(input_error)
}

/// Holm's step-down adjustment of `p_values`, each in its place.
#[pyfunction]
fn holm_adjust(p_values: Vec<f64>) -> PyResult<Vec<f64>> {
    crate::resample::holm(&p_values).map_err(input_error)
}

/// `(mean, clustered variance, independent variance, design effect, minimum
/// detectable difference)` of the mean of `values`; None where undefined.
type VarianceTuple = (f64, Option<f64>, Option<f64>, Option<f64>, Option<f64>);

#[pyfunction]
fn clustered_variance(
    values: Vec<f64>,
    #[pyo3(from_py_with = cluster_of)] clusters: crate::resample::Clusters,
) -> PyResult<VarianceTuple> {
    let v = crate::resample::clustered_variance(&values, &clusters).map_err(input_error)?;
    Ok((
        v.mean,
        v.clustered,
        v.independent,
        v.design_effect,
        v.minimum_detectable,
    ))
}
