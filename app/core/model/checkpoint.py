"""Checkpoint folders: metadata (headscope.json), discovery, and safe loading.

A checkpoint is a Hugging Face model folder for sequence classification plus a
``headscope.json`` that says how to build its inputs (task, format, labels). A
``headscope.json`` may also name a ``source`` (another local folder or a hub name) so a
user's existing fine-tune can be registered without copying it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from app.core.model.errors import AttentionUnavailableError, CheckpointError

if TYPE_CHECKING:
    from transformers import AutoModelForSequenceClassification

    from app.core.model.entity_pooling import BertForEntityStartClassification

log = logging.getLogger(__name__)

METADATA_FILE = "headscope.json"
TASKS = ("absa", "re")
ABSA_FORMATS = ("qa-m", "nli-m", "qa-b", "nli-b", "term")
RE_FORMATS = ("re-markers",)
DEFAULT_ENTITY_MARKERS = ("<e1>", "</e1>", "<e2>", "</e2>")
# Pickle-based weight files: loading one can run arbitrary code, so they are refused.
PICKLE_WEIGHT_FILES = ("pytorch_model.bin", "pytorch_model.bin.index.json", "tf_model.h5", "model.ckpt.index")
SAFETENSORS_FILES = ("model.safetensors", "model.safetensors.index.json")


@dataclass(frozen=True)
class CheckpointInfo:
    """What the server lists about a checkpoint without loading its weights."""

    id: str
    path: Path
    task: str
    format: str
    labels: tuple[str, ...]
    num_layers: int
    num_heads: int
    max_length: int
    model_type: str
    base_model: str | None = None
    source: str | None = None  # where the weights live when not in `path`
    metrics: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def weights_location(self) -> str:
        return self.source or str(self.path)

    @property
    def entity_markers(self) -> tuple[str, str, str, str]:
        return tuple(self.metadata.get("entity_markers", DEFAULT_ENTITY_MARKERS))

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "task": self.task,
            "format": self.format,
            "labels": list(self.labels),
            "path": str(self.path.resolve()),
            "source": self.source,
            "num_layers": self.num_layers,
            "num_heads": self.num_heads,
            "max_length": self.max_length,
            "model_type": self.model_type,
            "base_model": self.base_model,
            "metrics": self.metrics,
            "description": self.description,
            "baseline": self.metadata.get("baseline"),  # "pretrained" for an untouched base model
            "training": self.metadata.get("training", {}),
            "untrained": self.untrained,
        }

    @property
    def untrained(self) -> str | None:
        """Why this checkpoint's predictions mean little, for every page that shows them; None for a trained one.

        A pretrained baseline (card `baseline`) has a randomly initialised classifier; a card whose training
        record names no run (no example counts, no training time) cannot show that the classifier learnt anything.
        """
        if self.metadata.get("baseline"):
            return (
                "not fine-tuned: a pretrained encoder with a randomly initialised classifier, "
                "so its predictions are near-uniform guesses"
            )
        training = self.metadata.get("training") or {}
        if not training.get("examples") and not training.get("train_time_s"):
            return (
                "no training run recorded on its card (no training examples, no training time): "
                "its predictions are not known to be trained or calibrated"
            )
        return None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CheckpointError(f"{path}: file not found") from exc
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a JSON object")
    return data


def _model_config(location: str) -> dict[str, Any]:
    local = Path(location)
    if local.is_dir():
        return _read_json(local / "config.json")
    # A hub name: transformers resolves (and caches) it; needs internet the first time.
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(location).to_dict()
    except OSError as exc:
        raise CheckpointError(
            f"cannot find model {location!r}: not a local folder and not in the hub cache ({exc})"
        ) from exc


def read_checkpoint_info(folder: Path) -> CheckpointInfo:
    """Read headscope.json and config.json; validate task, format and labels."""
    meta = _read_json(folder / METADATA_FILE)
    where = folder / METADATA_FILE
    task = meta.get("task")
    if task not in TASKS:
        raise CheckpointError(f"{where}: 'task' must be one of {list(TASKS)}, got {task!r}")
    fmt = meta.get("format")
    allowed = ABSA_FORMATS if task == "absa" else RE_FORMATS
    if not isinstance(fmt, str) or fmt not in allowed:
        raise CheckpointError(f"{where}: 'format' for task {task} must be one of {list(allowed)}, got {fmt!r}")
    source = meta.get("source")
    config = _model_config(source or str(folder))
    labels = meta.get("labels")
    if not labels:
        id2label = config.get("id2label") or {}
        labels = [id2label[k] for k in sorted(id2label, key=int)]
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels) or not labels:
        raise CheckpointError(f"{where}: 'labels' must be a non-empty list of strings")
    num_layers = config.get("num_hidden_layers") or config.get("n_layers")
    num_heads = config.get("num_attention_heads") or config.get("n_heads")
    if not num_layers or not num_heads:
        raise CheckpointError(f"{folder}/config.json: no layer/head counts: is this a BERT-family encoder?")
    return CheckpointInfo(
        id=meta.get("id") or folder.name,
        path=folder,
        task=task,
        format=fmt,
        labels=tuple(labels),
        num_layers=int(num_layers),
        num_heads=int(num_heads),
        max_length=int(config.get("max_position_embeddings", 512)),
        model_type=str(config.get("model_type", "unknown")),
        base_model=meta.get("base_model"),
        source=source,
        metrics=meta.get("metrics") or {},
        description=meta.get("description", ""),
        metadata=meta,
    )


def scan_models_dir(models_dir: Path) -> list[CheckpointInfo]:
    """Every usable checkpoint under models_dir, sorted by id.

    Folders starting with '.' are unfinished writes (training writes atomically into one
    and renames it at the end) and are never listed. A broken folder is logged and skipped
    so one bad checkpoint does not take the server down.
    """
    found: list[CheckpointInfo] = []
    if not models_dir.is_dir():
        return found
    for folder in sorted(models_dir.iterdir()):
        if not folder.is_dir() or folder.name.startswith(".") or not (folder / METADATA_FILE).exists():
            continue
        try:
            found.append(read_checkpoint_info(folder))
        except CheckpointError as exc:
            log.warning("skipping checkpoint %s: %s", folder, exc)
    return found


def check_weights_are_safe(location: Path) -> None:
    """Refuse pickle weights: only safetensors can be loaded without running code."""
    if any((location / name).exists() for name in SAFETENSORS_FILES):
        return
    pickles = [name for name in PICKLE_WEIGHT_FILES if (location / name).exists()]
    if pickles:
        raise CheckpointError(
            f"{location}: only safetensors weights are loaded; found {pickles[0]} (a pickle, which can run "
            "arbitrary code when loaded). Convert it where you trust it: "
            "AutoModelForSequenceClassification.from_pretrained(folder)"
            ".save_pretrained(folder, safe_serialization=True)"
        )
    raise CheckpointError(f"{location}: no model.safetensors found")


def pick_device(preference: str = "auto") -> torch.device:
    if preference == "cuda" or (preference == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise CheckpointError("HEADSCOPE_DEVICE=cuda but CUDA is not available")
        return torch.device("cuda", 0)
    return torch.device("cpu")


@dataclass
class LoadedCheckpoint:
    info: CheckpointInfo
    model: Any  # a transformers PreTrainedModel for sequence classification
    tokenizer: Any
    device: torch.device


def quiet_transformers() -> None:
    """Keep transformers' per-load progress bars and "newly initialized" notes out of the server log."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


