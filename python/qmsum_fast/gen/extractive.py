"""The extractive baselines as an engine (gen/engine.py): a predictor picks
transcript text, no model, no prompt, and never torch."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from ..baselines import Options
from ..data import Example
from .config import RunConfig
from .engine import Emit
from .inputs import Locate, Source, build_sources
from .progress import Progress


class ExtractiveEngine:
    uses_torch = False

    def __init__(self, config: RunConfig, predict: Callable[[Example], str], prepare, locate: Locate | None) -> None:
        self.config = config
        self.predict, self.prepare, self.locate = predict, prepare, locate

    def sources(self, examples: Sequence[Example]) -> list[Source]:
        return build_sources(examples, self.config.input, self.prepare, self.locate)

    def check(self, sources: Sequence[Source]) -> None:
        pass  # no prompt, so no budget to check

    def watch(self, progress: Progress) -> None:
        pass

    def run(self, sources: Sequence[Source], emit: Emit) -> None:
        from . import strategies

        strategies.run_extractive(sources, self.predict, emit)


def extractive_engine(config: RunConfig) -> ExtractiveEngine:
    from .. import baselines
    from ..stats import TokenCounter
    from .inputs import load_locator, prepare_function

    options = config.engine
    assert isinstance(options, Options)
    predict = baselines.make_predictor(config.model, dataclasses.asdict(options))
    locate = None
    if config.input == "locator":
        assert config.locate_method and config.locate_window is not None and config.locate_budget is not None
        locate = load_locator(config.locate_method, config.locate_window, config.locate_budget, TokenCounter.load(None))
    return ExtractiveEngine(config, predict, prepare_function(config.preprocess), locate)
