"""Where the tests find the repository and their fixture files, wherever in tests/ a test module lives."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES_DIR = ROOT / "tests" / "fixtures"
