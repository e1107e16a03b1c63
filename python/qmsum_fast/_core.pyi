"""Types of the compiled Rust core (rust/src/py.rs). Private: use qmsum_fast."""

from typing import final

__version__: str

# --- stats -------------------------------------------------------------------

class TokenCounter:
    """Counts tokens exactly as HF tokenizers ``encode(text, add_special_tokens=False)``."""

    def __init__(self, path: str) -> None: ...
    @staticmethod
    def from_json(json: str) -> TokenCounter: ...
    @property
    def splits_exactly(self) -> bool: ...
    def count_batch(self, texts: list[str]) -> list[int]: ...
    def count_prompts(
        self, transcripts: list[str], prompts: list[tuple[str, int, str]]
    ) -> list[int]: ...

def length_summary(lengths: list[int]) -> dict[str, float] | None: ...
def fit_shares(lengths: list[int], windows: list[int], reserve: int) -> list[float]: ...

# --- rouge -------------------------------------------------------------------

def rouge_tokenize(text: str, stem: bool = False) -> list[str]: ...
def porter_stem(word: str) -> str: ...
def split_sentences(text: str) -> list[str]: ...

@final
class RougeCore:
    """Rust scorer behind ``qmsum_fast.rouge.RougeScorer``: dicts of type -> score_class(p, r, f)."""

    def __new__(
        cls,
        rouge_types: list[str],
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

# --- text (preprocessing) ----------------------------------------------------

# --- chunk -------------------------------------------------------------------

# --- rank (baselines, locator) -----------------------------------------------
