"""Job configs for a sweep, composed once and shared by the sweep's check and the
batched launcher.

Hydra composes a multirun's jobs up to three times before any trains: nnexp's sweep
check (``edge/sweep_check.py``) builds every job, the sweeper composes every job only to
check that it can (``Sweeper.validate_batch_is_legal``), and the launcher composes them
again to run them. With the batched launcher, one ``Composer`` per sweep (``shared``)
answers all three: the check's configs are kept, the sweeper's validation finds them
already made, and the launcher takes them.
"""

from __future__ import annotations

import logging
import pickle
from collections import Counter
from typing import Any

from omegaconf import OmegaConf, open_dict

from ..sweep import batched

log = logging.getLogger(__name__)

_SHARED: list = []  # the latest sweep's Composer


def shared(loader: Any, master: Any) -> Composer:
    """The ``Composer`` of the sweep whose master config is ``master`` (the very object
    Hydra hands its callbacks, sweeper and launcher), made on first use."""
    if not (_SHARED and _SHARED[0].master is master and _SHARED[0].loader is loader):
        _SHARED[:] = [Composer(loader, master)]
    return _SHARED[0]


class Composer:
    """Job configs for a sweep. A Hydra composition costs more than a small job's
    training, a cost the jobs of a seed sweep pay a hundred times for nothing: jobs
    whose overrides differ only in plain values of ``REPLICA_OPTIONS`` get a copy of the
    first such job's composed config with those values set, as Hydra's own override step
    sets them. The first copy of each template is checked against a real composition;
    any difference and the template's jobs are all composed by Hydra. Templates are kept
    pickled: unpickling copies a config in a third of ``copy.deepcopy``'s time, and
    OmegaConf pickles its configs whole (types and flags included)."""

    def __init__(self, loader: Any, master: Any) -> None:
        from hydra.core.override_parser.overrides_parser import OverridesParser

        self.master = master
        self.loader = loader
        self.load = loader.load_sweep_config  # Hydra's own, before anything stands in front
        self.parser = OverridesParser.create()
        self.templates: dict = {}  # the non-replica overrides -> pickled config, or None
        self.checked: set = set()
        self.kept: dict = {}  # overrides -> configs composed for a check, not launched yet
        self.unvalidated: Counter = Counter()  # overrides -> kept by nnexp's check only
        self.composed = 0

    def _hydra(self, overrides: list[str]):
        self.composed += 1
        return self.load(self.master, overrides)

    def validate(self, overrides: list[str]):
        """The sweeper's check that a job composes: a config nnexp's check already made
        for these overrides counts (once each), else one is composed and kept."""
        key = tuple(overrides)
        if self.unvalidated[key]:
            self.unvalidated[key] -= 1
            return self.kept[key][-1]
        return self.compose(overrides, keep=True)

    def take(self, overrides: list[str]):
        """The config of a job about to launch: the one composed for the sweeper's check
        (each is handed out once, so a repeated job gets a config of its own), or a new one."""
        kept = self.kept.get(tuple(overrides))
        config = kept.pop() if kept else self.compose(overrides)
        # Hydra copies the master config's resolved values (the sweep's ${now:...} folder)
        # into a job's config as it composes it; nnexp's check composes before the sweeper
        # resolves its folder, so every job gets the master's values as it launches.
        OmegaConf.copy_cache(from_config=self.master, to_config=config)
        return config

    def compose(self, overrides: list[str], keep: bool = False, unvalidated: bool = False):
        """A job's config; ``keep``: for ``take`` to hand out; ``unvalidated``: kept by
        nnexp's check, for ``validate`` to find."""
        config = self._compose(overrides)
        if keep or unvalidated:
            self.kept.setdefault(tuple(overrides), []).append(config)
        if unvalidated:
            self.unvalidated[tuple(overrides)] += 1
        return config

    def _compose(self, overrides: list[str]):
        parsed = self.parser.parse_overrides(overrides)
        replica = [
            o
            for o in parsed
            if o.key_or_group in batched.REPLICA_OPTIONS
            and not o.is_add()
            and not o.is_delete()
            and not o.is_sweep_override()
        ]
        rest = tuple(o.input_line for o in parsed if o not in replica)
        if rest not in self.templates:
            composed = self._hydra(overrides)
            self.templates[rest] = pickle.dumps(composed)
            return composed
        template = self.templates[rest]
        if template is None:
            return self._hydra(overrides)
        derived = self._derive(pickle.loads(template), parsed, replica)
        if rest not in self.checked:
            self.checked.add(rest)
            composed = self._hydra(overrides)
            if OmegaConf.to_container(derived) != OmegaConf.to_container(composed):
                log.warning("derived job config differs from Hydra's; composing each job")
                self.templates[rest] = None
                return composed
        return derived

    @staticmethod
    def _derive(cfg, parsed, replica):
        """A copy of a template (``cfg``, changed in place) made into the job's config."""
        for override in replica:
            OmegaConf.update(cfg, override.key_or_group, override.value(), merge=True)
        app = [o for o in parsed if not o.is_hydra_override()]
        naming = cfg.hydra.job.config.override_dirname
        lines = sorted(o.input_line for o in app if o.key_or_group not in naming.exclude_keys)
        with open_dict(cfg.hydra):
            cfg.hydra.overrides.task = [o.input_line for o in app]
            cfg.hydra.job.override_dirname = naming.item_sep.join(lines).replace("=", naming.kv_sep)
        return cfg
