"""/analysis says why a head above its baselines has no label (which rule, which number, how many examples)
and shows the labelling rule, each with a "?" to the head label's definition (Chromium, Playwright, a real
uvicorn over the tiny checkpoints: 12 pairs are fewer than a label needs, whatever the weights)."""

import pytest
from browser_support import finished_analysis, guarded_page  # tests/ is on sys.path (rootdir conftest)
from tiny_model import TINY_ABSA_ID

from app.devserver import ServerProcess

pytestmark = pytest.mark.browser
SETTINGS = {"max_examples": 12, "bootstrap": 50, "pretrained": False, "agreement": False, "js_sample": 0}
TINY_ANALYSIS = {"model": TINY_ABSA_ID, "data": "demo-absa", "settings": SETTINGS}


@pytest.fixture(scope="module")
def tiny_server(tiny_models_dir, tmp_path_factory):
    env = {
        "HEADSCOPE_MODELS_DIR": str(tiny_models_dir),
        "HEADSCOPE_DATA_DIR": str(tmp_path_factory.mktemp("no-label-data")),
        "HEADSCOPE_DEVICE": "cpu",
    }
    with ServerProcess(env) as running:
        yield running.url


def test_a_head_above_its_baselines_says_why_it_has_no_label(browser, tiny_server):
    with guarded_page(browser) as (page, offsite):
        job_id, result = finished_analysis(page, tiny_server, TINY_ANALYSIS)
        found = next(
            (row, name, stat)
            for row in result["heads"]
            for name, stat in row["statistics"].items()
            if stat.get("no_label")
        )
        row, name, stat = found
        page.goto(f"{tiny_server}/analysis?id={job_id}&stat={name}&layer={row['layer']}&head={row['head']}")
        page.wait_for_function("document.body.dataset.rendered === '1'", timeout=120_000)
        page.wait_for_selector("#head-facts dt:has-text('no label because')")
        facts = page.text_content("#head-facts")
        assert stat["no_label"] in facts and f"{stat['n']} examples" in facts
        assert "labelling rule" in facts and "lower 95% bootstrap bound" in facts and "at least 20 examples" in facts
        why = page.locator("#head-facts dt:has-text('no label because') a.concept")
        assert why.first.get_attribute("href") == "/concepts#head-label"
    assert offsite == []
