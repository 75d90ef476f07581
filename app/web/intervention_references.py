"""The reference sets mean ablation may average over, by the names analysis jobs give data sources.

`intervene.reference` names one: "demo" (the demo data of the checkpoint's task, the default), a demo
dataset by name ("demo-absa", "demo-re"), or a file under HEADSCOPE_SHARED_DATA by its relative path
(GET /api/inspect/references lists them). Uploads are not offered: they belong to one user, and an
inspection may be anonymous. An unknown name is an InputError (422) naming what is accepted; a dataset
that does not fit the checkpoint is refused by the core when it pairs it (app.core.passes.head_means).

Loaded datasets are kept by name and file stamp (size, mtime), so a second request over the same
reference reads no file; the core caches the means themselves by the dataset's sha256.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from app.core.data.demo import DEMO_DATASETS, demo_dataset
from app.core.data.sources import DataSourceError, load_data_source, shared_datasets, shared_file
from app.core.model.errors import InputError
from app.core.passes.head_means import DEMO_REFERENCE, FIELD, ReferenceSet

RE_FORMATS = ("semeval2010", "opennre")  # the shared formats that hold relations; the others ABSA
KEPT = 16  # loaded reference datasets kept in memory


def accepted(shared_data: Path | None) -> str:
    shared = "a file under HEADSCOPE_SHARED_DATA by its relative path (GET /api/inspect/references lists them)"
    if shared_data is None:
        shared += "; HEADSCOPE_SHARED_DATA is not set on this server"
    return f"{DEMO_REFERENCE} (the demo data of the checkpoint's task), {', '.join(DEMO_DATASETS)}, or {shared}"


def listed(shared_data: Path | None) -> list[dict[str, Any]]:
    """Every name `intervene.reference` accepts, with its task ("absa", "re"; None: the checkpoint's)."""
    demo = [{"name": DEMO_REFERENCE, "task": None, "kind": "demo", "description": "the demo data of the model's task"}]
    demo += [
        {"name": d.name, "task": d.task, "kind": "demo", "description": d.description} for d in DEMO_DATASETS.values()
    ]
    shared = [
        {
            "name": item["name"],
            "task": "re" if item["format"] in RE_FORMATS else "absa",
            "kind": "shared",
            "description": item["format"],
        }
        for item in shared_datasets(shared_data)
    ]
    return demo + shared


class ReferenceSets:
    """Resolves `intervene.reference` names to datasets (on the caller's thread: no model work)."""

    def __init__(self, shared_data: Path | None) -> None:
        self.shared_data = shared_data
        self._kept: dict[str, tuple[tuple, ReferenceSet]] = {}
        self._lock = threading.Lock()

    def get(self, name: str | None) -> ReferenceSet | None:
        """The named reference set; None for the demo of the checkpoint's task (the core's default)."""
        if name is None or name == DEMO_REFERENCE:
            return None
        if name in DEMO_DATASETS:
            return ReferenceSet.of(name, demo_dataset(name))
        path = shared_file(name, self.shared_data)
        if path is None:
            raise InputError(f"unknown reference {name!r}; accepted: {accepted(self.shared_data)}", field=FIELD)
        stat = path.stat()
        stamp = (stat.st_size, stat.st_mtime_ns)
        with self._lock:
            kept = self._kept.get(name)
        if kept is not None and kept[0] == stamp:
            return kept[1]
        try:
            dataset = load_data_source(name, shared_data=self.shared_data)
        except DataSourceError as exc:
            raise InputError(f"reference {name!r}: {exc}", field=FIELD) from exc
        found = ReferenceSet.of(name, dataset)
        with self._lock:
            self._kept[name] = (stamp, found)
            while len(self._kept) > KEPT:
                self._kept.pop(next(iter(self._kept)))
        return found
