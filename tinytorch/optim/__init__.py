"""Optimizers (book Module 06) and the helpers around them (Module 07): ``SGD``, ``Adam``,
``AdamW``, learning-rate schedules and gradient clipping. One ``step()`` realizes every
parameter and state update as one graph."""
