"""Nothing a user has is lost: outputs that are inputs, special files, two
writers, full disks and closed pipes, and interrupts at the wrong moment.

Each class is tried on every command it applies to; every refusal is one line
``qmsum-fast: error: ...`` with exit status 2, and the files involved are
unchanged afterwards.
"""

from __future__ import annotations

import errno
import gzip
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from qmsum_fast.cli import main

DATA = Path(__file__).parent / "data"
GEN = DATA / "gen_qmsum"  # three meetings; --split train holds two
FAST = ("--split", "val", "--domain", "academic")
OLD = b"a file the user already has\n"
PYTHON_PATH = str(Path(__file__).parents[1] / "python")


def run(*args: object):
    return CliRunner().invoke(main, [str(arg) for arg in args])


def one_error_line(result, *fragments: object) -> str:
    """Exit 2, one ``qmsum-fast: error:`` line on stderr holding each fragment, no traceback."""
    assert result.exit_code == 2, result.output + repr(result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("qmsum-fast: error: "), result.stderr
    for fragment in fragments:
        assert str(fragment) in lines[0], lines[0]
    return lines[0]


def existing(path: Path, content: bytes = OLD) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def generate_args(out: Path, *extra: object) -> list:
    return ["generate", "--model", "lead", "--data", GEN, "--split", "train", "--out", out, "--no-progress", *extra]


@pytest.fixture
def run_file(tmp_path) -> Path:
    """A finished run of the lead baseline (with the header generate writes)."""
    out = tmp_path / "runs" / "lead.jsonl"
    result = run(*generate_args(out))
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def data_file(tmp_path) -> Path:
    """A copy of one upstream meeting file as a JSONL data file."""
    meeting = json.loads(next((GEN / "train").glob("*.json")).read_text())
    return existing(tmp_path / "data" / "train.jsonl", (json.dumps(meeting) + "\n").encode())


# --- 1 and 2: an output that is an input or another output --------------------------------------


def same_file(kind: str, original: Path, tmp_path: Path) -> Path:
    """``original`` itself, a symbolic link to it or a hard link to it."""
    if kind == "itself":
        return original
    other = tmp_path / "links" / f"{kind}-{original.name}"
    other.parent.mkdir(exist_ok=True)
    if kind == "symlink":
        other.symlink_to(original)
    else:
        os.link(original, other)
    return other


LINKS = ["itself", "symlink", "hardlink"]


@pytest.mark.parametrize("kind", LINKS)
@pytest.mark.parametrize("option", ["report --markdown", "report --chart", "view -o", "export -o", "generate --csv"])
def test_an_output_that_is_a_run_read_is_refused_even_with_overwrite(tmp_path, run_file, kind, option):
    before = run_file.read_bytes()
    out = same_file(kind, run_file, tmp_path)
    args = {
        "report --markdown": ["report", run_file, "--markdown", out],
        "report --chart": ["report", run_file, "--chart", out],
        "view -o": ["view", run_file, "--data", GEN, "-o", out],
        "export -o": ["export", run_file, "--to", "scrolls", "-o", out],
        # the run resumed is read, and a CSV over it would destroy it
        "generate --csv": generate_args(run_file, "--csv", out, "--resume"),
    }[option]
    one_error_line(run(*args, "--overwrite") if option != "generate --csv" else run(*args), out)
    assert run_file.read_bytes() == before


@pytest.mark.parametrize("kind", LINKS)
@pytest.mark.parametrize("option", ["convert -o", "generate --out", "generate --csv", "view -o", "export -o"])
def test_an_output_that_is_a_data_file_read_is_refused(tmp_path, run_file, data_file, kind, option):
    out = same_file(kind, data_file, tmp_path)
    args = {
        "convert -o": ["convert", "--to", "jsonl", "--data", data_file, "--split", "all", "-o", out],
        "generate --out": generate_args(out, "--data", data_file, "--split", "all"),
        "generate --csv": generate_args(tmp_path / "new.jsonl", "--data", data_file, "--split", "all", "--csv", out),
        "view -o": ["view", run_file, "--data", data_file, "-o", out],
        "export -o": ["export", run_file, "--to", "longbench", "--data", data_file, "-o", out],
    }[option]
    one_error_line(run(*args, "--overwrite"), out, data_file if kind != "itself" else out)
    assert json.loads(data_file.read_text())["topic_list"]


def test_export_refuses_to_replace_the_data_its_run_header_names(tmp_path, data_file):
    """An input found only while running (the data a run's header names) is
    protected by the files the command has read."""
    out = tmp_path / "run.jsonl"
    assert run(*generate_args(out, "--data", data_file, "--split", "all")).exit_code == 0
    before = data_file.read_bytes()
    line = one_error_line(run("export", out, "--to", "longbench", "-o", data_file, "--overwrite"), data_file)
    assert "input of this command" in line
    assert data_file.read_bytes() == before


def test_view_refuses_to_replace_a_meeting_of_the_data_folder_it_reads(tmp_path, run_file):
    data = tmp_path / "data"
    shutil.copytree(GEN, data)
    meeting = next((data / "train").glob("*.json"))
    before = meeting.read_bytes()
    one_error_line(run("view", run_file, "--data", data, "-o", meeting, "--overwrite"), meeting, data)
    assert meeting.read_bytes() == before


@pytest.mark.parametrize("kind", ["same", "symlink", "hardlink"])
@pytest.mark.parametrize("option", ["generate", "report"])
def test_two_outputs_of_one_command_that_are_one_file_are_refused(tmp_path, run_file, kind, option):
    first = existing(tmp_path / "first.out")
    second = first if kind == "same" else same_file(kind, first, tmp_path)
    if option == "generate":
        result = run(*generate_args(first, "--csv", second, "--overwrite"))
    else:
        result = run("report", run_file, "--markdown", first, "--chart", second, "--overwrite")
    one_error_line(result, "name the same file", first, second)
    assert first.read_bytes() == OLD


def test_generate_refuses_out_and_csv_naming_one_new_file(tmp_path):
    out = tmp_path / "run"
    one_error_line(run(*generate_args(out, "--csv", out)), "--csv", "--out", "name the same file")
    assert listing(tmp_path) == []


def test_analyze_refuses_plots_over_its_tokenizer(tmp_path):
    tokenizer = tmp_path / "tok" / "tokenizer.json"
    tokenizer.parent.mkdir()
    shutil.copy(Path(__file__).parents[1] / "python/qmsum_fast/_data/tokenizers/gpt-neox-20b/tokenizer.json", tokenizer)
    plots = tmp_path / "plots"
    plots.mkdir()
    os.link(tokenizer, plots / "input_tokens.png")
    before = tokenizer.read_bytes()
    result = run("analyze", *FAST, "--tokenizer", tokenizer, "--plots", plots, "--overwrite")
    one_error_line(result, plots / "input_tokens.png", tokenizer)
    assert tokenizer.read_bytes() == before


# --- 5: never replace what is not a regular file ------------------------------------------------


def special_file(kind: str, path: Path) -> Path:
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
        server.close()
    elif kind == "device":
        if os.geteuid() != 0:
            pytest.skip("making a device node needs root")
        os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 3))  # a null device of our own
    elif kind == "link-to-fifo":
        os.mkfifo(path.with_name("fifo"))
        path.symlink_to(path.with_name("fifo"))
    return path


