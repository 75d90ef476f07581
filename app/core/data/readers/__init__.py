"""Dataset loaders for the ABSA and relation-extraction benchmarks and for users' own JSONL data.

Every loader is pure Python (stdlib json/xml), yields typed examples whose gold spans are character
offsets into the example's text, and raises DatasetError naming the file, the line or element, and
what was expected. `load_dataset(path, format=None)` picks the loader; README.md lists the formats.
"""

from app.core.data.readers.aste import load_aste
from app.core.data.readers.dataset_error import DatasetError
from app.core.data.readers.examples import (
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
from app.core.data.readers.formats import FORMATS, Dataset, DatasetFormat, detect_format, load_dataset
from app.core.data.readers.lexicon import load_opinion_lexicon
from app.core.data.readers.opennre import load_opennre
from app.core.data.readers.semeval2010 import load_semeval2010, load_semeval2010_key, strip_entity_tags
from app.core.data.readers.semeval2014 import load_absa_xml, load_mams_acsa, load_mams_atsa, load_semeval2014
from app.core.data.readers.sentihood import load_sentihood
from app.core.data.readers.user_jsonl import load_user_jsonl
from app.core.data.readers.vocab import POLARITIES, SEMEVAL2010_LABELS, SEMEVAL2010_RELATIONS

__all__ = [
    "AbsaSentence",
    "AspectCategory",
    "AspectTerm",
    "CharSpan",
    "Dataset",
    "DatasetError",
    "DatasetFormat",
    "FORMATS",
    "LexiconEntry",
    "OpinionLexicon",
    "POLARITIES",
    "RelationExample",
    "RelationKey",
    "SEMEVAL2010_LABELS",
    "SEMEVAL2010_RELATIONS",
    "SentimentTriplet",
    "TargetMention",
    "TargetedOpinion",
    "TargetedSentence",
    "TripletSentence",
    "detect_format",
    "load_absa_xml",
    "load_aste",
    "load_dataset",
    "load_mams_acsa",
    "load_mams_atsa",
    "load_opennre",
    "load_opinion_lexicon",
    "load_semeval2010",
    "load_semeval2010_key",
    "load_semeval2014",
    "load_sentihood",
    "load_user_jsonl",
    "strip_entity_tags",
]
