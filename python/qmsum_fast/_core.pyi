"""Types of the compiled Rust core (rust/src/py.rs). Private: use qmsum_fast."""

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

# --- text (preprocessing) ----------------------------------------------------

# --- chunk -------------------------------------------------------------------

def chunk_turn_counts(
    turn_tokens: list[int], budget: int, overlap: int = 0, separator_tokens: int = 0
) -> list[tuple[int, int, int]]: ...
def chunk_turns(
    counter: TokenCounter, turns: list[str], budget: int, overlap: int = 0, separator: str = "\n"
) -> list[tuple[int, int, int]]: ...

# --- rank (baselines, locator) -----------------------------------------------