# The dtype every model is loaded in: transformers 5 keeps the dtype the weights were stored in, and a checkpoint
# shared in half precision would then run in it on a CPU (slow, and training from it collapses); half precision on
# CUDA is applied after loading (`cuda_dtype`).
LOAD_DTYPE = torch.float32


def cuda_dtype(half: bool | str) -> torch.dtype | None:
    """The CUDA weight dtype `half` asks for: False / "float32" none (float32), True / "float16" float16,
    "bfloat16" bfloat16 (float32's range: no overflow in attention scores, fewer mantissa bits)."""
    if half is True or half == "float16":
        return torch.float16
    if half == "bfloat16":
        return torch.bfloat16
    if half in (False, None, "float32", "false"):
        return None
    raise CheckpointError(f"HEADSCOPE_CUDA_HALF must be true, false, float16 or bfloat16, got {half!r}")


def load_checkpoint(
    info: CheckpointInfo, device: torch.device | None = None, half: bool | str = False
) -> LoadedCheckpoint:
    """Load weights (safetensors only) with eager attention so attentions can be returned.

    half: on CUDA, float16 (True / "float16") or bfloat16 ("bfloat16") weights; ignored on the CPU."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    quiet_transformers()
    device = device or pick_device()
    location = info.weights_location
    if Path(location).is_dir():
        check_weights_are_safe(Path(location))
    model_class: type[AutoModelForSequenceClassification] | type[BertForEntityStartClassification]
    model_class = AutoModelForSequenceClassification
    if info.metadata.get("pooling", "cls") == "entity-start":
        # Relation classifiers trained with entity-start pooling (app.core.model.entity_pooling).
        from app.core.model.entity_pooling import BertForEntityStartClassification

        model_class = BertForEntityStartClassification
    elif info.metadata.get("pooling", "cls") != "cls":
        raise CheckpointError(
            f"{info.path / METADATA_FILE}: 'pooling' must be 'cls' or 'entity-start', "
            f"got {info.metadata.get('pooling')!r}"
        )
    try:
        tokenizer = AutoTokenizer.from_pretrained(location)
        model = model_class.from_pretrained(
            location,
            attn_implementation="eager",  # sdpa/flash return no attention weights
            use_safetensors=True,
            num_labels=len(info.labels),
            dtype=LOAD_DTYPE,
        )
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"cannot load checkpoint {info.id} from {location}: {exc}") from exc
    if not getattr(tokenizer, "is_fast", False):
        raise CheckpointError(f"{location}: a fast tokenizer (tokenizer.json) is needed for character offsets")
    model.eval()
    dtype = cuda_dtype(half)
    # PreTrainedModel.to is declared @wraps(torch.nn.Module.to), which mypy reads as the unbound Module.to
    if dtype is not None and device.type == "cuda":
        model.to(dtype)  # type: ignore[arg-type]
    model.to(device)  # type: ignore[arg-type]
    return LoadedCheckpoint(info=info, model=model, tokenizer=tokenizer, device=device)


def ensure_attentions(attentions: Any) -> None:
    """transformers 5 returns `attentions == ()` silently under sdpa: fail loudly instead."""
    if not attentions:
        raise AttentionUnavailableError(
            "the model returned no attention weights; load it with attn_implementation='eager'"
        )


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()
