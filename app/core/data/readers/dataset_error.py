"""The one error every loader raises for a malformed file, and a helper that words it the same way everywhere."""

from __future__ import annotations

from pathlib import Path

from app.core.model.errors import HeadscopeError


class DatasetError(HeadscopeError):
    """A data file cannot be read as the format it was given as.

    The message reads ``FILE: WHERE: WHAT`` (WHERE is a line number or an XML element such as
    ``sentence id=2777``), so a user can open the file at the right place and see what was expected.
    """

    def __init__(self, path: Path | str, where: str | None, what: str):
        self.path = Path(path)
        self.where = where
        self.what = what
        super().__init__(f"{self.path}: {where}: {what}" if where else f"{self.path}: {what}")


def shorten(value: object, limit: int = 60) -> str:
    """repr() of a value cut to `limit` characters, for quoting the offending text in a message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
