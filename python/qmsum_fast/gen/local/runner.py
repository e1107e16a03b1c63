"""The in-process engine as the run loop sees it (gen/engine.py): the model
loaded here, its prompts built to the input budget, run by the truncate
strategy's prefix reuse (gen/local/reuse.py) or by map-reduce."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from ..config import LocalModel, RunConfig, Runtime
from ..engine import Emit
from ..inputs import Locate, PromptSources, Source
from ..parallel import Parallel
from ..progress import Progress
from ..prompting import PromptBuilder
from ..strategies import MapReduce
from .batching import Batcher, run_seeded
from .models import LoadedModel
from .reuse import PrefixReuse


class LocalEngine(PromptSources):
    uses_torch = True

    def __init__(
        self,
        config: RunConfig,
        local: LocalModel,
        loaded: LoadedModel,
        builder: PromptBuilder,
        batcher: Batcher,
        prepare,
        locate: Locate | None,
        counter,
        reuse: PrefixReuse,
    ) -> None:
        self.config, self.local = config, local
        self.loaded, self.builder, self.batcher = loaded, builder, batcher
        self.prepare, self.locate, self.counter = prepare, locate, counter
        self.reuse = reuse  # the truncate strategy's runner

    def watch(self, progress: Progress) -> None:
        pass  # examples and tokens per second are all there is to show

    def run(self, sources: Sequence[Source], emit: Emit) -> None:
        if self.config.strategy != "map-reduce":
            prompts = [self.builder.build(source.query, source.transcript) for source in sources]
            self.reuse.run(sources, prompts, emit)
            return
        config = self.config
        assert config.map_instruction is not None and config.reduce_tokens is not None
        sampling = bool(config.generation.get("do_sample"))
        MapReduce(
            map_builder=self.builder,
            reduce_builder=PromptBuilder(self.loaded.tokenizer, self.builder.template, None),
            map_instruction=config.map_instruction,
            reduce_tokens=config.reduce_tokens,
            counter=self.counter,
            prepare=self.prepare,
            batcher=self.batcher,
            overlap=config.chunk_overlap,
            seed=config.seed,
            reuse=self.local.reuse,
            seeded=functools.partial(run_seeded, self.batcher) if sampling else None,
        ).run(sources, emit)


def device_for(runtime: Runtime, parallel: Parallel | None = None) -> str:
    """The device a model run uses: under data parallelism, each process its own GPU."""
    from .models import resolve_device

    parallel = parallel or Parallel.from_environment()
    device = runtime.device
    if parallel.world > 1 and device == "auto":
        import torch

        if torch.cuda.is_available():
            device = f"cuda:{parallel.local_rank}"
    return resolve_device(device)


def dtype_name(dtype: str, device: str) -> str:
    """``auto`` resolved for ``device``: bf16 (or fp16) on GPU, fp32 on CPU."""
    import torch

    from .models import resolve_dtype

    names = {torch.bfloat16: "bf16", torch.float16: "fp16", torch.float32: "fp32"}
    return names[resolve_dtype(dtype, device)]


def local_engine(config: RunConfig, runtime: Runtime, parallel: Parallel) -> LocalEngine:
    import torch

    from ...stats import TokenCounter
    from ...templates import parse_template
    from ..inputs import bound_locator, prepare_function
    from .batching import start_batch_size
    from .generate_call import GenerateCall
    from .models import LoadOptions, load_model, parse_max_memory
    from .reuse import prefix_reuse

    local = config.engine
    assert isinstance(local, LocalModel)
    device = device_for(runtime, parallel)
    loaded = load_model(
        LoadOptions(
            path=local.model_path,
            device=device,
            dtype=local.dtype,
            device_map=runtime.device_map if parallel.world == 1 else None,
            max_memory=parse_max_memory(runtime.max_memory),
            offload_folder=runtime.offload_folder,
            attention=local.attention,
            trust_remote_code=local.trust_remote_code,
            config_overrides=dict(local.config_overrides),
            adapter=local.adapter,
            adapter_len=local.adapter_len,
        )
    )
    torch.manual_seed(config.seed)
    budget = config.max_input_tokens
    if budget is None and config.kind == "model":
        budget = _model_budget(loaded, config)
    builder = PromptBuilder(loaded.tokenizer, parse_template(config.template or "{transcript}"), budget)
    counter = TokenCounter.from_json(loaded.tokenizer.backend_tokenizer.to_str(), source=local.model_path)
    locate = None
    if config.input == "locator":
        assert config.locate_method is not None and config.locate_window is not None
        locate = bound_locator(config.locate_method, config.locate_window, config.locate_budget, builder, counter)
    generate = GenerateCall(loaded, config)
    batcher = Batcher(generate.generate, start_batch_size(runtime.batch_size, 10**9, device.startswith("cuda")))
    reuse = prefix_reuse(generate, batcher, config)
    return LocalEngine(
        config, local, loaded, builder, batcher, prepare_function(config.preprocess), locate, counter, reuse
    )


def _model_budget(loaded: LoadedModel, config: RunConfig) -> int | None:
    """A generic model's input budget: its context minus the tokens it generates."""
    limit = loaded.max_positions()
    if limit is None or loaded.is_seq2seq:
        return limit
    new_tokens = config.generation.get("max_new_tokens") or config.generation.get("max_length") or 0
    return max(1, limit - new_tokens)
