"""Model-side code: checkpoints, inputs, attention, training. No web imports here."""
