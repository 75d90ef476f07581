"""Dataset loaders for the ABSA and relation-extraction benchmarks and for users' own JSONL data.

Every loader is pure Python (stdlib json/xml), yields typed examples whose gold spans are character
offsets into the example's text, and raises DatasetError naming the file, the line or element, and
what was expected. `load_dataset(path, format=None)` picks the loader; README.md lists the formats.
"""

from app.core.datasets.aste import load_aste
from app.core.datasets.errors import DatasetError
from app.core.datasets.examples import (
    AbsaSentence,
    AspectCategory,
    AspectTerm,
    CharSpan,
    LexiconEntry,
    OpinionLexicon,
    RelationExample,
    RelationKey,
    SentimentTriplet,
    TargetedOpinion,
    TargetedSentence,
    TargetMention,
    TripletSentence,
)
from app.core.datasets.formats import FORMATS, Dataset, DatasetFormat, detect_format, load_dataset
from app.core.datasets.lexicon import load_opinion_lexicon
from app.core.datasets.opennre import load_opennre
from app.core.datasets.semeval2010 import load_semeval2010, load_semeval2010_key, strip_entity_tags
from app.core.datasets.semeval2014 import load_absa_xml, load_mams_acsa, load_mams_atsa, load_semeval2014
from app.core.datasets.sentihood import load_sentihood
from app.core.datasets.user_jsonl import load_user_jsonl
from app.core.datasets.vocab import POLARITIES, SEMEVAL2010_LABELS, SEMEVAL2010_RELATIONS

__all__ = [
    "AbsaSentence", "AspectCategory", "AspectTerm", "CharSpan", "Dataset", "DatasetError", "DatasetFormat", "FORMATS",
    "LexiconEntry", "OpinionLexicon", "POLARITIES", "RelationExample", "RelationKey", "SEMEVAL2010_LABELS",
    "SEMEVAL2010_RELATIONS", "SentimentTriplet", "TargetMention", "TargetedOpinion", "TargetedSentence", "TripletSentence",
    "detect_format", "load_absa_xml", "load_aste", "load_dataset", "load_mams_acsa", "load_mams_atsa", "load_opennre",
    "load_opinion_lexicon", "load_semeval2010", "load_semeval2010_key", "load_semeval2014", "load_sentihood",
    "load_user_jsonl", "strip_entity_tags",
]
