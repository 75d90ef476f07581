"""headscope: see what the attention heads of fine-tuned BERT models do."""

__version__ = "0.1.0"
