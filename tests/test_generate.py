"""``qmsum-fast generate`` end to end on tiny random-weight models, on CPU.

The models have the real architectures (LED, MPT, LLaMA, GPT-NeoX) and the
bundled gpt-neox-20b tokenizer; the data are three real QMSum meetings
(tests/data/gen_qmsum, MIT licence, Yale-LILY/QMSum).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli_helpers import predictions, records
from qmsum_fast.cli import main
from qmsum_fast.data import load_examples
from qmsum_fast.preprocess import prepare

DATA = Path(__file__).parent / "data" / "gen_qmsum"


def generate(tmp_path, *args, out="run.jsonl", expect=0):
    """Runs generate on the test meetings; transcripts as given (``Speaker: text``)
    unless the test chooses ``--preprocess``."""
    out_path = tmp_path / out
    plain = [] if "--preprocess" in args else ["--preprocess", "none"]
    result = CliRunner().invoke(
        main,
        ["generate", "--data", str(DATA), "--split", "train", "--out", str(out_path), "--no-progress", *plain, *args],
    )
    assert result.exit_code == expect, result.output + repr(result.exception)
    return out_path, result


def tokenizer_of(folder):
    import transformers

    return transformers.AutoTokenizer.from_pretrained(folder)


# --- presets -------------------------------------------------------------------


PRESET_RUNS = [
    ("led", "led", ["--max-input-tokens", "300"], "led"),
    ("led", "led", ["--no-instruction", "--max-input-tokens", "300"], "{transcript}"),
    ("mpt-storywriter", "mpt", ["--max-input-tokens", "300", "--max-seq-len", "4096"], None),
    ("longllama", "llama", ["--max-input-tokens", "300", "--trust-remote-code"], "alpaca"),
    ("llama-adapter", "llama", [], "alpaca"),
]


@pytest.mark.parametrize(
    "preset,arch,extra,template", PRESET_RUNS, ids=["led", "led-no-instruction", "mpt", "longllama", "llama-adapter"]
)
def test_every_preset_runs_on_its_architecture(tmp_path, tiny, preset, arch, extra, template):
    out, _ = generate(
        tmp_path,
        "--model",
        preset,
        "--model-path",
        tiny[arch],
        "--limit",
        "2",
        "--greedy",
        "--max-new-tokens",
        "6",
        *extra,
    )
    header, rows = records(out)
    settings = header["config"]
    assert settings["model"] == preset and settings["model_path"] == tiny[arch]
    if template is not None:
        from qmsum_fast.templates import template_from

        assert settings["template"] == template_from(template).text  # the resolved text, not its name
    assert [r["id"] for r in rows] == ["train/ES2005a/g0", "train/ES2005a/s0"]
    for row in rows:
        assert set(row) >= {
            "id",
            "meeting",
            "domain",
            "split",
            "query_type",
            "query",
            "references",
            "prediction",
            "model",
            "strategy",
            "n_input_tokens",
            "truncated",
            "seconds",
        }
        assert isinstance(row["prediction"], str) and row["model"] == preset
        assert row["strategy"] == settings["strategy"]
        if settings["strategy"] == "truncate":
            assert row["truncated"] and 0 < row["n_input_tokens"] <= 300


def config_of(model, **given):
    from qmsum_fast.gen.config import Request, build_config

    return build_config(Request(model=model, **given))


def test_presets_keep_the_original_settings():
    def resolve_settings(model, given):
        return config_of(model, **given)

    led = resolve_settings("led", {})
    assert led.max_input_tokens == 15000 and led.generation["num_beams"] == 4
    assert led.generation["repetition_penalty"] == 3.5 and led.generation["min_length"] == 16
    assert resolve_settings("led", {"instruction": False}).generation["max_length"] == 512
    mpt = resolve_settings("mpt-storywriter", {})
    assert mpt.engine.config_overrides == {"max_seq_len": 30000} and mpt.generation["max_new_tokens"] == 100
    assert resolve_settings("mpt-storywriter", {"max_seq_len": 83968}).max_input_tokens == 83868
    longllama = resolve_settings("longllama", {"trust_remote_code": True})
    assert longllama.engine.trust_remote_code and longllama.engine.remote_generate_kwargs == {
        "longllama": {"last_context_length": 1024}
    }
    adapter = resolve_settings("llama-adapter", {})
    assert adapter.strategy == "map-reduce" and adapter.generation["top_p"] == 0.75
    assert resolve_settings("acme/model", {"max_new_tokens": 7}).generation["max_new_tokens"] == 7


def test_mpt_prediction_is_the_text_after_the_marker(tmp_path, tiny):
    out, _ = generate(
        tmp_path,
        "--model",
        "mpt-storywriter",
        "--model-path",
        tiny["mpt"],
        "--limit",
        "1",
        "--greedy",
        "--max-new-tokens",
        "5",
        "--max-input-tokens",
        "200",
        "--max-seq-len",
        "4096",
    )
    row = records(out)[1][0]
    assert "A short summary of the following conversation is" not in row["prediction"]


# --- batching ---------------------------------------------------------------------


@pytest.mark.parametrize("arch", ["llama", "gpt-neox", "mpt", "led"])
def test_batched_and_unbatched_greedy_outputs_are_identical(tmp_path, tiny, arch):
    # Gold spans give inputs of very different lengths, so batches need padding.
    common = [
        "--model",
        tiny[arch],
        "--input",
        "gold",
        "--greedy",
        "--max-new-tokens",
        "8",
        "--max-input-tokens",
        "500",
        "--template",
        "plain",
        "--limit",
        "4",
    ]
    single, _ = generate(tmp_path, *common, "--batch-size", "1", out="single.jsonl")
    batched, _ = generate(tmp_path, *common, "--batch-size", "4", out="batched.jsonl")
    lengths = {r["n_input_tokens"] for r in records(single)[1]}
    assert len(lengths) >= 3
    assert predictions(single) == predictions(batched)
    assert len(predictions(single)) == 4


# --- truncation ---------------------------------------------------------------------


def test_truncation_keeps_every_input_within_budget(tmp_path, tiny):
    tokenizer = tokenizer_of(tiny["llama"])
    for budget in (64, 257):
        out, _ = generate(
            tmp_path,
            "--model",
            tiny["llama"],
            "--max-input-tokens",
            str(budget),
            "--greedy",
            "--max-new-tokens",
            "1",
            "--batch-size",
            "7",
            "--limit",
            "7",
            out=f"b{budget}.jsonl",
        )
        rows = records(out)[1]
        assert len(rows) == 7
        assert all(r["truncated"] and r["n_input_tokens"] <= budget for r in rows)
        # The builder fills the budget up to a token or two of merges.
        assert all(r["n_input_tokens"] >= budget - 3 for r in rows)
    examples = load_examples(DATA, split="train")
    from qmsum_fast.gen.prompting import PromptBuilder
    from qmsum_fast.templates import load_template

    builder = PromptBuilder(tokenizer, load_template("alpaca"), 200)
    for example in examples:
        transcript = prepare([example], "none")[0].transcript
        prompt = builder.build(example.query, transcript)
        assert len(tokenizer(prompt.text)["input_ids"]) == prompt.n_tokens <= 200
        prefix, suffix = load_template("alpaca").split(example.query)
        assert prompt.text.startswith(prefix) and prompt.text.endswith(suffix)
        assert transcript.startswith(prompt.text[len(prefix) : len(prompt.text) - len(suffix)])


# --- map-reduce ---------------------------------------------------------------------


def test_map_reduce_makes_the_expected_calls(tmp_path, tiny, monkeypatch):
    from qmsum_fast.chunk import chunk_turns
    from qmsum_fast.gen.local.generate_call import GenerateCall as Engine
    from qmsum_fast.stats import TokenCounter
    from qmsum_fast.templates import load_template

    calls = []
    real_generate = Engine.generate

    def recording(self, texts):
        calls.append(list(texts))
        return real_generate(self, texts)

    monkeypatch.setattr(Engine, "generate", recording)
    out, _ = generate(
        tmp_path,
        "--model",
        "llama-adapter",
        "--model-path",
        tiny["llama"],
        "--limit",
        "8",
        "--greedy",
        "--max-new-tokens",
        "4",
        "--batch-size",
        "8",
    )
    tokenizer = tokenizer_of(tiny["llama"])
    counter = TokenCounter.from_json(tokenizer.backend_tokenizer.to_str())
    alpaca = load_template("alpaca")
    prefix, suffix = alpaca.split("Summarize the following conversation.")
    examples = load_examples(DATA, split="train")[:8]
    expected_chunks = {}
    for example in examples:  # the 8 queries span two meetings
        turns = [f"{t.speaker}: {t.content}" for t in example.turns]
        room = 400 - len(tokenizer(prefix + suffix)["input_ids"])
        for chunk in chunk_turns(turns, room, counter):
            expected_chunks[prefix + "\n".join(turns[chunk.start : chunk.end + 1]) + suffix] = chunk

    prompts = [text for batch in calls for text in batch]
    map_prompts = [p for p in prompts if "### Instruction:\nSummarize the following conversation." in p]
    reduce_prompts = [p for p in prompts if p not in map_prompts]
    # Every distinct chunk once (queries of a meeting share them), then one reduce per query.
    assert len(map_prompts) == len(set(map_prompts)) == len(expected_chunks)
    assert set(map_prompts) == set(expected_chunks)
    assert all(len(tokenizer(p)["input_ids"]) <= 400 for p in map_prompts)
    assert len(reduce_prompts) == 8
    for example, prompt in zip(examples, _by_query(reduce_prompts, examples)):
        prefix_q, suffix_q = alpaca.split(example.query)
        assert prompt.startswith(prefix_q) and prompt.endswith(suffix_q)
    for prompt in reduce_prompts:
        body = prompt.split("### Input:\n", 1)[1].rsplit("\n\n### Response:", 1)[0]
        assert len(tokenizer(body, add_special_tokens=False)["input_ids"]) <= 500
    assert len(records(out)[1]) == 8


def _by_query(prompts, examples):
    """Each example's reduce prompt (its query is the instruction)."""
    return [next(p for p in prompts if f"### Instruction:\n{e.query}\n\n" in p) for e in examples]


