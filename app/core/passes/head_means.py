"""Each head's mean output over a reference set: what mean ablation puts in a head's place.

The reference is the demo data of the checkpoint's task (app/core/data/demo.py: the demo ABSA reviews
or the demo relations), paired and encoded the way a dataset analysis pairs it (app.core.inputs.units),
run through the checkpoint once in batches on its device. The mean is over every non-padding token of
every input, so it is the head's typical output anywhere in a typical input.

Kept in memory per loaded model (a reloaded checkpoint is a new model object, so new weights never
see old means) and per checkpoint id, weights location and reference: the first mean ablation of a
checkpoint pays one pass over the demo data (a few seconds on a CPU), every later one nothing.
It is a pass over a dataset, so it lives in `passes/` next to the other passes, on `model/`'s
intervention mechanics.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator, Sequence

import torch

from app.core.data.demo import demo_dataset
from app.core.inputs.batching import pad_batch
from app.core.inputs.encoding import EncodedInput
from app.core.inputs.units import encode_units, unit_specs
from app.core.model.checkpoint import LoadedCheckpoint
from app.core.model.errors import InputError
from app.core.model.interventions import mean_head_outputs

REFERENCES = {"demo": {"absa": "demo-absa", "re": "demo-re"}}
BATCH_SIZE = 32

_MEANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def reference_inputs(loaded: LoadedCheckpoint, reference: str = "demo") -> list[EncodedInput]:
    """The reference set's inputs encoded for `loaded` (those that cannot be encoded are left out)."""
    names = REFERENCES.get(reference)
    if names is None:
        raise InputError(f"reference {reference!r}: accepted {', '.join(REFERENCES)}", field="intervene.reference")
    name = names[loaded.info.task]
    specs, _ = unit_specs(loaded, list(demo_dataset(name).examples), name)
    return [unit.encoded for unit in encode_units(loaded, specs) if unit is not None]


def _batches(loaded: LoadedCheckpoint, encodeds: Sequence[EncodedInput]) -> Iterator[dict[str, torch.Tensor]]:
    ordered = sorted(encodeds, key=lambda e: len(e.input_ids))  # similar lengths together: little padding
    for start in range(0, len(ordered), BATCH_SIZE):
        yield pad_batch(ordered[start : start + BATCH_SIZE], loaded.tokenizer.pad_token_id, loaded.device)


def reference_means(loaded: LoadedCheckpoint, reference: str = "demo") -> torch.Tensor:
    """Each head's mean output over the reference set, [layers, heads, head_dim] on the model's device."""
    key = (loaded.info.id, loaded.info.weights_location, reference)
    with _LOCK:
        found = _MEANS.get(loaded.model, {}).get(key)
    if found is not None:
        return found
    means = mean_head_outputs(loaded.model, _batches(loaded, reference_inputs(loaded, reference)))
    with _LOCK:
        _MEANS.setdefault(loaded.model, {})[key] = means
    return means
