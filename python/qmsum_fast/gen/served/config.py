"""``generate --engine openai``: the run configuration of a model behind an
OpenAI-compatible server (vLLM, SGLang, TGI, llama.cpp, ``transformers serve``,
a hosted API).

The command asks every ``--base-url`` what ``/v1/models`` reports for the
served model before anything else; the run configuration records the engine,
the served name, the API, that report, the tokenizer that counts the budgets
and the request fields the generation settings map to, so ``--resume``
refuses a different server model; ``reuse`` records ``--reuse`` (whether a
meeting's requests are kept on one replica), which ``--resume`` compares too.
Where the replicas are, how many requests are in flight, timeouts and retries
only decide how fast a run goes: they are
:class:`~qmsum_fast.gen.config.Runtime` settings. The runner is in
:mod:`qmsum_fast.gen.served.runner`, the HTTP in
:mod:`qmsum_fast.gen.served.client`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ...errors import InputError
from ..config import (
    Request,
    RunConfig,
    Runtime,
    ServedModel,
    context_of,
    data_fields,
    generation_of,
    preset_for,
    prompt_fields,
)
from .client import BACKOFF_BASE, Client, RequestFailed, Retryable, parse_base_url

ENGINES = ("hf", "openai")
APIS = ("completions", "chat")
DEFAULT_CONCURRENCY = 8
DEFAULT_REQUEST_TIMEOUT = 600.0
DEFAULT_MAX_RETRIES = 5
# What identifies a served model in a /v1/models entry (vLLM: root, parent, max_model_len;
# llama.cpp: meta); "created" and "status" change on every call or load, so they are left out.
REPORTED_FIELDS = ("id", "root", "parent", "owned_by", "max_model_len", "meta")
# Generation settings the API expresses, and the values of the others that change nothing.
EXPRESSED = frozenset({"max_new_tokens", "do_sample", "temperature", "top_p"})
NO_OP = {"num_beams": 1, "repetition_penalty": 1.0, "top_k": 0, "min_length": 0, "min_new_tokens": 0}
BEAM_ONLY = frozenset({"early_stopping"})  # meaningless without beams, which are refused on their own


# --- options -------------------------------------------------------------------------


def prepare_engine(request: Request, runtime: Runtime) -> tuple[Runtime, dict | None]:
    """The runtime with the engine's defaults, and for ``--engine openai`` the
    served model's /v1/models entry (None for the in-process engine)."""
    if request.engine == "hf":
        _refuse_served_options(request, runtime)
        return runtime, None
    _refuse_local_options(request, runtime)
    _refuse_baselines(request)
    if not runtime.base_url:
        raise InputError("--engine openai needs --base-url (the server's API root, e.g. http://127.0.0.1:8000/v1)")
    tokenizer_spec(request)
    _request_fields(request)  # settings the API cannot express are refused before any request
    runtime = dataclasses.replace(
        runtime,
        base_url=tuple(parse_base_url(url).url for url in runtime.base_url),
        concurrency=runtime.concurrency or DEFAULT_CONCURRENCY,
        request_timeout=runtime.request_timeout or DEFAULT_REQUEST_TIMEOUT,
        max_retries=DEFAULT_MAX_RETRIES if runtime.max_retries is None else runtime.max_retries,
    )
    return runtime, discover(served_name(request), runtime)


def _refuse_served_options(request: Request, runtime: Runtime) -> None:
    given = _given(
        ("--base-url", runtime.base_url or None),
        ("--served-model", request.served_model),
        ("--api", None if request.api == "completions" else request.api),
        ("--tokenizer", request.tokenizer),
        ("--concurrency", runtime.concurrency),
        ("--request-timeout", runtime.request_timeout),
        ("--max-retries", runtime.max_retries),
        ("--api-key-env", runtime.api_key_env),
    )
    if given:
        raise InputError(f"{', '.join(given)}: only with --engine openai (the model runs in this process)")


