"""WordNet 3.0 from Debian's `wordnet-base` package (/usr/share/wordnet), read with nltk's WordNetCorpusReader.

Nothing is fetched at run time (never nltk.download): the dictionary files come from the package,
installed by `make wordnet` (a prerequisite of `make test`). HEADSCOPE_WORDNET may name another
folder holding the same dict files. Code that needs WordNet and cannot find it gets
WordNetUnavailableError, which names the package.

Two quirks of the Debian layout, handled here:
* the package has no `lexnames` file (nltk reads it at start-up, and lemma keys, hence frequency
  counts, depend on it): WordNet 3.0's lexicographer file list is fixed, so it is given below;
* nltk only opens corpora under its data path, so the folder is added to nltk.data.path;
* nltk looks for a downloaded `wordnet` corpus to map multilingual data onto this one: no
  multilingual data is used, so that mapping is skipped.
"""

from __future__ import annotations

import io
import os
import threading
import warnings
from pathlib import Path
from typing import Any

from app.core.robustness.context import SuiteError

PACKAGE = "wordnet-base"
DEFAULT_ROOT = Path("/usr/share/wordnet")
ROOT_VARIABLE = "HEADSCOPE_WORDNET"
REQUIRED_FILES = (
    "data.adj",
    "data.noun",
    "data.verb",
    "data.adv",
    "index.adj",
    "index.noun",
    "index.verb",
    "index.adv",
    "adj.exc",
    "noun.exc",
    "verb.exc",
    "adv.exc",
)

# WordNet 3.0's lexicographer files (lexnames(5WN)): index, name, syntactic category (1 n, 2 v, 3 a, 4 r).
_LEXNAMES = (
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute noun.body "
    "noun.cognition noun.communication noun.event noun.feeling noun.food noun.group noun.location noun.motive "
    "noun.object noun.person noun.phenomenon noun.plant noun.possession noun.process noun.quantity "
    "noun.relation noun.shape noun.state noun.substance noun.time verb.body verb.change verb.cognition "
    "verb.communication verb.competition verb.consumption verb.contact verb.creation verb.emotion verb.motion "
    "verb.perception verb.possession verb.social verb.stative verb.weather adj.ppl"
).split()
_CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}
LEXNAMES_TEXT = "".join(f"{i:02d}\t{name}\t{_CATEGORY[name.split('.')[0]]}\n" for i, name in enumerate(_LEXNAMES))

_lock = threading.Lock()
_readers: dict[Path, Any] = {}


class WordNetUnavailableError(SuiteError):
    """WordNet (Debian's wordnet-base) or nltk is missing: the tests that need antonyms cannot run."""


def wordnet_root() -> Path:
    return Path(os.environ.get(ROOT_VARIABLE) or DEFAULT_ROOT)


def load_wordnet(root: Path | str | None = None) -> Any:
    """The WordNet reader for `root` (default: HEADSCOPE_WORDNET, else /usr/share/wordnet), built once."""
    root = Path(root) if root is not None else wordnet_root()
    with _lock:
        if root not in _readers:
            _readers[root] = _build_reader(root)
        return _readers[root]


def _build_reader(root: Path) -> Any:
    missing = [name for name in REQUIRED_FILES if not (root / name).is_file()]
    if missing:
        listed = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
        raise WordNetUnavailableError(
            f"WordNet is not installed at {root} (missing {listed}): "
            f"install Debian's {PACKAGE} package (`make wordnet`, or apt-get install {PACKAGE}), "
            f"or set {ROOT_VARIABLE} to a folder with WordNet 3.0's dict files"
        )
    try:
        import nltk.data
        from nltk.corpus.reader.wordnet import WordNetCorpusReader
    except ImportError as exc:  # pragma: no cover - nltk is a dependency
        raise WordNetUnavailableError(f"nltk is needed to read WordNet ({PACKAGE}): pip install nltk") from exc

    class PackagedWordNet(WordNetCorpusReader):
        def open(self, file: str):  # noqa: A003 - nltk's name
            if file == "lexnames" and not (root / file).is_file():
                return io.StringIO(LEXNAMES_TEXT)
            return super().open(file)

        def map_wn(self, version: str = "wordnet"):
            # nltk maps another WordNet's synsets onto this one for multilingual (OMW) data, looking for a
            # downloaded `wordnet` corpus; this is WordNet 3.0 itself and no OMW data is used.
            return None

    if str(root) not in nltk.data.path:
        nltk.data.path.append(str(root))  # nltk refuses corpus folders outside its data path
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "multilingual functions are not available": no OMW, none needed
        return PackagedWordNet(str(root), None)


_POS_ORDER = ("a", "s", "v", "n", "r")  # opinions are mostly adjectives, then verbs and nouns


def antonyms(reader: Any, word: str) -> list[tuple[str, str]]:
    """Single-word antonyms of `word` itself (not of an inflected base), best first, as (antonym, how).

    how: "direct" (WordNet's antonym of the word's own lemma) or "indirect" (the antonym of the head
    of the adjective cluster a satellite belongs to, e.g. tasty -> tasteless via its head). Within a
    kind, the more frequent sense (WordNet's tagged counts) comes first; ties alphabetical.
    """
    target = word.lower()
    direct: dict[str, tuple[int, int]] = {}
    indirect: dict[str, tuple[int, int]] = {}
    for rank, pos in enumerate(_POS_ORDER):
        for synset in reader.synsets(target, pos=pos):
            if synset.pos() != pos:
                continue  # synsets(pos="a") also yields satellites: count each once
            lemmas = [lemma for lemma in synset.lemmas() if lemma.name().lower() == target]
            if not lemmas:
                continue
            for lemma in lemmas:
                for anti in lemma.antonyms():
                    _keep(direct, anti, rank)
            if pos == "s":
                for head in synset.similar_tos():
                    for lemma in head.lemmas():
                        for anti in lemma.antonyms():
                            _keep(indirect, anti, rank)
    ordered = [(name, "direct") for name in _order(direct)]
    return ordered + [(name, "indirect") for name in _order(indirect) if name not in direct]


def _keep(found: dict[str, tuple[int, int]], lemma: Any, rank: int) -> None:
    name = lemma.name()
    if "_" in name or "-" in name:
        return
    score = (rank, -lemma.count())
    found[name] = min(found.get(name, score), score)


def _order(found: dict[str, tuple[int, int]]) -> list[str]:
    return sorted(found, key=lambda name: (*found[name], name))
