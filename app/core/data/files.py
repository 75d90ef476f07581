"""Files and folders written in one step: a reader (another request, another server process, a crash) finds the
old content or the new, never half of it, and a write that fails leaves nothing of its own behind."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path


def _sibling(path: Path, what: str) -> Path:
    """A hidden name beside `path`, this process's and thread's own (parallel writers never share one)."""
    return path.with_name(f".{what}-{path.name}-{os.getpid()}-{threading.get_ident()}")


def write_bytes_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(path, "tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def replace_folder(out_dir: Path, write: Callable[[Path], None]) -> Path:
    """`write(folder)` into a hidden sibling, then swap it for `out_dir`; a failure at any step leaves `out_dir` as
    it was (the folder it replaces is moved aside first and moved back if the new one cannot take its place)."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp, old = _sibling(out_dir, "tmp"), _sibling(out_dir, "old")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        write(tmp)
        moved_aside = out_dir.exists()
        if moved_aside:
            out_dir.rename(old)
        try:
            tmp.rename(out_dir)
        except BaseException:
            if moved_aside:
                old.rename(out_dir)
            raise
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir
