"""docs/tour.ipynb, the five-minute tour from a notebook, executed by a real kernel (nbclient + ipykernel) with
no network: every HTTP(S) request of the kernel goes to a proxy that is not there, and the hub is offline.
Its head view, both as the notebook shows it (the cell's HTML output: a sandboxed srcdoc iframe) and as
`.save_html` wrote it, is then opened in Chromium with every request other than the file itself blocked:
it draws, and a click on a token pins that token."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from browser_support import guarded_page  # tests/ is on sys.path (rootdir conftest)

nbformat = pytest.importorskip("nbformat", reason="pip install -e '.[test]' (nbclient, ipykernel)")
nbclient = pytest.importorskip("nbclient", reason="pip install -e '.[test]' (nbclient, ipykernel)")

ROOT = Path(__file__).resolve().parents[2]
UNREACHABLE = "http://127.0.0.1:9"  # nothing listens: a download attempt fails instead of going out


def local(url: str) -> bool:
    return url.startswith(("file:", "about:", "data:", "blob:"))


@pytest.fixture(scope="module")
def tour(models_dir, tmp_path_factory):
    """(the executed notebook, its folder)."""
    folder = tmp_path_factory.mktemp("tour")
    notebook = nbformat.read(ROOT / "docs" / "tour.ipynb", as_version=4)
    offline = {
        "HEADSCOPE_MODELS_DIR": str(models_dir),
        "HEADSCOPE_DEVICE": "cpu",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        **{name: UNREACHABLE for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")},
        "NO_PROXY": "",
        "no_proxy": "",
    }
    client = nbclient.NotebookClient(
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    client.execute(env={**os.environ, **offline})
    return notebook, folder


def outputs_of(notebook, source_start: str) -> list:
    cell = next(c for c in notebook.cells if c.cell_type == "code" and c.source.startswith(source_start))
    return cell.outputs


def html_of(notebook, source_start: str) -> str:
    shown = [o for o in outputs_of(notebook, source_start) if "text/html" in o.get("data", {})]
    assert shown, f"the cell starting {source_start!r} shows no HTML"
    return shown[-1]["data"]["text/html"]


def test_the_tour_runs_offline_and_shows_every_view(tour):
    notebook, folder = tour
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    assert html_of(notebook, "result = headscope.inspect").count('<iframe class="headscope-view"') == 1
    assert "headscope-view" in html_of(notebook, "result.model_view()")
    assert "headscope-view" in html_of(notebook, "attention, tokens = result.to_bertviz()")
    analysis = html_of(notebook, "analysis = headscope.analyze")
    assert "headscope-heatmap" in analysis and "headscope-ranked" in analysis
    switched = "".join(o.get("text", "") for o in outputs_of(notebook, "off = headscope.inspect"))
    assert "heads 5.1 5.3 zero:" in switched
    assert (folder / "tour-head-view.html").stat().st_size > 50_000


def _pin_a_token(frame) -> None:
    """Wait for the head view to finish drawing, click the left column's 3rd token, see it pinned."""
    frame.locator("body[data-ready='1']").wait_for(state="attached", timeout=60_000)
    frame.locator("canvas.hv-canvas[data-complete='1']").wait_for(state="attached", timeout=60_000)
    token = frame.locator(".tokcol.left .token").nth(2)
    assert frame.locator(".token.pinned").count() == 0
    token.click()
    frame.locator(".tokcol.left .token.pinned").wait_for(timeout=10_000)
    assert "pinned" in (token.get_attribute("class") or "")
    assert int(frame.locator(".snapshot-view").first.get_attribute("data-edges")) > 0


def test_the_saved_head_view_answers_a_click_offline(browser, tour):
    _, folder = tour
    with guarded_page(browser, allowed=local) as (page, blocked):
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto((folder / "tour-head-view.html").as_uri())
        _pin_a_token(page)
        page.select_option(".sv-layer", "2")  # the layer select redraws
        page.locator("canvas.hv-canvas[data-complete='1']").wait_for(state="attached", timeout=60_000)
    assert errors == [] and blocked == []


def test_the_cells_output_answers_a_click_in_its_frame(browser, tour, tmp_path):
    """The HTML the notebook shows under the cell, in a page as a notebook front end embeds it."""
    notebook, _ = tour
    page_file = tmp_path / "cell.html"
    page_file.write_text(
        "<!doctype html><meta charset='utf-8'><body>" + html_of(notebook, "result = headscope.inspect") + "</body>",
        encoding="utf-8",
    )
    with guarded_page(browser, allowed=local) as (page, blocked):
        page.goto(page_file.as_uri())
        _pin_a_token(page.frame_locator("iframe.headscope-view"))
    assert blocked == []


def test_the_model_view_opens_a_clicked_head(browser, tour, tmp_path):
    notebook, _ = tour
    page_file = tmp_path / "model.html"
    page_file.write_text(
        "<!doctype html><meta charset='utf-8'><body>" + html_of(notebook, "result.model_view()") + "</body>",
        encoding="utf-8",
    )
    with guarded_page(browser, allowed=local) as (page, blocked):
        page.goto(page_file.as_uri())
        frame = page.frame_locator("iframe.headscope-view")
        frame.locator("body[data-ready='1']").wait_for(state="attached", timeout=60_000)
        frame.locator(".thumb[data-layer='4'][data-head='7']").click()
        frame.locator(".thumb.selected[data-layer='4'][data-head='7']").wait_for(timeout=10_000)
        frame.locator("#heatmap canvas.heatmap-canvas").first.wait_for(timeout=60_000)  # the heatmap drew the head
        assert frame.locator(".sv-layer").input_value() == "4"
        assert frame.locator(".sv-heads .off").count() == 11  # only head 7 of 12 is on
    assert blocked == []