def _refuse_local_options(request: Request, runtime: Runtime) -> None:
    """What only the in-process engine uses would be silently ignored: refuse it."""
    given = _given(
        ("--model-path", request.model_path),
        ("--adapter", request.adapter),
        ("--trust-remote-code", request.trust_remote_code or None),
        ("--dtype", None if request.dtype == "auto" else request.dtype),
        ("--attention", None if request.attention == "auto" else request.attention),
        ("--device", None if runtime.device == "auto" else runtime.device),
        ("--batch-size", None if runtime.batch_size == "auto" else runtime.batch_size),
        ("--device-map", runtime.device_map),
        ("--max-memory", runtime.max_memory),
        ("--offload-folder", runtime.offload_folder),
    )
    if given:
        raise InputError(f"{', '.join(given)}: does not apply to --engine openai (the server runs the model)")


def _refuse_baselines(request: Request) -> None:
    from ...baselines import BASELINES

    if request.model in BASELINES:
        raise InputError(f"--model {request.model} is an extractive baseline: --engine openai runs models only")


def _given(*pairs: tuple[str, Any]) -> list[str]:
    return [flag for flag, value in pairs if value is not None]


def tokenizer_spec(request: Request) -> str:
    if request.tokenizer is None:
        raise InputError(
            "--engine openai needs --tokenizer (the served model's tokenizer.json or its folder): "
            "budgets are counted with it"
        )
    return request.tokenizer


def tokenizer_spec_of(served: ServedModel) -> str:
    """The --tokenizer a served run's configuration was built with."""
    return str(served.tokenizer["path"])


def served_name(request: Request) -> str:
    """The name the server knows: --served-model, a preset's hub id, or --model itself."""
    from ..presets import PRESETS

    if request.model not in PRESETS:
        if request.served_model is not None and request.served_model != request.model:
            raise InputError(
                f"--served-model {request.served_model!r}: --model {request.model!r} is not a preset, "
                "so it already names the served model (give one of them)"
            )
        return request.model
    return request.served_model or PRESETS[request.model].model


def api_key(runtime: Runtime) -> str | None:
    """The key from the variable --api-key-env names; the key itself is never shown."""
    if runtime.api_key_env is None:
        return None
    key = os.environ.get(runtime.api_key_env, "")
    if not key.strip():
        raise InputError(f"--api-key-env {runtime.api_key_env}: that environment variable is not set or empty")
    return key.strip()


def make_client(runtime: Runtime, on_retry=lambda: None) -> Client:
    endpoints = [parse_base_url(url) for url in runtime.base_url]
    assert runtime.request_timeout is not None and runtime.max_retries is not None
    return Client(endpoints, api_key(runtime), runtime.request_timeout, runtime.max_retries, on_retry)


# --- discovery -----------------------------------------------------------------------


def discover(name: str, runtime: Runtime) -> dict:
    """What every reachable replica's /v1/models reports for ``name`` (they must
    agree). Each round asks the replicas not yet heard once; a replica still
    unreachable when another has answered is warned about (requests avoid it
    until it answers)."""
    client = make_client(runtime)
    endpoints = client.replicas.endpoints
    answers: dict[str, dict] = {}
    unreachable: dict[str, str] = {}
    assert runtime.max_retries is not None
    for attempt in range(runtime.max_retries + 1):
        for endpoint in endpoints:
            if endpoint.url in answers:
                continue
            try:
                answers[endpoint.url] = _model_entry(client.exchange(endpoint, "GET", "/models"), name, endpoint.url)
                unreachable.pop(endpoint.url, None)
            except Retryable as exc:
                unreachable[endpoint.url] = str(exc)
            except RequestFailed as exc:
                raise InputError(f"{exc}") from None
        if answers:
            break
        if attempt < runtime.max_retries:
            time.sleep(BACKOFF_BASE * 2**attempt)
    if not answers:
        url, why = next(iter(unreachable.items()))
        raise InputError(f"--base-url {url}: cannot read /models: {why} (after {runtime.max_retries + 1} tries)")
    for url, why in unreachable.items():
        sys.stderr.write(f"qmsum-fast: warning: --base-url {url}: cannot read /models ({why}); trying the others\n")
    return _agreed(answers, name)


