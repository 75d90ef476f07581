"""Server folders never reach a response: text shown to users names them by the setting that holds them.

`PublicPaths(settings).text(message)` replaces the absolute paths of HEADSCOPE_SHARED_DATA,
HEADSCOPE_DATA_DIR, HEADSCOPE_MODELS_DIR, the app's own folder and the Python environment with
those names; `.name(path)` gives one path in the same form. Job errors, checkpoint errors and
analysis results go through it (errors about data already name the dataset as the user gave it).
"""

from __future__ import annotations

import sys
from pathlib import Path

from app.config import Settings

APP_ROOT = Path(__file__).resolve().parents[2]


class PublicPaths:
    def __init__(self, settings: Settings):
        roots = [
            (settings.shared_data, "$HEADSCOPE_SHARED_DATA"),
            (settings.data_dir, "$HEADSCOPE_DATA_DIR"),
            (settings.models_dir, "$HEADSCOPE_MODELS_DIR"),
            (Path(sys.prefix), "<python>"),
            (Path(sys.base_prefix), "<python>"),
            (APP_ROOT, "<headscope>"),
        ]
        pairs: dict[str, str] = {}
        for root, name in roots:
            if root is None:
                continue
            for form in {str(Path(root).resolve()), str(Path(root).absolute())}:
                if len(form) > 1:
                    pairs.setdefault(form, name)
        # The longest first: a data folder inside the app's folder is named as the data folder.
        self._pairs = sorted(pairs.items(), key=lambda item: -len(item[0]))

    def text(self, message: str) -> str:
        for path, name in self._pairs:
            message = message.replace(path, name)
        return message

    def name(self, path: str | Path | None) -> str | None:
        return None if path is None else self.text(str(path))
