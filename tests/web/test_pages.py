"""Pages render from templates and nothing they load comes from off this machine."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)
EXTERNAL_IMPORT = re.compile(r"""(?:import\s[^;]*?from\s*|import\s*\(\s*|url\(\s*)["']?(?:https?:)?//""", re.IGNORECASE)


def test_pages_render(tiny_client):
    for path in ("/inspect", "/models"):
        response = tiny_client.get(path)
        assert response.status_code == 200 and "headscope" in response.text
        assert not EXTERNAL.search(response.text), path
    assert tiny_client.get("/", follow_redirects=False).headers["location"] == "/inspect"


def test_no_script_style_or_font_from_a_cdn():
    files = [p for p in (ROOT / "templates").rglob("*") if p.is_file()] + [
        p for p in (ROOT / "static").rglob("*") if p.suffix in (".js", ".css", ".html")
    ]
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not EXTERNAL.search(text), path
        assert not EXTERNAL_IMPORT.search(text), path


def test_plotly_is_served_locally(tiny_client):
    response = tiny_client.get("/static/vendor/plotly.min.js")
    assert response.status_code == 200 and len(response.content) > 1_000_000
    assert "plotly" in response.text[:2000].lower()
