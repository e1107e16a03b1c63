"""Length-sorted batches and halving on out-of-memory (qmsum_fast.gen.local.batching)."""

from __future__ import annotations

from qmsum_fast.gen.local.batching import Batcher, start_batch_size


class FakeOOM(RuntimeError):
    def __init__(self) -> None:
        super().__init__("CUDA out of memory. Tried to allocate 2.00 GiB")


def test_runs_longest_first_in_batches():
    seen = []
    batcher = Batcher(lambda texts: seen.append(list(texts)) or [t.upper() for t in texts], size=2)
    results = []
    batcher.run(["a", "bbb", "cc", "dddd", "e"], [1, 3, 2, 4, 1], results.append)
    assert seen == [["dddd", "bbb"], ["cc", "a"], ["e"]]
    assert sorted((r.index, r.output) for r in results) == [(0, "A"), (1, "BBB"), (2, "CC"), (3, "DDDD"), (4, "E")]


def test_out_of_memory_halves_the_batch_and_fails_only_what_cannot_fit():
    sizes = []

    def generate(texts):
        sizes.append(len(texts))
        if len(texts) > 2 or "huge" in texts:
            raise FakeOOM()
        return [t + "!" for t in texts]

    batcher = Batcher(generate, size=8)
    texts = ["huge", "x1", "x2", "x3", "x4", "x5", "x6", "x7"]
    results = []
    batcher.run(texts, [100, 7, 6, 5, 4, 3, 2, 1], results.append)
    by_index = {r.index: r for r in results}
    assert len(results) == 8 and set(by_index) == set(range(8))
    assert by_index[0].output is None and "out of memory even at batch size 1" in by_index[0].error
    assert all(by_index[i].output == texts[i] + "!" for i in range(1, 8))
    assert sizes[0] == 8 and max(sizes[1:]) <= 4 and batcher.size <= 2


def test_other_errors_are_not_swallowed():
    batcher = Batcher(lambda texts: 1 / 0, size=2)
    try:
        batcher.run(["a"], [1], lambda r: None)
    except ZeroDivisionError:
        pass
    else:
        raise AssertionError("the error was swallowed")


def test_auto_batch_size_starts_large_on_cuda_and_small_on_cpu():
    assert start_batch_size("auto", 100, on_cuda=True) == 32
    assert start_batch_size("auto", 100, on_cuda=False) == 4
    assert start_batch_size("auto", 3, on_cuda=True) == 3
    assert start_batch_size(16, 100, on_cuda=False) == 16


def test_prompts_past_a_length_switch_run_alone_and_it_is_said_once(capsys):
    """A length-dependent RoPE switch at 100 positions, 6 new tokens: a prompt reaching past
    position 100 (prompt + 5) runs alone; the others batch as usual."""
    from qmsum_fast.gen.local.exactness import BatchLimits, LengthSwitch

    seen = []
    limits = BatchLimits(switch=LengthSwitch(100, "a test RoPE"), new_tokens=6)
    batcher = Batcher(lambda texts: seen.append(list(texts)) or list(texts), size=3, limits=limits)
    lengths = [96, 90, 95, 120, 80, 94]
    batcher.run([f"p{n}" for n in lengths], lengths, lambda result: None)
    assert seen == [["p120"], ["p96"], ["p95", "p94", "p90"], ["p80"]]
    assert capsys.readouterr().err.count("qmsum-fast: batching: a test RoPE changes its frequencies past 100") == 1


def test_a_model_that_cannot_batch_runs_every_prompt_alone(capsys):
    from qmsum_fast.gen.local.exactness import BatchLimits

    seen = []
    batcher = Batcher(
        lambda texts: seen.append(list(texts)) or list(texts), size=4, limits=BatchLimits(one_at_a_time="X")
    )
    batcher.run(["a", "b", "c"], [5, 5, 5], lambda result: None)
    assert seen == [["a"], ["b"], ["c"]]
    assert capsys.readouterr().err == "qmsum-fast: batching: X: prompts run one at a time\n"