def file_kind(path: Path) -> int:
    return stat.S_IFMT(os.stat(path).st_mode)


@pytest.mark.parametrize("kind", ["fifo", "socket", "device", "link-to-fifo"])
@pytest.mark.parametrize("option", ["generate --out", "generate --csv", "convert -o", "report --markdown", "view -o"])
def test_a_special_file_is_never_replaced_even_with_overwrite(tmp_path, run_file, kind, option):
    target = special_file(kind, tmp_path / "target")
    before = file_kind(target)
    args = {
        "generate --out": generate_args(target),
        "generate --csv": generate_args(tmp_path / "new.jsonl", "--csv", target),
        "convert -o": ["convert", "--to", "scrolls", *FAST, "-o", target],
        "report --markdown": ["report", run_file, "--markdown", target],
        "view -o": ["view", run_file, "--data", GEN, "-o", target],
    }[option]
    one_error_line(run(*args, "--overwrite"), target, "not a regular file")
    assert file_kind(target) == before


def test_generate_to_dev_full_is_one_line(tmp_path):
    for flag in ((), ("--overwrite",)):
        one_error_line(run(*generate_args(Path("/dev/full"), *flag)), "/dev/full")
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_a_users_own_partial_file_is_never_touched(tmp_path, run_file):
    mine = existing(run_file.with_name(run_file.name + ".partial"))
    result = run(*generate_args(run_file, "--budget", "2", "--overwrite"))
    assert result.exit_code == 0, result.output
    assert mine.read_bytes() == OLD
    assert listing(run_file.parent) == sorted([run_file.name, mine.name])


