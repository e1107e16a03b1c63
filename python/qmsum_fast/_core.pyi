"""Types of the compiled Rust core (rust/src/py.rs). Private: use qmsum_fast."""

from typing import final

__all__ = [
    "DEFAULT_NGRAM",
    "DEFAULT_WINDOW",
    "EXACT_MAX_CLUSTERS",
    "TIE_TOLERANCE",
    "OracleUnits",
    "RougeCore",
    "TokenCounter",
    "__version__",
    "chunk_turn_counts",
    "chunk_turns",
    "cluster_bootstrap_draws",
    "cluster_bootstrap_means",
    "cluster_bootstrap_percentiles",
    "clustered_variance",
    "fit_shares",
    "fragment_signals",
    "holm_adjust",
    "length_summary",
    "linear_percentiles",
    "locate_turns",
    "longbench_rouge_l",
    "longbench_rouge_scores",
    "oracle_select",
    "oracle_select_batch",
    "qmsum_raw_transcripts",
    "qmsum_tokenize_texts",
    "qmsum_transcripts",
    "rouge_tokenize",
    "score_units",
    "select_within_budget",
    "sign_flip_draws",
    "sign_flip_p_values",
    "split_summary_sentences",
    "split_turn_sentences",
]

__version__: str

# Errors: bad input (an unknown option name, an int that does not fit in 64 bits
# or is negative where a count is expected) raises qmsum_fast.errors.InputError.

# --- count -------------------------------------------------------------------

@final
class TokenCounter:
    """Counts tokens exactly as HF tokenizers ``encode(text, add_special_tokens=False)``."""

    def __new__(cls, path: str) -> TokenCounter: ...
    @staticmethod
    def from_json(json: str) -> TokenCounter: ...
    @property
    def splits_exactly(self) -> bool: ...
    def count_batch(self, texts: list[str]) -> list[int]: ...
    def count_prompts(self, transcripts: list[str], prompts: list[tuple[str, int, str]]) -> list[int]: ...
    def common_prefix_counts(
        self,
        transcripts: list[str],
        prompts: list[tuple[str, int, str]],
        group_sizes: list[int],
        counts: list[int],
    ) -> list[int]: ...

# --- stats -------------------------------------------------------------------

def length_summary(lengths: list[int]) -> dict[str, float] | None: ...
def fit_shares(lengths: list[int], windows: list[int], reserve: int) -> list[float]: ...

# --- rouge -------------------------------------------------------------------

def rouge_tokenize(text: str, *, stem: bool = False) -> list[str]: ...
def split_summary_sentences(text: str) -> list[str]: ...

@final
class RougeCore:
    """Rust scorer behind ``qmsum_fast.rouge.RougeScorer``: dicts of type -> score_class(p, r, f)."""

    def __new__(
        cls,
        rouge_types: list[str],
        *,
        use_stemmer: bool = False,
        split_summaries: bool = False,
        score_class: type[tuple[float, float, float]] | None = None,
    ) -> RougeCore: ...
    def score(self, target: str, prediction: str) -> dict[str, tuple[float, float, float]]: ...
    def score_multi(self, targets: list[str], prediction: str) -> dict[str, tuple[float, float, float]]: ...
    def score_batch(
        self, targets: list[str], predictions: list[str]
    ) -> list[dict[str, tuple[float, float, float]]]: ...
    def score_multi_batch(
        self, targets: list[list[str]], predictions: list[str]
    ) -> list[dict[str, tuple[float, float, float]]]: ...

# --- longbench_rouge (LongBench's ROUGE-L: the rouge package 1.0.1) -------------
# max_depth: the most nested backtrack frames that do not raise RecursionError (None: no limit).

def longbench_rouge_l(prediction: str, reference: str, max_depth: int | None = None) -> float | None: ...
def longbench_rouge_scores(
    predictions: list[str], references: list[list[str]], max_depth: int | None = None
) -> list[float]: ...

# --- preprocess ----------------------------------------------------------------

def qmsum_tokenize_texts(texts: list[str]) -> list[str]: ...
def qmsum_transcripts(meetings: list[list[tuple[str, str]]]) -> list[str]: ...
def qmsum_raw_transcripts(texts: list[str]) -> list[str]: ...

# --- chunk -------------------------------------------------------------------

def chunk_turn_counts(
    turn_tokens: list[int], budget: int, overlap: int = 0, separator_tokens: int = 0
) -> list[tuple[int, int, int]]: ...
def chunk_turns(
    counter: TokenCounter, turns: list[str], budget: int, overlap: int = 0, separator: str = "\n"
) -> list[tuple[int, int, int]]: ...

# --- rank (baselines, locator, oracle) ----------------------------------------

DEFAULT_WINDOW: int

def split_turn_sentences(text: str) -> list[str]: ...
def score_units(units: list[str], query: str, method: str) -> list[float]: ...
def select_within_budget(order: list[int], lengths: list[int], budget: int, fill: str) -> list[int]: ...
def locate_turns(
    turns: list[str],
    token_counts: list[int],
    query: str,
    budget: int,
    method: str = "bm25",
    window: int = ...,  # DEFAULT_WINDOW
) -> list[tuple[int, int]]: ...
def oracle_select(
    units: list[str],
    references: list[str],
    *,
    stem: bool = True,
    max_units: int | None = None,
    max_tokens: int | None = None,
) -> list[int]: ...

@final
class OracleUnits:
    """One meeting's units tokenized once (rouge-score tokens) for the oracle."""

    def __new__(cls, units: list[str], *, stem: bool = True) -> OracleUnits: ...
    def select(
        self, references: list[str], max_units: int | None = None, max_tokens: int | None = None
    ) -> list[int]: ...

def oracle_select_batch(
    meetings: list[list[str]],
    queries: list[tuple[int, list[str]]],
    *,
    stem: bool = True,
    max_units: int | None = None,
    max_tokens: int | None = None,
) -> list[list[int]]: ...

# --- fragments: faithfulness signals (fragments.rs) ----------------------------

DEFAULT_NGRAM: int

def fragment_signals(
    summaries: list[str],
    sources: list[str],
    queries: list[str],
    source_of: list[int],
    *,
    n: int = ...,  # DEFAULT_NGRAM
    stem: bool = False,
) -> list[tuple[int, float | None, float | None, float | None, list[tuple[int, int, int]]]]: ...

# --- resample: intervals and paired tests by meeting (resample.rs) -------------

EXACT_MAX_CLUSTERS: int
TIE_TOLERANCE: float

def cluster_bootstrap_draws(clusters: int, samples: int, seed: int) -> list[list[int]]: ...
def cluster_bootstrap_means(
    columns: list[list[float]], clusters: list[int], samples: int, seed: int
) -> list[list[float]]: ...
def cluster_bootstrap_percentiles(
    columns: list[list[float]], clusters: list[int], samples: int, seed: int, q: list[float]
) -> list[list[float]]: ...
def linear_percentiles(values: list[float], q: list[float]) -> list[float]: ...
def sign_flip_draws(clusters: int, samples: int, seed: int) -> list[list[int]]: ...
def sign_flip_p_values(
    columns: list[list[float]], clusters: list[int], samples: int, seed: int
) -> tuple[list[float], bool]: ...
def holm_adjust(p_values: list[float]) -> list[float]: ...
def clustered_variance(
    values: list[float], clusters: list[int]
) -> tuple[float, float | None, float | None, float | None, float | None]: ...
