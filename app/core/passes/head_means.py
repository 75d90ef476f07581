"""Each head's mean output over a reference set: what mean ablation puts in a head's place.

A reference set (`ReferenceSet`) is a labelled dataset named as the user gave it: by default the demo
data of the checkpoint's task (app/core/data/demo.py: the demo ABSA reviews or the demo relations),
or any dataset the caller has loaded (a benchmark file; app.core.data.sources names them). Its
examples are paired and encoded the way a dataset analysis pairs them (app.core.inputs.units) and run
through the checkpoint once in batches on its device. The mean is over every non-padding token of
every input, so it is the head's typical output anywhere in a typical input. A large dataset is
thinned to MAX_REFERENCE_INPUTS pairs spread evenly over it (the mean of a few hundred inputs' tokens
is stable; a live request should not wait for thousands of forwards).

Kept in memory per loaded model (a reloaded checkpoint is a new model object, so new weights never
see old means) and per checkpoint id, weights location and the reference's fingerprint (its file's
sha256): the first mean ablation over a reference pays one pass over it (seconds on a CPU), every
later one nothing; the same name over a changed file is a new fingerprint, so it is computed again.
It is a pass over a dataset, so it lives in `passes/` next to the other passes, on `model/`'s
intervention mechanics.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

import torch

from app.core.data.demo import demo_dataset
from app.core.data.readers import Dataset
from app.core.data.sources import data_fingerprint
from app.core.inputs.batching import length_sorted_batches
from app.core.inputs.encoding import EncodedInput
from app.core.inputs.units import AnalysisError, encode_units, unit_specs
from app.core.model.checkpoint import LoadedCheckpoint
from app.core.model.errors import InputError
from app.core.model.interventions import mean_head_outputs

DEMO_REFERENCE = "demo"  # the demo data of the checkpoint's task
DEMO_BY_TASK = {"absa": "demo-absa", "re": "demo-re"}
BATCH_SIZE = 32
MAX_REFERENCE_INPUTS = 512
FIELD = "intervene.reference"

_MEANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


@dataclass(frozen=True)
class ReferenceSet:
    """A dataset to average heads' outputs over: its name as given, the fingerprint the means are cached by."""

    name: str
    dataset: Dataset
    fingerprint: str

    @classmethod
    def of(cls, name: str, dataset: Dataset) -> ReferenceSet:
        # A dataset without a file (built in memory) is known by its name and size only.
        return cls(name, dataset, data_fingerprint(dataset) or f"{name}:{len(dataset)}")


def demo_reference(loaded: LoadedCheckpoint) -> ReferenceSet:
    """The demo data of the checkpoint's task, named "demo"."""
    return ReferenceSet.of(DEMO_REFERENCE, demo_dataset(DEMO_BY_TASK[loaded.info.task]))


def spread(count: int, limit: int) -> list[int]:
    """`limit` indices spread evenly over range(count) (all of them when count <= limit)."""
    if count <= limit:
        return list(range(count))
    return [i * count // limit for i in range(limit)]


def reference_inputs(loaded: LoadedCheckpoint, reference: ReferenceSet) -> list[EncodedInput]:
    """The reference set's inputs encoded for `loaded` (those that cannot be encoded are left out).

    InputError on intervene.reference when the dataset does not fit the checkpoint (its task or pairing).
    """
    try:
        specs, _ = unit_specs(loaded, list(reference.dataset.examples), reference.name)
    except AnalysisError as exc:
        raise InputError(f"reference {reference.name!r} does not fit {loaded.info.id}: {exc}", field=FIELD) from exc
    chosen = [specs[i] for i in spread(len(specs), MAX_REFERENCE_INPUTS)]
    encoded = [unit.encoded for unit in encode_units(loaded, chosen) if unit is not None]
    if not encoded:
        raise InputError(f"reference {reference.name!r} gives {loaded.info.id} no input to encode", field=FIELD)
    return encoded


def reference_means(loaded: LoadedCheckpoint, reference: ReferenceSet | None = None) -> torch.Tensor:
    """Each head's mean output over the reference set (default: the demo), [layers, heads, head_dim] on the
    model's device."""
    reference = reference or demo_reference(loaded)
    key = (loaded.info.id, loaded.info.weights_location, reference.fingerprint, MAX_REFERENCE_INPUTS)
    with _LOCK:
        found = _MEANS.get(loaded.model, {}).get(key)
    if found is not None:
        return found
    encodeds = reference_inputs(loaded, reference)
    batches = length_sorted_batches(encodeds, BATCH_SIZE, loaded.tokenizer.pad_token_id, loaded.device)
    means = mean_head_outputs(loaded.model, (batch for _, batch in batches))
    with _LOCK:
        _MEANS.setdefault(loaded.model, {})[key] = means
    return means