def test_a_file_at_our_partial_name_that_is_no_run_is_refused_not_replaced(tmp_path, run_file):
    from qmsum_fast.gen.output import partial_path

    squatter = existing(partial_path(run_file))
    before = run_file.read_bytes()
    one_error_line(run(*generate_args(run_file, "--budget", "2", "--overwrite")), squatter, "not a partial run")
    assert squatter.read_bytes() == OLD and run_file.read_bytes() == before


def test_temporary_files_have_names_no_user_file_has(tmp_path, monkeypatch):
    from qmsum_fast import files

    seen = []
    real = files.os.fsync

    def look(descriptor):
        seen.extend(listing(tmp_path))
        real(descriptor)

    monkeypatch.setattr(files.os, "fsync", look)
    existing(tmp_path / "out.md.tmp")  # what a user may well have
    files.atomic_write(tmp_path / "out.md", "text")
    temporary = [name for name in seen if name not in ("out.md", "out.md.tmp")]
    assert len(temporary) == 1 and temporary[0].startswith(".out.md.qmsum-fast-"), seen
    assert listing(tmp_path) == ["out.md", "out.md.tmp"]


# --- 4: two writers on one run file -------------------------------------------------------------


HOLDER = """
import sys, time
from pathlib import Path
from qmsum_fast.gen import strategies
real = strategies.run_extractive
def slow(sources, predict, emit):
    real(sources[:1], predict, emit)
    Path(sys.argv[1]).write_text("holding")
    time.sleep(60)
strategies.run_extractive = slow
from qmsum_fast.cli import main
main(sys.argv[2:])
"""


def cli_process(*args: object, **kwargs) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": PYTHON_PATH}
    return subprocess.Popen(
        [sys.executable, *map(str, args)], env=environment, stderr=subprocess.PIPE, text=True, **kwargs
    )


