"""Uploaded data: kept by sha256 under <data_dir>/uploads/ (app.core.data.sources.store_upload) and owned.

Any job kind takes data this way: `save(text, user)` gives the source name "upload:<sha256>"
(413 above HEADSCOPE_MAX_UPLOAD_BYTES); `may_use(name, user)` says whether that user may name it
(they uploaded those bytes, or they are an admin): to anyone else it is an unknown upload, so its
existence is not given away.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi import HTTPException
from sqlalchemy.exc import IntegrityError

from app.core.data.sources import store_upload
from app.store import Store
from app.store import job_owners as owners
from app.store.models import User

PREFIX = "upload:"


class Uploads:
    def __init__(self, data_dir: Path, store: Store, max_bytes: int):
        self.folder = Path(data_dir) / "uploads"
        self.store, self.max_bytes = store, max_bytes
        _move_legacy(Path(data_dir) / "analyses" / "uploads", self.folder)

    def save(self, text: str, user: User) -> str:
        size = len(text.encode("utf-8"))
        if size > self.max_bytes:
            raise HTTPException(
                413,
                f"the upload is {size} bytes, over the limit of {self.max_bytes} bytes (HEADSCOPE_MAX_UPLOAD_BYTES)",
            )
        name = store_upload(self.folder, text)
        try:
            with self.store.write() as db:
                owners.own_upload(db, name.removeprefix(PREFIX), user, size)
        except IntegrityError:
            pass  # the same user's parallel request recorded it first
        return name

    def may_use(self, name: str, user: User) -> bool:
        with self.store.read() as db:
            return owners.may_use_upload(db, name.removeprefix(PREFIX), user)

    def of(self, user: User) -> list[dict[str, Any]]:
        """The user's own uploads, oldest first."""
        with self.store.read() as db:
            return [
                {
                    "name": PREFIX + row.sha256,
                    "bytes": row.size,
                    "uploaded_at": row.created_at.isoformat(),
                    "kind": "upload",
                }
                for row in owners.uploads_of(db, user)
            ]


def _move_legacy(old: Path, new: Path) -> None:
    """Uploads used to live under <data_dir>/analyses/uploads/; one folder serves every job kind now."""
    if not old.is_dir():
        return
    new.mkdir(parents=True, exist_ok=True)
    for path in old.glob("*.jsonl"):
        if not (new / path.name).exists():
            os.replace(path, new / path.name)
