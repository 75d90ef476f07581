"""Fine-tuning: the loop (loop.py), RoAST and its selective training (roast.py, selective.py), the
benchmark recipes (recipes.py) and the embedded demo checkpoints (demo_checkpoints.py)."""

from app.core.training.loop import split_dev

__all__ = ["split_dev"]
