"""``scripts/hero.py`` (the docs' hero image) runs end to end on the tiny model into a temp path:
the explorer on an induction head, locked on a repeated token that attends to its induction target,
saved offline and photographed by Chromium into a small PNG."""

from __future__ import annotations

import importlib.util
import struct
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location("hero", ROOT / "scripts" / "hero.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_hero_script_on_the_tiny_model(tiny, tmp_path):
    import induction_widgets as iw

    scores = iw.head_scores(tiny, n_examples=4, progress=False)
    text = "the cat sat on the mat.\n\nthe cat sat on the mat."
    out = tmp_path / "hero.png"
    # in a thread of its own: the script drives Chromium with Playwright's sync API, which refuses a
    # thread where another sync Playwright (the browser tests' session fixture) has its event loop
    with ThreadPoolExecutor(1) as pool:
        info = pool.submit(
            _script().hero, tiny, out, text=text, scores=scores, page=tmp_path / "hero.html"
        ).result()
    assert (info["layer"], info["head"]) == scores.induction_heads()[0]
    assert info["verdict"] == "induction head"
    # the locked token is in the repeat and the head reads its induction target there
    acts = iw.TextActivations(tiny, text)
    d, target = info["token"], info["target"]
    assert acts.str_tokens[target - 1] == acts.str_tokens[d] and target < d
    pattern = acts.attention(info["layer"], info["head"])
    assert int(pattern[d].argmax()) == target and info["weight"] > 0.5
    assert info["locked_text"] == acts.str_tokens[d]
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) <= 250 * 1024
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == tuple(info["size"]) and width >= 600 and height >= 300
    assert (
        "data-kind" in (tmp_path / "hero.html").read_text()
        or (tmp_path / "hero.html").stat().st_size > 10_000
    )
