"""SemEval-2014 Task 4 XML (restaurants, laptops) and MAMS, which uses the same schema.

    <sentences>
      <sentence id="2777">                       (MAMS: no id; the position in the file, from 1, is used)
        <text>...</text>
        <aspectTerms>      <aspectTerm term="food" polarity="positive" from="57" to="61"/> ...
        <aspectCategories> <aspectCategory category="food" polarity="positive"/> ...
      </sentence>

Both lists are optional per sentence. Offsets are characters of <text>; every term must satisfy
text[from:to] == term. Polarities: positive, negative, neutral, conflict.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from app.core.data.readers.dataset_error import DatasetError, shorten
from app.core.data.readers.examples import AbsaSentence, AspectCategory, AspectTerm
from app.core.data.readers.textio import read_bytes
from app.core.data.readers.vocab import POLARITIES, normalize_polarity


def parse_xml_root(path: Path, root_tag: str) -> ET.Element:
    try:
        root = ET.fromstring(read_bytes(path))
    except ET.ParseError as exc:
        line, column = exc.position
        raise DatasetError(
            path, f"line {line}, column {column}", f"not well-formed XML ({exc.msg.split(':')[0]})"
        ) from None
    if root.tag != root_tag:
        raise DatasetError(path, f"root element <{root.tag}>", f"expected <{root_tag}> holding <sentence> elements")
    return root


def sentence_label(element: ET.Element, position: int) -> str:
    """How an error names a sentence: by its id where the file has one, else by its position."""
    sentence_id = element.get("id")
    return f"sentence id={sentence_id}" if sentence_id is not None else f"sentence #{position}"


def parse_offset(path: Path, where: str, element: ET.Element, name: str) -> int:
    raw = element.get(name)
    try:
        return int(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise DatasetError(
            path, where, f"<{element.tag}> attribute {name}={shorten(raw)}: expected a character offset (an integer)"
        ) from None


def parse_polarity(path: Path, where: str, element: ET.Element) -> str:
    raw = element.get("polarity")
    polarity = normalize_polarity(raw)
    if polarity is None:
        raise DatasetError(
            path, where, f"<{element.tag}> polarity={shorten(raw)}: expected one of {', '.join(POLARITIES)}"
        )
    return polarity


def parse_aspect_term(path: Path, where: str, text: str, element: ET.Element) -> AspectTerm:
    term = element.get("term")
    if not term:
        raise DatasetError(path, where, "<aspectTerm> has no term attribute: expected term, polarity, from and to")
    start, end = parse_offset(path, where, element, "from"), parse_offset(path, where, element, "to")
    if not (0 <= start < end <= len(text)) or text[start:end] != term:
        raise DatasetError(
            path,
            where,
            f"aspect term {term!r} from={start} to={end}: the text there is "
            f"{shorten(text[max(start, 0) : max(end, 0)])}; expected text[from:to] == term",
        )
    return AspectTerm(term, start, end, parse_polarity(path, where, element))


def parse_aspect_category(path: Path, where: str, element: ET.Element) -> AspectCategory:
    category = element.get("category")
    if not category:
        raise DatasetError(path, where, "<aspectCategory> has no category attribute: expected category and polarity")
    return AspectCategory(category, parse_polarity(path, where, element))


def parse_sentence(path: Path, element: ET.Element, position: int) -> AbsaSentence:
    where = sentence_label(element, position)
    text_element = element.find("text")
    if text_element is None or not text_element.text:
        raise DatasetError(path, where, "has no <text> (or it is empty): expected the sentence in <text>")
    text = text_element.text
    terms = tuple(parse_aspect_term(path, where, text, term) for term in element.iterfind("aspectTerms/aspectTerm"))
    categories = tuple(
        parse_aspect_category(path, where, c) for c in element.iterfind("aspectCategories/aspectCategory")
    )
    return AbsaSentence(element.get("id") or str(position), text, terms, categories)


def load_absa_xml(path: Path | str) -> list[AbsaSentence]:
    """Every <sentence> of a SemEval-2014-schema file (SemEval-2014 Task 4 or MAMS), in file order."""
    path = Path(path)
    root = parse_xml_root(path, "sentences")
    return [parse_sentence(path, element, position) for position, element in enumerate(root.iterfind("sentence"), 1)]


def load_semeval2014(path: Path | str) -> list[AbsaSentence]:
    """SemEval-2014 Task 4 restaurants or laptops: terms with offsets; categories for restaurants."""
    return load_absa_xml(path)


def require_each(path: Path, sentences: list[AbsaSentence], what: str, has: str) -> list[AbsaSentence]:
    # MAMS keeps only sentences with several aspects, so a sentence without any means a wrong file or a broken one.
    for position, sentence in enumerate(sentences, 1):
        if not getattr(sentence, has):
            raise DatasetError(path, f"sentence #{position}", f"has no {what}: every MAMS sentence has at least one")
    return sentences


def load_mams_atsa(path: Path | str) -> list[AbsaSentence]:
    """MAMS-ATSA: every sentence has aspect terms with offsets; ids are positions ("1", "2", ...)."""
    path = Path(path)
    return require_each(path, load_absa_xml(path), "<aspectTerm>", "terms")


def load_mams_acsa(path: Path | str) -> list[AbsaSentence]:
    """MAMS-ACSA: every sentence has aspect categories (8 of them in MAMS); ids are positions."""
    path = Path(path)
    return require_each(path, load_absa_xml(path), "<aspectCategory>", "categories")
