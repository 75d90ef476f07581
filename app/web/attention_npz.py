"""The live inspection as an .npz archive: the attention in binary, one array per layer, cheaply compressed.

`POST /api/inspect` with `"attention": "npz"` answers `application/octet-stream` bytes that `numpy.load`
opens (an .npz is a zip of .npy files):

* `inspection.json`: the JSON answer without the attention (tokens, spans, prediction, ...), plus an
  `attention` entry describing the arrays: encoding "npz", dtype, scale, shape [L, H, T, T], layers;
* `layer_<l>.npy`: layer l's attention [H, T, T]: uint8 (value = round(a * 255), the compact JSON's
  quantisation, max error 1/510; divide by `scale`) or float16 (the probabilities, `scale` 1).

Members are deflated at level 1: the quantised attention of a long input is mostly near-zero bytes, which
the fastest level already packs several times smaller, at a fraction of the time of higher levels.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from typing import Any

import numpy as np
import orjson
import torch

from app.core.model.attention import quantize_uint8

NPZ_MEDIA_TYPE = "application/octet-stream"
DTYPES = ("uint8", "float16")


def chosen_layers(attention: torch.Tensor, layers: list[int]) -> torch.Tensor:
    """[len(layers), H, T, T]: the attention itself when they are every layer in order (no copy), else one gather."""
    return attention if layers == list(range(len(attention))) else attention[layers]


def quantised_layers(attention: torch.Tensor, layers: list[int]) -> torch.Tensor:
    """uint8 [len(layers), H, T, T] of those layers (value = round(a * 255)), on the attention's device.

    One tensor op over all of them, not one per layer: on a busy CPU each op's hand-over to the intra-op
    threads costs more than a layer's arithmetic (12 layers one by one took 3-4x as long, bench/inspect_size.py)."""
    return quantize_uint8(chosen_layers(attention, layers))


def npz_attention(attention: torch.Tensor, layers: Iterable[int], dtype: str) -> dict[str, Any]:
    """The `attention` entry of an npz answer: its description and the per-layer arrays (under "arrays")."""
    chosen = list(layers)
    if dtype == "uint8":
        values = quantised_layers(attention, chosen)
    else:
        values = chosen_layers(attention, chosen).to(torch.float16)
    arrays = values.cpu().numpy()  # only the layers sent are converted, and moved off the device as one block
    return {
        "encoding": "npz",
        "dtype": dtype,
        "scale": 255 if dtype == "uint8" else 1,
        "shape": list(attention.shape),
        "layers": chosen,
        "arrays": {f"layer_{layer}": arrays[i] for i, layer in enumerate(chosen)},
    }


def npz_bytes(body: dict[str, Any]) -> bytes:
    """The archive of an answer whose `attention` came from `npz_attention` (or holds none)."""
    attention = dict(body.get("attention") or {})
    arrays: dict[str, np.ndarray] = attention.pop("arrays", {})
    meta = {**body, "attention": attention or None}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("inspection.json", orjson.dumps(meta, option=orjson.OPT_SERIALIZE_NUMPY))
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w") as member:
                np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
    return out.getvalue()
