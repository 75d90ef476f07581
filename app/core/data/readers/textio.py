"""Reading data files as text: decoding with a clear error, and lines numbered as an editor shows them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.core.data.readers.dataset_error import DatasetError


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(path, None, "no such file") from None
    except IsADirectoryError:
        raise DatasetError(path, None, "is a folder, expected a data file") from None
    except OSError as exc:
        raise DatasetError(path, None, f"cannot be read ({exc.strerror})") from exc


def read_text(path: Path, encodings: tuple[str, ...] = ("utf-8",)) -> str:
    """The file decoded with the first encoding that works; a BOM is dropped; CRLF and CR become LF."""
    data = read_bytes(path)
    error: UnicodeDecodeError | None = None
    for encoding in encodings:
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError as exc:
            error = error or exc
    else:
        assert error is not None
        line = data.count(b"\n", 0, error.start) + 1
        raise DatasetError(
            path,
            f"line {line}",
            f"byte 0x{data[error.start]:02x} is not valid {' or '.join(encodings)} text; save the file as UTF-8",
        )
    # SemEval-2010 ships CRLF; universal newlines keep the line numbers an editor shows.
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def numbered_lines(path: Path, encodings: tuple[str, ...] = ("utf-8",)) -> list[tuple[int, str]]:
    """(1-based line number, line without its newline) for every line of the file."""
    lines = read_text(path, encodings).split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline does not start another line
    return list(enumerate(lines, 1))


def json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) for each non-blank line of a JSON-lines file."""
    for number, line in numbered_lines(path):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(
                path,
                f"line {number}",
                f"not valid JSON ({exc.msg} at column {exc.colno}); expected one JSON object per line",
            ) from None
