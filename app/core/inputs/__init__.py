"""From text to model inputs: encoding ABSA pairs (encoding.py) and relation instances (relations.py), the analysis
units a labelled dataset becomes (units.py), and padding and batching them (batching.py)."""