def _model_entry(answer: dict, name: str, url: str) -> dict:
    entries = answer.get("data")
    if not isinstance(entries, list):
        raise InputError(f"--base-url {url}: /models answered without a 'data' list: is it an OpenAI-compatible API?")
    for entry in entries:
        if isinstance(entry, dict) and entry.get("id") == name:
            return {key: entry[key] for key in REPORTED_FIELDS if key in entry}
    listed = [str(entry.get("id")) for entry in entries if isinstance(entry, dict)]
    shown = ", ".join(listed[:10]) + (f" and {len(listed) - 10} more" if len(listed) > 10 else "")
    raise InputError(
        f"served model {name!r}: {url} does not list it in /models (it lists: {shown or 'nothing'}); "
        "name the server's model with --model, or --served-model with a preset"
    )


def _agreed(answers: dict[str, dict], name: str) -> dict:
    (first_url, first), *others = answers.items()
    for url, entry in others:
        if entry != first:
            raise InputError(
                f"--base-url: {first_url} and {url} report different models for {name!r} "
                f"({first} and {entry}); replicas must serve the same model"
            )
    return first


# --- the run configuration -----------------------------------------------------------


def served_config(request: Request, reported: Mapping[str, Any]) -> RunConfig:
    """The run configuration of ``request`` against a server that reported ``reported``."""
    from ..presets import PRESETS

    data = data_fields(request)
    if request.adapter_len is not None:
        raise InputError("--adapter-len applies only with --adapter (a LLaMA-Adapter v1 file)")
    _refuse_baselines(request)
    preset = _preset(request)
    generation = generation_of(preset.generation, request)
    request_fields = _request_fields(request)
    _, max_input = context_of(preset, request, generation)
    max_input = _served_budget(request, max_input, request_fields["max_tokens"], reported)
    fields = prompt_fields(request, preset, generation, max_input)
    tokenizer = served_tokenizer(tokenizer_spec(request), request.api)
    served = ServedModel(
        engine=request.engine,
        model=served_name(request),
        api=request.api,
        reported=dict(reported),
        tokenizer=tokenizer.fingerprint,
        request=request_fields,
        reuse=request.reuse,
    )
    return RunConfig(
        kind="preset" if request.model in PRESETS else "model",
        model=request.model,
        **fields,
        **data,
        engine=served,
    )


def _preset(request: Request):
    """A preset by name; any other name is a served model with the generic settings."""
    from ..presets import GENERIC_GENERATION, PRESETS, Preset

    if request.model in PRESETS:
        return preset_for(request)
    return Preset(name=request.model, model=request.model, template="plain", generation=dict(GENERIC_GENERATION))


def _request_fields(request: Request) -> dict:
    preset = _preset(request)
    return api_fields(generation_of(preset.generation, request), request.seed, preset.answer_marker)


def _served_budget(request: Request, max_input: int | None, max_tokens: int, reported: Mapping[str, Any]) -> int | None:
    """The input budget, checked against the context the server reports (vLLM's max_model_len)."""
    from ..presets import PRESETS

    context = reported.get("max_model_len")
    context = context if isinstance(context, int) and context > 0 else None
    if max_input is None and request.model not in PRESETS:
        if context is None:
            raise InputError(
                f"--model {request.model}: the server does not report the model's context length: "
                "give --max-input-tokens"
            )
        max_input = context - max_tokens
        if max_input < 1:
            raise InputError(f"--max-new-tokens {max_tokens} leaves no input room in the served context of {context}")
    if context is not None and max_input is not None and max_input + max_tokens > context:
        raise InputError(
            f"--max-input-tokens {max_input} + --max-new-tokens {max_tokens} exceed the served model's context "
            f"({context} tokens, its max_model_len)"
        )
    return max_input


