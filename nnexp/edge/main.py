"""The ``@hydra.main`` entry point. Kept apart from the task: applying ``hydra.main``
sets Hydra's version base for the whole process, which only the command should do."""

from __future__ import annotations

import hydra

from .config import CONF_DIR, register
from .task import task

register()


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def main(cfg) -> float:
    return task(cfg)
