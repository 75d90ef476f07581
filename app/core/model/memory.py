"""Giving memory back: after a model or an export is dropped, the process should shrink."""

from __future__ import annotations

import ctypes


def release_freed_memory() -> None:
    """Give freed heap memory back to the OS (glibc keeps it otherwise, and the RSS would not go down)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to do