# --- output: resume, data parallel, CSV ----------------------------------------------------


def _cli(*args):
    return [sys.executable, "-m", "qmsum_fast", *args]


def _slow_run_args(tiny, out):
    """A run of all 17 examples, one prompt at a time: slow enough to stop midway (seconds after the second
    record, even on a busy machine)."""
    return [
        "generate", "--model", tiny["gpt-neox"], "--data", str(DATA), "--split", "all", "--out", str(out),
        "--greedy", "--max-new-tokens", "32", "--max-input-tokens", "150", "--batch-size", "1", "--no-progress",
    ]  # fmt: skip


def test_resume_after_sigkill_writes_every_id_once(tmp_path, tiny):
    out = tmp_path / "killed.jsonl"
    args = _slow_run_args(tiny, out)
    process = subprocess.Popen(_cli(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None:
        if out.exists() and out.read_text().count("\n") >= 3:  # header and 2 records
            break
        time.sleep(0.05)
    assert process.poll() is None, process.communicate()
    os.kill(process.pid, signal.SIGKILL)
    process.communicate()  # waits, and closes the pipes
    # A kill mid-write leaves at most a torn last line; simulate one too.
    with open(out, "a") as handle:
        handle.write('{"id": "train/ES2005a/g0", "predic')
    killed = out.read_text().count("\n") - 1
    assert 2 <= killed < 17
    finished = subprocess.run(_cli(*args, "--resume"), capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    _, rows = records(out)
    ids = [r["id"] for r in rows]
    all_ids = [e.id for e in load_examples(DATA, split="all")]
    assert ids == all_ids and len(set(ids)) == len(ids) == 17
    assert f"({17 - killed} new" in finished.stderr


def test_data_parallel_under_accelerate_equals_single_process(tmp_path, tiny):
    common = [
        "generate",
        "--preprocess",
        "none",
        "--model",
        tiny["llama"],
        "--data",
        str(DATA),
        "--split",
        "all",
        "--greedy",
        "--max-new-tokens",
        "6",
        "--max-input-tokens",
        "200",
        "--batch-size",
        "2",
        "--no-progress",
    ]
    single = tmp_path / "single.jsonl"
    parallel = tmp_path / "parallel.jsonl"
    launch = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--cpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "-m",
        "qmsum_fast",
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    run = subprocess.run([*launch, *common, "--out", str(parallel)], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    generate(
        tmp_path,
        "--model",
        tiny["llama"],
        "--split",
        "all",
        "--greedy",
        "--max-new-tokens",
        "6",
        "--max-input-tokens",
        "200",
        "--batch-size",
        "2",
        out="single.jsonl",
    )
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]
    assert strip(records(parallel)[1]) == strip(records(single)[1])
    assert len(records(parallel)[1]) == 17
    assert sorted(p.name for p in tmp_path.iterdir()) == ["parallel.jsonl", "single.jsonl"]


def test_csv_has_the_original_columns(tmp_path, tiny):
    import csv

    table = tmp_path / "run.csv"
    out, _ = generate(
        tmp_path,
        "--model",
        tiny["gpt-neox"],
        "--limit",
        "2",
        "--greedy",
        "--max-new-tokens",
        "3",
        "--max-input-tokens",
        "100",
        "--csv",
        str(table),
    )
    with open(table, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["instruction", "input", "output", "summary"]
    run = records(out)[1]
    assert [r[0] for r in rows[1:]] == [r["query"] for r in run]
    assert [r[3] for r in rows[1:]] == [r["prediction"] for r in run]
    assert rows[1][1].startswith("Project Manager: ")


# --- baselines and the locator ------------------------------------------------------------


def test_baselines_run_without_torch(tmp_path):
    out = tmp_path / "lead.jsonl"
    script = (
        "import sys\n"
        "from qmsum_fast.cli import main\n"
        "try:\n    main({argv!r})\nexcept SystemExit as e:\n    assert e.code in (0, None), e.code\n"
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules\n"
    ).format(
        argv=[
            "generate",
            "--model",
            "lead",
            "--budget",
            "2",
            "--data",
            str(DATA),
            "--split",
            "val",
            "--input",
            "gold",
            "--out",
            str(out),
            "--no-progress",
        ],
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    header, rows = records(out)
    assert header["config"]["strategy"] == "extractive" and len(rows) == 3
    from qmsum_fast.baselines import make_predictor
    from qmsum_fast.gen.inputs import select

    lead = make_predictor("lead", {"budget": 2})
    examples = load_examples(DATA, split="val")
    assert [r["prediction"] for r in rows] == [lead(select(e, "gold")) for e in examples]
    assert rows[1]["prediction"] != lead(examples[1])  # gold input: the answer's turns, not the meeting's start
    assert all(r["strategy"] == "extractive" and r["n_input_tokens"] == 0 for r in rows)


def test_locator_input_feeds_the_located_turns(tmp_path, tiny, monkeypatch):
    from qmsum_fast.gen.local.generate_call import GenerateCall as Engine

    calls = []
    monkeypatch.setattr(Engine, "generate", lambda self, texts: calls.extend(texts) or [_Out()] * len(texts))
    out, _ = generate(
        tmp_path,
        "--model",
        tiny["llama"],
        "--input",
        "locator",
        "--max-input-tokens",
        "300",
        "--limit",
        "2",
        "--template",
        "{query}||{transcript}",
    )
    assert records(out)[0]["config"]["strategy"] == "locate"
    example = load_examples(DATA, split="train")[0]
    prompt = next(c for c in calls if c.startswith(example.query + "||"))
    located = prompt[len(example.query) + 2 :]
    turns = [f"{t.speaker}: {t.content}" for t in example.turns]
    lines = located.split("\n")
    assert 0 < len(lines) < len(turns)
    remaining = iter(turns)  # the located turns, in transcript order
    assert all(any(line == turn for turn in remaining) for line in lines)


class _Out:
    text = "x"
    new_tokens = 1


# --- bad input --------------------------------------------------------------------------


def _one_line_error(result, *needles):
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("qmsum-fast: error: "), result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[-1]


def test_bad_input_fails_cleanly_and_keeps_what_was_written(tmp_path, tiny):
    existing, _ = generate(tmp_path, "--model", "lead", "--limit", "2")
    before = existing.read_bytes()
    no_config = tmp_path / "empty_model"
    no_config.mkdir()
    bad_template = tmp_path / "bad.txt"
    bad_template.write_text("Summarize: {query}")
    cases = [
        (["--model", "gpt5"], "unknown preset 'gpt5'"),
        (["--model", str(no_config)], "holds no config.json"),
        (["--model", tiny["llama"], "--template", str(bad_template)], "{transcript}"),
        (["--model", tiny["llama"], "--max-input-tokens", "5"], "leaves no room for the transcript"),
        # Where a GPU exists, --device cuda is valid and cannot be refused.
        *(
            []
            if __import__("torch").cuda.is_available()
            else [(["--model", tiny["llama"], "--device", "cuda"], "no CUDA GPU")]
        ),
        (["--model", "mpt-storywriter", "--max-seq-len", "90000"], "outside 1..83968"),
        (["--model", "longllama", "--model-path", tiny["llama"]], "pass --trust-remote-code"),
    ]
    for args, message in cases:
        out, result = generate(tmp_path, *args, "--limit", "1", out="fresh.jsonl", expect=2)
        _one_line_error(result, message)
        assert not out.exists() or out.read_text() == ""
    # An existing run is neither overwritten nor resumed with other settings.
    for args, message in [
        (["--model", tiny["llama"]], "already exists"),
        (["--model", tiny["llama"], "--resume"], "cannot resume: kind was 'baseline', now 'model'; model was 'lead'"),
        (["--model", "lead", "--resume", "--split", "val"], "cannot resume: split was 'train', now 'val'"),
        (["--model", "lead", "--resume", "--budget", "3"], "cannot resume: baseline.budget was 4, now 3"),
        (["--model", "lead", "--resume", "--preprocess", "qmsum"], "preprocess was 'none', now 'qmsum'"),
    ]:
        _, result = generate(tmp_path, *args, "--limit", "1", expect=2)
        _one_line_error(result, message)
        assert existing.read_bytes() == before
    existing.write_text(before.decode().split("\n")[0] + "\nnot json\n")
    _, result = generate(tmp_path, "--model", "lead", "--resume", expect=2)
    _one_line_error(result, "run.jsonl:2: malformed JSON")


# --- make-model -----------------------------------------------------------------------------


def test_make_model_saves_a_loadable_model_with_the_bundled_tokenizer(tmp_path):
    import transformers

    result = CliRunner().invoke(main, ["make-model", "--arch", "gpt-neox", "--size", "tiny", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    model = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "m")
    tokenizer = transformers.AutoTokenizer.from_pretrained(tmp_path / "m")
    assert type(model).__name__ == "GPTNeoXForCausalLM"
    assert model.config.vocab_size >= len(tokenizer) == 50277
    assert tokenizer("Hello world")["input_ids"] == [12092, 1533]
    again = CliRunner().invoke(main, ["make-model", "--arch", "gpt-neox", str(tmp_path / "m")])
    assert again.exit_code == 2 and "not an empty folder" in again.output


def test_full_configs_have_the_published_shapes():
    from qmsum_fast.gen.local.make_model import model_config

    special = dict(bos_token_id=0, eos_token_id=0, pad_token_id=1)
    led = model_config("led", "full", special)
    assert (led.d_model, led.encoder_layers, led.max_encoder_position_embeddings) == (1024, 12, 16384)
    mpt = model_config("mpt", "full", special)
    assert (mpt.d_model, mpt.n_layers, mpt.n_heads, mpt.vocab_size) == (4096, 32, 32, 50432)
    llama = model_config("llama", "full", special)
    assert (llama.hidden_size, llama.num_hidden_layers, llama.intermediate_size) == (4096, 32, 11008)
    neox = model_config("gpt-neox", "full", special)
    assert (neox.hidden_size, neox.num_hidden_layers, neox.num_attention_heads) == (6144, 44, 64)


# LLaMA-Adapter weights: tests/test_adapters.py.


def test_blocked_sdpa_mpt_attention_equals_eager(tiny):
    import torch
    import transformers

    from qmsum_fast.gen.local.models import LoadOptions, load_model
    from qmsum_fast.gen.local.mpt_attention import enable_blocked_sdpa

    loaded = load_model(LoadOptions(path=tiny["mpt"], device="cpu"))
    assert loaded.attention == "sdpa-blocked"
    eager = transformers.AutoModelForCausalLM.from_pretrained(tiny["mpt"])
    tokenizer = loaded.tokenizer
    batch = tokenizer(
        ["a longer prompt about the remote control design " * 4, "short"], return_tensors="pt", padding=True
    )
    with torch.no_grad():
        expected = eager(**batch).logits
        enable_blocked_sdpa(eager, block=5)  # several query blocks
        blocked = eager(**batch).logits
        real = batch["attention_mask"].bool()
        assert torch.allclose(expected[real], blocked[real], atol=1e-5)
        assert torch.allclose(loaded.model(**batch).logits[real], expected[real], atol=1e-5)


def test_an_example_that_never_fits_is_written_with_its_error(tmp_path, tiny, monkeypatch):
    from qmsum_fast.gen.local.generate_call import GenerateCall as Engine

    real_generate = Engine.generate
    sizes = []

    def tight_memory(self, texts):
        sizes.append(len(texts))
        if len(texts) > 1 or "Summarize the whole meeting." in texts[0]:
            raise RuntimeError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return real_generate(self, texts)

    monkeypatch.setattr(Engine, "generate", tight_memory)
    out, result = generate(
        tmp_path,
        "--model",
        tiny["llama"],
        "--limit",
        "3",
        "--batch-size",
        "3",
        "--greedy",
        "--max-new-tokens",
        "2",
        "--max-input-tokens",
        "64",
    )
    rows = {r["id"]: r for r in records(out)[1]}
    assert rows["train/ES2005a/g0"]["prediction"] == "" and "out of memory" in rows["train/ES2005a/g0"]["error"]
    assert all("error" not in rows[i] for i in ("train/ES2005a/s0", "train/ES2005a/s1"))
    assert sizes[0] == 3 and max(sizes[1:]) == 2
    assert "warning: train/ES2005a/g0: out of memory even at batch size 1" in result.output


def test_last_context_length_goes_only_to_the_longllama_remote_code():
    from types import SimpleNamespace

    from qmsum_fast.gen.local.generate_call import GenerateCall as Engine
    from qmsum_fast.gen.local.models import LoadedModel

    settings = config_of("longllama", trust_remote_code=True)
    tokenizer = SimpleNamespace(pad_token_id=1)
    for model_type, expected in (("longllama", {"last_context_length": 1024}), ("llama", {})):
        model = SimpleNamespace(modules=lambda: [], config=SimpleNamespace())  # no rotary module to keep
        engine = Engine(LoadedModel(model, tokenizer, False, "cpu", model_type, "sdpa"), settings)
        assert {k: v for k, v in engine.generation.items() if k == "last_context_length"} == expected
        assert engine.generation["temperature"] == 1.0 and engine.generation["max_new_tokens"] == 256


# --- run integrity: resume, overwrite, interrupts --------------------------------------------


def test_a_larger_limit_continues_the_run_and_the_header_says_so(tmp_path):
    out, _ = generate(tmp_path, "--model", "lead", "--limit", "2")
    _, result = generate(tmp_path, "--model", "lead", "--limit", "5", "--resume", "--batch-size", "3")
    header, rows = records(out)
    assert [r["id"] for r in rows] == [e.id for e in load_examples(DATA, split="train")][:5]
    assert header["config"]["limit"] == 5 and header["runtime"]["batch_size"] == 3
    assert "(3 new" in result.output


def test_resume_refuses_other_data_with_the_same_path(tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    out = tmp_path / "run.jsonl"
    args = ["generate", "--model", "lead", "--data", str(data), "--split", "train", "--out", str(out)]
    assert CliRunner().invoke(main, [*args, "--limit", "1"]).exit_code == 0
    meeting = next((data / "train").glob("*.json"))
    meeting.write_text(meeting.read_text().replace("the", "teh"))
    before = out.read_bytes()
    result = CliRunner().invoke(main, [*args, "--resume"])
    assert result.exit_code == 2 and "cannot resume: data_fingerprint was" in result.output
    assert out.read_bytes() == before


def test_a_failed_overwrite_leaves_the_old_run_and_the_same_command_continues(tmp_path, monkeypatch):
    from qmsum_fast.gen import strategies
    from qmsum_fast.gen.output import partial_path

    out, _ = generate(tmp_path, "--model", "lead", "--limit", "3")
    before = out.read_bytes()
    real = strategies.run_extractive

    def stop_after_one(sources, predict, emit):
        real(sources[:1], predict, emit)
        raise KeyboardInterrupt

    monkeypatch.setattr(strategies, "run_extractive", stop_after_one)
    _, result = generate(tmp_path, "--model", "lead", "--limit", "3", "--budget", "2", "--overwrite", expect=130)
    assert result.output.strip().splitlines()[-1] == (
        f"qmsum-fast: interrupted: 1 records kept in {partial_path(out)}; run the same command again to continue it"
    )
    assert out.read_bytes() == before
    monkeypatch.setattr(strategies, "run_extractive", real)
    _, result = generate(tmp_path, "--model", "lead", "--limit", "3", "--budget", "2", "--overwrite")
    assert "(2 new" in result.output and not partial_path(out).exists()
    header, rows = records(out)
    assert header["config"]["baseline"]["budget"] == 2 and len(rows) == 3


def test_sigint_exits_130_keeps_the_records_and_resume_finishes(tmp_path, tiny):
    out = tmp_path / "interrupted.jsonl"
    args = _slow_run_args(tiny, out)
    process = subprocess.Popen(_cli(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None:
        if out.exists() and out.read_text().count("\n") >= 3:  # header and 2 records
            break
        time.sleep(0.05)
    assert process.poll() is None, process.communicate()
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1].startswith("qmsum-fast: interrupted: ")
    assert stderr.strip().endswith(f"records kept in {out}; add --resume to continue") and "Traceback" not in stderr
    finished = subprocess.run(_cli(*args, "--resume"), capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert [r["id"] for r in records(out)[1]] == [e.id for e in load_examples(DATA, split="all")]


def test_generate_and_analyze_default_to_the_same_preprocessing(tmp_path):
    out = tmp_path / "run.jsonl"
    result = CliRunner().invoke(
        main, ["generate", "--model", "lead", "--data", str(DATA), "--split", "val", "--out", str(out)]
    )
    assert result.exit_code == 0 and "preprocess qmsum" in result.output
    assert records(out)[0]["config"]["preprocess"] == "qmsum"
    analyzed = CliRunner().invoke(main, ["analyze", "--data", str(DATA), "--split", "val", "--json"])
    assert json.loads(analyzed.output)["preprocess"] == "qmsum"


def test_make_model_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    import errno

    import transformers

    target = tmp_path / "models" / "m"

    def disk_full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(transformers.PreTrainedTokenizerFast, "save_pretrained", disk_full)
    result = CliRunner().invoke(main, ["make-model", "--arch", "gpt-neox", str(target)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.strip() == f"qmsum-fast: error: {target}: cannot write: No space left on device"
    assert list((tmp_path / "models").iterdir()) == []  # no half-written model, no staging folder
    monkeypatch.undo()
    (tmp_path / "file").write_text("x")
    for taken, message in ((tmp_path / "file", "is a file"), (tmp_path, "exists and is not an empty folder")):
        result = CliRunner().invoke(main, ["make-model", "--arch", "gpt-neox", str(taken)])
        assert result.exit_code == 2 and message in result.stderr and len(result.stderr.splitlines()) == 1