def api_fields(generation: Mapping[str, Any], seed: int, stop: str | None) -> dict:
    """The request fields the generation settings map to; settings the API
    cannot express (beams, repetition penalty, n-gram blocking, lengths that
    count the prompt) are refused."""
    refused = [f"{key}={value!r}" for key, value in generation.items() if not _expressible(key, value)]
    if "max_new_tokens" not in generation:
        refused.append("no max_new_tokens (give --max-new-tokens)")
    if refused:
        raise InputError(
            f"--engine openai: the API cannot express {', '.join(refused)}; "
            "only max_new_tokens, sampling, temperature and top_p map to its fields"
        )
    fields: dict[str, Any] = {"max_tokens": generation["max_new_tokens"]}
    if generation.get("do_sample"):
        fields["temperature"] = float(generation.get("temperature", 1.0))
        if "top_p" in generation:
            fields["top_p"] = float(generation["top_p"])
        fields["seed"] = seed
    else:
        fields["temperature"] = 0.0  # greedy
    if stop:
        fields["stop"] = [stop]
    return fields


def _expressible(key: str, value: Any) -> bool:
    if key in EXPRESSED or key in BEAM_ONLY:
        return True
    if key in NO_OP:
        return bool(value == NO_OP[key])
    return not value  # 0, None or False: the setting is off


# --- the tokenizer that counts the budgets -------------------------------------------


@dataclass(frozen=True)
class ServedTokenizer:
    tokenizer: Any  # a transformers fast tokenizer
    path: Path  # its tokenizer.json
    fingerprint: Mapping[str, Any]


@lru_cache(maxsize=4)
def served_tokenizer(spec: str, api: str) -> ServedTokenizer:
    """The served model's tokenizer from --tokenizer (a tokenizer.json, a folder
    holding one, or a hub name in the local cache), with the folder's
    tokenizer_config.json and chat template when there are. ``--api chat``
    needs the chat template: the server counts the prompt inside it."""
    from ...stats import resolve_tokenizer

    path = resolve_tokenizer(spec)
    tokenizer = _load_tokenizer(path)
    template = getattr(tokenizer, "chat_template", None)
    if api == "chat" and not isinstance(template, str):
        raise InputError(
            f"--tokenizer {spec}: --api chat needs the model's chat template to count prompts exactly "
            "(a folder with chat_template.jinja or a chat_template in tokenizer_config.json)"
        )
    fingerprint = {"path": spec, "tokenizer.json": _digest(path.read_bytes())}
    config = path.parent / "tokenizer_config.json"
    if config.is_file():
        fingerprint["tokenizer_config.json"] = _digest(config.read_bytes())
    if api == "chat":
        fingerprint["chat_template"] = _digest(str(template).encode())
    return ServedTokenizer(tokenizer, path, fingerprint)


def _load_tokenizer(path: Path) -> Any:
    """The folder's tokenizer as transformers loads it (special tokens, chat
    template) when it has a tokenizer_config.json, else the file alone."""
    import transformers

    try:
        if (path.parent / "tokenizer_config.json").is_file() and path.name == "tokenizer.json":
            tokenizer = transformers.AutoTokenizer.from_pretrained(str(path.parent), local_files_only=True)
        else:
            tokenizer = transformers.PreTrainedTokenizerFast(tokenizer_file=str(path))
    except Exception as exc:  # transformers raises many kinds for a bad file
        first = str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"--tokenizer {path}: cannot load it: {first}") from None
    if not getattr(tokenizer, "is_fast", False):
        raise InputError(f"--tokenizer {path}: not a fast (tokenizer.json) tokenizer")
    return tokenizer


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()
