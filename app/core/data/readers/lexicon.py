"""Hu & Liu (2004) opinion lexicon: positive-words.txt and negative-words.txt.

One lower-case word per line after a header of `;` comment lines; blank lines are skipped.
negative-words.txt is Latin-1 (`naïve` is byte 0xEF), so each file is read as UTF-8 and, failing
that, as Latin-1 (which decodes any byte, so a UTF-8 re-encoded copy works too).
"""

from __future__ import annotations

from pathlib import Path

from app.core.data.readers.dataset_error import DatasetError, shorten
from app.core.data.readers.examples import LexiconEntry, OpinionLexicon
from app.core.data.readers.textio import numbered_lines

LEXICON_FILES = {"positive": "positive-words.txt", "negative": "negative-words.txt"}
ENCODINGS = ("utf-8", "latin-1")


def lexicon_polarity(path: Path) -> str | None:
    """ "positive" / "negative" from the file name, None when it is not one of the two lexicon files."""
    return next((polarity for polarity, name in LEXICON_FILES.items() if path.name == name), None)


def load_lexicon_words(path: Path | str, polarity: str) -> list[LexiconEntry]:
    path = Path(path)
    entries = []
    for number, line in numbered_lines(path, ENCODINGS):
        word = line.strip()
        if not word or word.startswith(";"):
            continue
        if len(word.split()) != 1:
            raise DatasetError(
                path, f"line {number}", f"{shorten(word)}: expected one word per line (or a `;` comment)"
            )
        entries.append(LexiconEntry(word, polarity))
    return entries


def lexicon_entries(path: Path | str) -> list[LexiconEntry]:
    """Entries of one lexicon file (its polarity from its name) or of both files in a folder."""
    path = Path(path)
    if path.is_dir():
        return [e for polarity, name in LEXICON_FILES.items() for e in load_lexicon_words(path / name, polarity)]
    polarity = lexicon_polarity(path)
    if polarity is None:
        raise DatasetError(path, None, f"expected {' or '.join(LEXICON_FILES.values())}, or the folder holding both")
    return load_lexicon_words(path, polarity)


def load_opinion_lexicon(folder: Path | str) -> OpinionLexicon:
    """Both word lists from the folder that holds positive-words.txt and negative-words.txt."""
    source = str(folder)
    folder = Path(folder)
    if not folder.is_dir():
        folder = folder.parent  # accept either file: the other one sits beside it
    entries = lexicon_entries(folder)
    return OpinionLexicon(
        positive=frozenset(e.word for e in entries if e.polarity == "positive"),
        negative=frozenset(e.word for e in entries if e.polarity == "negative"),
        source=source,
    )
