"""From text to model inputs: encoding ABSA pairs and relation instances (encoding.py), the analysis
units a labelled dataset becomes (units.py), and padding and batching them (batching.py)."""
