"""nnexp: config-driven experiments with small neural networks written in NumPy."""

__version__ = "0.1.0"
