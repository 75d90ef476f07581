"""Checkpoints and what runs inside them: folders and safe loading (checkpoint.py), the server's
registry of loaded models (registry.py), the embedded MiniLM base and a checkpoint's pretrained base
(embedded.py, pretrained.py), the forward pass with attentions and the thumbnails' max-pooling (attention.py,
pooling_kernel.py: compiled for the CPU), the ONNX Runtime fast
path (onnx_fastpath.py), entity-start pooling for relations (entity_pooling.py), the one hook
mechanism (hooks.py: named points inside the encoder, such as each head's output, and hooks that live
for one `with` block), head masks on top of it (head_mask.py), the errors a user can act on
(errors.py), and a seeded random BERT of any shape over the embedded tokenizer that the tests' tiny
checkpoints and the benchmarks build on (random_bert.py).

The lowest layer of app.core: it imports no other package of app.core."""
