"""The ``@hydra.main`` entry point. Kept apart from the task: applying ``hydra.main``
sets Hydra's version base for the whole process, which only the command should do.

The task Hydra runs is ``task`` itself, undecorated: the batched launcher recognises
nnexp's jobs by that very function (any other task it runs job by job, as given)."""

from __future__ import annotations

import hydra

from .config import CONF_DIR, register
from .task import task

register()

main = hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")(task)
