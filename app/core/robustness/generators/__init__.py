"""The offline robustness tests: pure, deterministic generators of variants, named in catalog.py."""
