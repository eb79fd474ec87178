"""Voices: voice models (``/model``), what makes a voice (a profile estimated from reference audio),
and voice matching — adapting a base voice's output toward a profile on the CPU."""
