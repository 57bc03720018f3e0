"""The ``palette`` trait in Chromium, from ``save_html`` pages (no kernel): a locked token's
neighbours change colour with the palette, and every token's background on the page is the colour
the static figure (``iw.figure``) gives that token — the page and the figure agree."""

from __future__ import annotations

import pytest
from labkit import expect, open_saved
from viewcheck import TEXT, parse_css_colour, read_tokens

pytestmark = pytest.mark.browser


def _page_colours(offline, path):
    page, problems = open_saved(offline, path)
    root = page.locator(".iw-token-view").first
    expect(root.locator(".iw-token.iw-locked")).to_have_count(1)
    colours = {t.index: parse_css_colour(t.computed) for t in read_tokens(root)}
    problems.assert_clean()
    assert offline.request_log == []
    page.close()
    return colours


def _figure_colours(view):
    import induction_widgets as iw

    fig = iw.figure(view)
    out = {}
    for p in fig.axes[0].patches:
        gid = p.get_gid() or ""
        if gid.startswith("iw-token-") and gid[9:].isdigit():
            r, g, b, a = p.get_facecolor()
            out[int(gid[9:])] = (
                None if a == 0 else (round(r * 255), round(g * 255), round(b * 255), a)
            )
    return out


@pytest.mark.parametrize("mode", ["attention", "logit_attr"])
def test_token_colours_follow_the_palette_and_match_the_figure(offline, tiny_model, tmp_path, mode):
    import induction_widgets as iw

    seen = {}
    for palette in ("paper", "colorblind"):
        view = iw.TokenView(tiny_model, TEXT, 1, 0, mode=mode, palette=palette)
        view.selected = 40
        colours = _page_colours(
            offline, view.save_html(tmp_path / f"{mode}-{palette}.html", heads=[(1, 0)])
        )
        figure = _figure_colours(view)
        assert sorted(colours) == sorted(figure)
        for i, css in colours.items():
            want = figure[i]
            if css is None or want is None:  # transparent on one side: nearly so on the other
                assert (css or want) is None or (css or want)[3] <= 2 / 255, (i, css, want)
                continue
            assert css[:3] == want[:3], (palette, i, css, want)
            assert abs(css[3] - want[3]) <= 2 / 255, (palette, i, css, want)
        seen[palette] = colours
    shaded = [i for i, c in seen["paper"].items() if c is not None and c[3] > 0.05]
    assert shaded, "the locked token shades nothing"
    for i in shaded:  # same alpha, another hue
        assert seen["colorblind"][i] is not None
        assert seen["colorblind"][i][:3] != seen["paper"][i][:3]
        assert abs(seen["colorblind"][i][3] - seen["paper"][i][3]) <= 1 / 255
