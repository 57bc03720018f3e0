"""Shared fixtures: the real bundled models (no mocks), loaded once per session."""

from __future__ import annotations

import os
import pathlib
import sys
import warnings
from importlib.metadata import version

import pytest
import torch

sys.path.insert(0, str(pathlib.Path(__file__).parent))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
warnings.filterwarnings("ignore")
torch.set_num_threads(2)


#: TransformerLens major version of this environment (4: TransformerBridge; 3: HookedTransformer).
TL_MAJOR = int(version("transformer_lens").split(".")[0])


@pytest.fixture(scope="session")
def tiny():
    from induction_widgets.models import load_model

    return load_model("tiny")


@pytest.fixture(scope="session")
def smollm2():
    from induction_widgets.models import load_model

    return load_model("smollm2", progress=False)


@pytest.fixture(scope="session")
def smollm2_scores(smollm2):
    from induction_widgets import head_scores

    return head_scores(smollm2, progress=False)


# ---------------------------------------------------------------------------------------------
# One Playwright (sync API) and one Debian Chromium per session, for tests/browser and tests/docs:
# Playwright refuses a second sync instance in the thread while the first one's loop runs.


@pytest.fixture(scope="session")
def playwright_instance():
    sync_api = pytest.importorskip("playwright.sync_api")
    sys.path.insert(0, str(pathlib.Path(__file__).parent / "browser"))
    from labkit import CHROMIUM

    if not pathlib.Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with sync_api.sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance):
    from labkit import CHROMIUM, CHROMIUM_ARGS

    b = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield b
    b.close()
