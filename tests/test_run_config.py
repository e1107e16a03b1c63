"""The run configuration typed per engine: a header reads back into the same
types, and headers written before the engines had their own field sets (the
other engines' fields written as None) still resume."""

from __future__ import annotations

import dataclasses
import json

from cli_helpers import error, ok
from qmsum_fast.gen.config import (
    LocalModel,
    Request,
    Reuse,
    RunConfig,
    ServedModel,
    build_config,
    data_fingerprint,
)

# A header's config as qmsum-fast 0.1.0 wrote it for `generate --model lead --split val --limit 2`
# (data_fingerprint left out: it is the bundled data's, computed here).
OLD_BASELINE = {
    "kind": "baseline",
    "model": "lead",
    "model_path": None,
    "model_fingerprint": None,
    "strategy": "extractive",
    "template": None,
    "preprocess": "qmsum",
    "input": "full",
    "max_input_tokens": None,
    "generation": {},
    "baseline": {
        "unit": "sentence",
        "budget": 4,
        "budget_kind": "units",
        "clean": False,
        "speaker": False,
        "seed": 0,
        "stem": True,
    },
    "locate_method": None,
    "locate_window": None,
    "locate_budget": None,
    "dtype": None,
    "attention": None,
    "trust_remote_code": False,
    "config_overrides": {},
    "remote_generate_kwargs": {},
    "answer_marker": None,
    "instruction": True,
    "map_instruction": None,
    "chunk_overlap": 0,
    "reduce_tokens": None,
    "adapter": None,
    "adapter_fingerprint": None,
    "seed": 0,
    "data": "bundled",
    "split": "val",
    "domain": "all",
    "limit": 2,
    "served": None,
    "reuse": None,
    "adapter_len": None,
}
# What the in-process engine's configuration held of the other engines' fields.
OLD_LOCAL_EXTRAS = {"baseline": None, "served": None}


def _local() -> RunConfig:
    return build_config(Request(model="acme/model", max_new_tokens=8, max_input_tokens=100), dtype="fp32")


def test_each_engine_s_configuration_reads_back_into_the_same_types():
    local = _local()
    served = dataclasses.replace(
        local,
        engine=ServedModel(
            "openai", "acme/model", "chat", {"id": "acme/model"}, {"path": "t.json"}, {"max_tokens": 8}, Reuse.AUTO
        ),
    )
    baseline = build_config(Request(model="lead", split="val", limit=2))
    for config in (local, served, baseline):
        assert RunConfig.from_dict(json.loads(json.dumps(config.as_dict()))) == config
    assert isinstance(local.engine, LocalModel) and local.engine.reuse is Reuse.AUTO
    # Each engine writes its own fields only.
    assert "served" not in local.as_dict() and "baseline" not in local.as_dict()
    assert "model_path" not in served.as_dict() and served.as_dict()["served"]["api"] == "chat"
    assert "dtype" not in baseline.as_dict() and "served" not in baseline.as_dict()


def test_headers_with_the_other_engines_fields_compare_as_their_own():
    old = {**OLD_BASELINE, "data_fingerprint": data_fingerprint(None)}
    assert build_config(Request(model="lead", split="val", limit=2)).differences(old) == []
    assert build_config(Request(model="lead", split="test", limit=2)).differences(old) == [
        "split was 'val', now 'test'"
    ]
    local = _local()
    assert local.differences({**local.as_dict(), **OLD_LOCAL_EXTRAS}) == []


def test_a_header_that_does_not_read_back_is_one_line():
    assert _local().differences({"kind": "model", "model": "acme/model"}) == [
        "its configuration has no 'strategy': it was written by another version of qmsum-fast"
    ]


def test_resume_continues_a_run_file_whose_header_has_the_old_layout(tmp_path):
    out = tmp_path / "run.jsonl"
    args = ["generate", "--model", "lead", "--split", "val", "--out", out]
    ok(*args, "--limit", "1")
    header, *records = [json.loads(line) for line in out.read_text().splitlines()]
    header["config"] = {**OLD_BASELINE, "data_fingerprint": header["config"]["data_fingerprint"], "limit": 1}
    out.write_text("".join(json.dumps(line) + "\n" for line in [header, *records]))
    ok(*args, "--limit", "2", "--resume")
    resumed = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(resumed) == 3 and resumed[1] == records[0] and resumed[2]["id"] != records[0]["id"]
    header["config"].pop("preprocess")
    out.write_text("".join(json.dumps(line) + "\n" for line in [header, *records]))
    message = error(*args, "--limit", "2", "--resume")
    assert "cannot resume: its configuration has no 'preprocess'" in message


def test_reuse_off_with_a_baseline_says_it_does_not_apply(tmp_path):
    output = ok(
        "generate", "--model", "lead", "--split", "val", "--limit", "1", "--reuse", "off", "--out", tmp_path / "r"
    )
    assert "--reuse off does not apply to extractive baselines" in output
    assert "--reuse" not in ok("generate", "--model", "lead", "--split", "val", "--limit", "1", "--out", tmp_path / "a")
