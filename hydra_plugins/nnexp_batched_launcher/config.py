from dataclasses import dataclass

from hydra.core.config_store import ConfigStore


@dataclass
class BatchedLauncherConf:
    _target_: str = "hydra_plugins.nnexp_batched_launcher.batched_launcher.BatchedLauncher"
    # Replicas trained together at most; a larger group is split. Memory grows with
    # max_replicas x rows x widest layer.
    max_replicas: int = 128
    # Processes that train the chunks of each group and write their run folders (tables,
    # plots, reports); 0 means one a core.
    n_jobs: int = 0


ConfigStore.instance().store(
    group="hydra/launcher", name="batched", node=BatchedLauncherConf, provider="nnexp"
)
