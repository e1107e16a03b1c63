import os

import pytest

# No test may reach the Hugging Face hub; the hub library reads this once, at import.
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run slow tests")


def pytest_collection_modifyitems(config, items):
    if not config.getoption("--runslow"):
        skip_slow = pytest.mark.skip(reason="slow: use --runslow")
        for item in items:
            if "slow" in item.keywords:
                item.add_marker(skip_slow)
    gpu_items = [item for item in items if "gpu" in item.keywords]
    # torch is imported only when a collected test needs a GPU: it is slow to import.
    if gpu_items and not _cuda_available():
        skip_gpu = pytest.mark.skip(reason="gpu: no CUDA device")
        for item in gpu_items:
            item.add_marker(skip_gpu)


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """Tiny random-weight models, made once per session."""
    from qmsum_fast.gen.local.make_model import make_model

    root = tmp_path_factory.mktemp("models")
    return {arch: str(make_model(arch, "tiny", root / arch)) for arch in ("led", "mpt", "llama", "gpt-neox")}