@pytest.mark.parametrize("flag", [[], ["--resume"], ["--overwrite"]])
def test_a_second_generate_on_the_same_out_refuses_at_once(tmp_path, flag):
    out = tmp_path / "run.jsonl"
    ready = tmp_path / "ready"
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    first = cli_process(script, ready, *generate_args(out, "--limit", "2"), stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert first.poll() is None and time.monotonic() < deadline, first.stderr.read() if first.stderr else ""
            time.sleep(0.05)
        held = out.read_bytes()
        started = time.monotonic()
        second = cli_process("-m", "qmsum_fast", *generate_args(out, "--limit", "2", *flag), stdout=subprocess.DEVNULL)
        _, stderr = second.communicate(timeout=60)
        assert time.monotonic() - started < 30  # refused at once, not after waiting
        assert second.returncode == 2, stderr
        lines = stderr.splitlines()
        assert len(lines) == 1 and "another qmsum-fast process is writing it" in lines[0] and str(out) in lines[0], (
            stderr
        )
        assert out.read_bytes() == held
    finally:
        first.kill()  # SIGKILL: the kernel releases the lock
        first.communicate()  # reaps it and closes its pipe
    result = run(*generate_args(out, "--limit", "2", "--resume"))
    assert result.exit_code == 0, result.output
    assert "(1 new" in result.stderr
    assert listing(tmp_path) == sorted(["run.jsonl", "ready", "holder.py"])  # the lock file is gone too


def test_the_lock_is_released_when_a_run_fails(tmp_path):
    out = existing(tmp_path / "run.jsonl")
    one_error_line(run(*generate_args(out, "--resume")), out)
    assert run(*generate_args(out, "--overwrite")).exit_code == 0
    assert listing(tmp_path) == ["run.jsonl"]


# --- 6: a full disk, a full or closed standard output -------------------------------------------


def no_space(*args):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_at_the_first_record_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr("qmsum_fast.files.os.fsync", no_space)
    out = tmp_path / "runs" / "run.jsonl"
    one_error_line(run(*generate_args(out)), out, "No space left on device")
    assert listing(out.parent) == []


def test_a_full_disk_mid_run_keeps_the_records_written_and_resume_finishes(tmp_path, monkeypatch):
    from qmsum_fast.gen import output

    real = output.os.fsync
    synced = []

    def full_after_two(descriptor):
        synced.append(descriptor)
        if len(synced) > 2:
            no_space()
        real(descriptor)

    monkeypatch.setattr(output.os, "fsync", full_after_two)
    out = tmp_path / "run.jsonl"
    line = one_error_line(run(*generate_args(out, "--split", "all", "--limit", "5")), "No space left on device")
    kept = [json.loads(text) for text in out.read_text().splitlines() if text.endswith("}")]
    assert f"{len(kept) - 1} records kept in {out}" in line and len(kept) >= 2
    monkeypatch.setattr(output.os, "fsync", real)
    result = run(*generate_args(out, "--split", "all", "--limit", "5", "--resume"))
    assert result.exit_code == 0, result.output
    assert len(out.read_text().splitlines()) == 1 + 5


RUST_FULL = 'Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: "No space left on device" })'


@pytest.mark.parametrize(
    "error",
    [OSError(errno.ENOSPC, "No space left on device"), RuntimeError(RUST_FULL)],
    ids=["python", "safetensors"],
)
def test_make_model_to_a_full_place_is_one_line(tmp_path, monkeypatch, error):
    pytest.importorskip("transformers")
    from qmsum_fast.gen.local import make_model

    class FullDisk:
        def save_pretrained(self, folder):
            raise error

    monkeypatch.setattr(make_model, "build_model", lambda *args: (FullDisk(), FullDisk()))  # no weights to build
    out = tmp_path / "model"
    one_error_line(run("make-model", "--arch", "gpt-neox", out), out, "No space left on device")
    assert listing(tmp_path) == []


def test_a_full_standard_output_is_one_line(tmp_path):
    with open("/dev/full", "w") as full:
        process = cli_process("-m", "qmsum_fast", "analyze", *FAST, stdout=full)
        _, stderr = process.communicate(timeout=120)
    assert process.returncode == 2, stderr
    assert stderr.splitlines() == ["qmsum-fast: error: standard output: cannot write: No space left on device"]


@pytest.mark.parametrize("command", [["analyze", *FAST], ["score", "--pred", "RUN", "--bootstrap", "0"]])
def test_a_closed_pipe_ends_quietly(tmp_path, run_file, command):
    command = [run_file if arg == "RUN" else arg for arg in command]
    process = cli_process("-m", "qmsum_fast", *command, stdout=subprocess.PIPE)
    assert process.stdout is not None
    process.stdout.close()  # as `| head -0` does: every write finds no reader
    _, stderr = process.communicate(timeout=120)
    assert stderr == "" and process.returncode == 141


# --- interrupted at the wrong moment ------------------------------------------------------------


def test_ctrl_c_as_the_temporary_file_is_created_leaves_nothing(tmp_path, monkeypatch):
    from qmsum_fast import files

    real = os.open

    def interrupted(path, *args, **kwargs):
        descriptor = real(path, *args, **kwargs)
        if str(path).startswith(str(tmp_path)):
            raise KeyboardInterrupt  # after the file exists, before anyone knows its descriptor
        return descriptor

    monkeypatch.setattr(os, "open", interrupted)
    with pytest.raises(KeyboardInterrupt):
        files.atomic_write(tmp_path / "out.txt", "text")
    monkeypatch.setattr(os, "open", real)
    assert listing(tmp_path) == []


@pytest.mark.parametrize("records_before", [0, 1])
def test_ctrl_c_after_a_record_is_kept_says_it_was_kept(tmp_path, monkeypatch, records_before):
    """Ctrl-C right after a record reached the disk, before the run counted it."""
    target = "replace" if records_before == 0 else "fsync"
    real = getattr(os, target)
    calls = []

    def then_interrupt(*args):
        real(*args)
        calls.append(args)
        if target == "replace" or len(calls) == 2:  # replace: the first record; fsync 2: the second
            raise KeyboardInterrupt

    monkeypatch.setattr(os, target, then_interrupt)
    out = tmp_path / "run.jsonl"
    result = run(*generate_args(out, "--split", "all", "--limit", "4"))
    monkeypatch.setattr(os, target, real)
    assert result.exit_code == 130, result.output
    kept = len(out.read_text().splitlines()) - 1
    assert kept == records_before + 1
    assert result.stderr.splitlines()[-1].startswith(f"qmsum-fast: interrupted: {kept} records kept in {out}")


# --- 13 and 14: resume with --csv; locate budgets; BOM and .gz runs -----------------------------


def test_resume_rewrites_the_csv_it_derives(tmp_path):
    out, csv = tmp_path / "run.jsonl", tmp_path / "run.csv"
    assert run(*generate_args(out, "--split", "all", "--limit", "1", "--csv", csv)).exit_code == 0
    result = run(*generate_args(out, "--split", "all", "--limit", "3", "--csv", csv, "--resume"))
    assert result.exit_code == 0, result.output
    fresh = tmp_path / "fresh.csv"
    assert (
        run(*generate_args(tmp_path / "fresh.jsonl", "--split", "all", "--limit", "3", "--csv", fresh)).exit_code == 0
    )
    assert csv.read_bytes() == fresh.read_bytes() and csv.read_text().count("\n") > 3


def test_a_budget_given_twice_counts_once():
    once = run("locate", *FAST, "--budget", "512", "--json")
    twice = run("locate", *FAST, "--budget", "512,512", "--json")
    assert once.exit_code == twice.exit_code == 0, twice.output
    assert json.loads(twice.stdout) == json.loads(once.stdout)


def run_variant(run_file: Path, variant: str) -> Path:
    data = run_file.read_bytes()
    if variant == "bom":
        path = run_file.with_name("bom.jsonl")
        path.write_bytes(b"\xef\xbb\xbf" + data)
    else:
        path = run_file.with_name("zipped.jsonl.gz")
        path.write_bytes(gzip.compress(data))
    return path


@pytest.mark.parametrize("variant", ["bom", "gz"])
@pytest.mark.parametrize("command", ["score", "report", "view", "export"])
def test_bom_and_gz_runs_are_read_as_the_plain_run(tmp_path, run_file, variant, command):
    other = run_variant(run_file, variant)

    def output(path: Path, name: str) -> str:
        out = tmp_path / name
        args = {
            "score": ["score", "--pred", path, "--bootstrap", "0", "--json"],
            "report": ["report", path],
            "view": ["view", path, "--data", GEN, "-o", out],
            "export": ["export", path, "--to", "scrolls", "-o", out],
        }[command]
        result = run(*args)
        assert result.exit_code == 0, result.output
        return result.stdout.replace(str(path), "RUN").replace(str(out), "OUT")

    assert output(other, "second-output") == output(run_file, "first-output")
    if command == "export":
        assert (tmp_path / "first-output").read_bytes() == (tmp_path / "second-output").read_bytes()


def test_a_bom_submission_and_references_are_read(tmp_path):
    rows = [{"id": "m1", "pid": "m1_0", "input": "q", "output": "the remote control"}]
    references = existing(
        tmp_path / "ref.jsonl", b"\xef\xbb\xbf" + "".join(json.dumps(r) + "\n" for r in rows).encode()
    )
    submission = existing(tmp_path / "pred.json", b"\xef\xbb\xbf" + json.dumps({"m1": "a remote control"}).encode())
    result = run("score", "--pred", submission, "--ref", references, "--metric", "scrolls")
    assert result.exit_code == 0, result.output


def test_generate_resumes_a_bom_prefixed_run(tmp_path):
    out = tmp_path / "run.jsonl"
    assert run(*generate_args(out, "--split", "all", "--limit", "1")).exit_code == 0
    out.write_bytes(b"\xef\xbb\xbf" + out.read_bytes())
    result = run(*generate_args(out, "--split", "all", "--limit", "3", "--resume"))
    assert result.exit_code == 0, result.output
    assert "(2 new" in result.stderr


@pytest.mark.parametrize("option", ["--template", "--adapter", "--data"])
def test_generate_refuses_an_output_over_a_file_it_reads(tmp_path, option):
    source = existing(tmp_path / "input.txt", b"Q: {query}\n{transcript}\nA:")
    for output in ("--out", "--csv"):
        args = generate_args(source, "--overwrite") if output == "--out" else generate_args(tmp_path / "r.jsonl")
        if output == "--csv":
            args += ["--csv", source, "--overwrite"]
        one_error_line(run(*args, option, source), output, option, source)
        assert source.read_bytes() == b"Q: {query}\n{transcript}\nA:"


def test_a_template_file_with_a_byte_order_mark_is_read_as_without(tmp_path):
    from qmsum_fast.templates import load_template

    plain = existing(tmp_path / "plain.txt", b"Q: {query}\n{transcript}\nA:")
    marked = existing(tmp_path / "marked.txt", b"\xef\xbb\xbf" + plain.read_bytes())
    assert load_template(str(marked)).text == load_template(str(plain)).text


@pytest.mark.parametrize("option", ["convert -o", "report --markdown", "generate --out"])
def test_an_output_that_is_a_symbolic_link_stays_one(tmp_path, run_file, option):
    target = existing(tmp_path / "real" / "target")
    link = tmp_path / "link"
    link.symlink_to(target)
    args = {
        "convert -o": ["convert", "--to", "scrolls", *FAST, "-o", link],
        "report --markdown": ["report", run_file, "--markdown", link],
        "generate --out": generate_args(link),
    }[option]
    result = run(*args, "--overwrite")
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes() != OLD and listing(target.parent) == ["target"]
