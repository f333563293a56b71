"""nnexp's batched launcher: ``hydra/launcher=batched``."""
