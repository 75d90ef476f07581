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
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import numpy as np
import orjson
import torch

from app.core.model.attention import quantize_uint8

NPZ_MEDIA_TYPE = "application/octet-stream"
DTYPES = ("uint8", "float16")


def layer_values(attention: torch.Tensor, layer: int, dtype: str) -> np.ndarray:
    """One layer's array [H, T, T] as the archive holds it, converted on the attention's device, then brought over."""
    one = attention[layer]
    return (quantize_uint8(one) if dtype == "uint8" else one.to(torch.float16)).cpu().numpy()


def npz_attention(attention: torch.Tensor, layers: Iterable[int], dtype: str) -> dict[str, Any]:
    """The `attention` entry of an npz answer: its description and, under "arrays", each layer's array to be made.

    The arrays are made by `npz_bytes` as it writes them, one layer at a time: a layer's quantisation (a few
    tensor ops on 1/L of the weights) stays in memory the allocator reuses, where one op over every layer
    maps fresh pages for a float copy of them all each time (0.23 s against 0.10 s for a 12 x 12 model at 475
    tokens on a busy CPU, bench/inspect_size.py), and the route runs it off the event loop."""
    chosen = list(layers)
    return {
        "encoding": "npz",
        "dtype": dtype,
        "scale": 255 if dtype == "uint8" else 1,
        "shape": list(attention.shape),
        "layers": chosen,
        "arrays": {f"layer_{layer}": partial(layer_values, attention, layer, dtype) for layer in chosen},
    }


def npz_bytes(body: dict[str, Any]) -> bytes:
    """The archive of an answer whose `attention` came from `npz_attention` (or holds none)."""
    attention = dict(body.get("attention") or {})
    arrays: dict[str, Callable[[], np.ndarray]] = attention.pop("arrays", {})
    meta = {**body, "attention": attention or None}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("inspection.json", orjson.dumps(meta, option=orjson.OPT_SERIALIZE_NUMPY))
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w") as member:
                np.lib.format.write_array(member, array(), allow_pickle=False)
    return out.getvalue()
