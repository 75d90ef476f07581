"""The format table and the one entry point, load_dataset(path, format=None)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from app.core.data.readers.aste import SEPARATOR, load_aste
from app.core.data.readers.dataset_error import DatasetError
from app.core.data.readers.lexicon import LEXICON_FILES, lexicon_entries, lexicon_polarity
from app.core.data.readers.opennre import load_opennre
from app.core.data.readers.semeval2010 import KEY_LINE, SENTENCE_LINE, load_semeval2010, load_semeval2010_key
from app.core.data.readers.semeval2014 import load_mams_acsa, load_mams_atsa, load_semeval2014
from app.core.data.readers.sentihood import load_sentihood
from app.core.data.readers.textio import read_bytes
from app.core.data.readers.user_jsonl import load_user_jsonl


@dataclass(frozen=True)
class DatasetFormat:
    name: str
    description: str
    load: Callable[[Path], list[Any]]
    task: str | None = None  # the task its examples are for ("absa", "re"); None: either, or no examples


FORMATS: dict[str, DatasetFormat] = {
    f.name: f
    for f in (
        DatasetFormat(
            "semeval2014", "SemEval-2014 Task 4 XML, restaurants or laptops (*.xml)", load_semeval2014, "absa"
        ),
        DatasetFormat("mams-atsa", "MAMS aspect-term XML", load_mams_atsa, "absa"),
        DatasetFormat("mams-acsa", "MAMS aspect-category XML", load_mams_acsa, "absa"),
        DatasetFormat("sentihood", "SentiHood JSON list (*.json)", load_sentihood, "absa"),
        DatasetFormat(
            "semeval2010",
            "SemEval-2010 Task 8 TXT with <e1>/<e2> (TRAIN_FILE.TXT, TEST_FILE_FULL.TXT)",
            load_semeval2010,
            "re",
        ),
        DatasetFormat("semeval2010-key", "SemEval-2010 Task 8 answer key (TEST_FILE_KEY.TXT)", load_semeval2010_key),
        DatasetFormat(
            "opennre", "OpenNRE json-lines: token, h/t pos, relation (Wiki80, TACRED layout)", load_opennre, "re"
        ),
        DatasetFormat("aste", "ASTE-Data-V2 triplets (*_triplets.txt)", load_aste, "absa"),
        DatasetFormat(
            "opinion-lexicon", "Hu & Liu positive-words.txt / negative-words.txt, or their folder", lexicon_entries
        ),
        DatasetFormat("jsonl", "headscope JSONL for your own data, ABSA or RE (*.jsonl)", load_user_jsonl),
        DatasetFormat(
            "absa-jsonl", "headscope JSONL, ABSA records only", partial(load_user_jsonl, task="absa"), "absa"
        ),
        DatasetFormat("re-jsonl", "headscope JSONL, RE records only", partial(load_user_jsonl, task="re"), "re"),
    )
}


@dataclass(frozen=True)
class Dataset:
    """What load_dataset read: the file, the format it was read as, and its examples in file order."""

    path: Path
    format: str
    examples: tuple[Any, ...]

    def __len__(self) -> int:
        return len(self.examples)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.examples)


def accepted_formats() -> str:
    return "; ".join(f"{f.name} ({f.description})" for f in FORMATS.values())


def first_line(path: Path) -> str:
    """The first non-blank line, for telling .txt layouts apart (the names of Wiki80 files say nothing)."""
    head = read_bytes(path)[:65536].decode("utf-8", errors="replace")
    return next((line.strip("\r") for line in head.split("\n") if line.strip()), "")


def sniff_txt(path: Path) -> str | None:
    line = first_line(path)
    if line.startswith("{"):
        return "opennre"
    if SEPARATOR in line:
        return "aste"
    if SENTENCE_LINE.match(line):
        return "semeval2010"
    if KEY_LINE.match(line):
        return "semeval2010-key"
    return None


def detect_format(path: Path) -> str | None:
    """The format a file's name (or, for .txt files, its first line) says it is in; None when unknown."""
    name = path.name.lower()
    if path.is_dir():
        return "opinion-lexicon" if all((path / f).is_file() for f in LEXICON_FILES.values()) else None
    if lexicon_polarity(path):
        return "opinion-lexicon"
    if name.endswith(".xml"):
        return "semeval2014"  # MAMS shares the schema; name mams-atsa/-acsa to get its checks
    if name.endswith(".jsonl"):
        return "jsonl"
    if name.endswith(".json"):
        return "sentihood"
    if name.endswith("_triplets.txt"):
        return "aste"
    if "test_file_key" in name:
        return "semeval2010-key"
    if name.endswith(".txt"):
        return sniff_txt(path)
    return None


def load_dataset(path: Path | str, format: str | None = None) -> Dataset:
    """Read `path` as `format`, or as the format its name tells (see FORMATS); DatasetError when it cannot."""
    path = Path(path)
    if format is None:
        if not path.exists():
            raise DatasetError(path, None, "no such file")
        format = detect_format(path)
        if format is None:
            raise DatasetError(
                path, None, f"cannot tell the format from the file name; give one of: {accepted_formats()}"
            )
    elif format not in FORMATS:
        raise DatasetError(path, None, f"unknown format {format!r}; accepted: {accepted_formats()}")
    return Dataset(path, format, tuple(FORMATS[format].load(path)))
