"""Job configs for a sweep, composed once and shared by the sweep's check and the
batched launcher.

Hydra composes a multirun's jobs up to three times before any trains: nnexp's sweep
check (``edge/sweep_check.py``) builds every job, the sweeper composes every job only to
check that it can (``Sweeper.validate_batch_is_legal``), and the launcher composes them
again to run them. With the batched launcher, one ``Composer`` per sweep (``shared``)
answers all three, and a job is a ``Recipe``: its template's composition and the few
values that set it apart, made into a config only where a config is needed.
"""

from __future__ import annotations

import logging
import pickle
from dataclasses import dataclass
from typing import Any

from omegaconf import OmegaConf, open_dict, read_write

from ..sweep import batched

log = logging.getLogger(__name__)

_SHARED: list = []  # the latest sweep's Composer


def shared(loader: Any, master: Any) -> Composer:
    """The ``Composer`` of the sweep whose master config is ``master`` (the very object
    Hydra hands its callbacks, sweeper and launcher), made on first use."""
    if not (_SHARED and _SHARED[0].master is master and _SHARED[0].loader is loader):
        _SHARED[:] = [Composer(loader, master)]
    return _SHARED[0]


@dataclass(frozen=True)
class Recipe:
    """A job's config as Hydra composes it, kept as a recipe: its template (a composed
    config, pickled: OmegaConf pickles its configs whole, types and flags included, and
    unpickling copies one in a fraction of ``copy.deepcopy``'s time) and what this job
    sets apart, set as Hydra's override step sets it. ``task_overrides`` None: the
    template is this job's own composition, taken as it is."""

    template: bytes
    updates: tuple = ()  # ((dotted key, value), ...) of the job's replica overrides
    task_overrides: tuple | None = None  # hydra.overrides.task
    override_dirname: str | None = None  # hydra.job.override_dirname

    def config(self, cache: dict | None = None, num: int | None = None):
        """A new DictConfig of the job; ``cache``: the master's resolver cache (the
        sweep's ``${now:...}`` folder, copied in as Hydra copies it into a job's config);
        ``num``: the job's number, set as a launcher sets it."""
        cfg = pickle.loads(self.template)
        self.apply(cfg)
        if cache is not None:
            OmegaConf.set_cache(cfg, cache)  # a copy, as OmegaConf.copy_cache makes
        if num is not None:
            with read_write(cfg.hydra), open_dict(cfg.hydra):
                cfg.hydra.job.id = num
                cfg.hydra.job.num = num
        return cfg

    def apply(self, cfg) -> None:
        """Make ``cfg`` (its template's config, or any other job's of the same template
        with the same keys updated) this job's, in place."""
        for key, value in self.updates:
            OmegaConf.update(cfg, key, value, merge=True)
        if self.task_overrides is not None:
            with read_write(cfg.hydra), open_dict(cfg.hydra):
                cfg.hydra.overrides.task = list(self.task_overrides)
                cfg.hydra.job.override_dirname = self.override_dirname

    def updated_keys(self) -> tuple:
        return tuple(key for key, _ in self.updates)


class Composer:
    """Job configs for a sweep. A Hydra composition costs more than a small job's
    training, a cost the jobs of a seed sweep pay a hundred times for nothing: jobs
    whose overrides differ only in plain values of ``REPLICA_OPTIONS`` share the first
    such job's composition (their template) and set those values on it, as Hydra's own
    override step sets them. The first derived job of each template is checked against a
    real composition; any difference and the template's jobs are all composed by Hydra.
    Each job's values are set on one probe config per template as its recipe is made,
    so a value Hydra would refuse is refused here, by Hydra's own composition."""

    def __init__(self, loader: Any, master: Any) -> None:
        from hydra.core.override_parser.overrides_parser import OverridesParser

        self.master = master
        self.loader = loader
        self.load = loader.load_sweep_config  # Hydra's own, before anything stands in front
        self.parser = OverridesParser.create()
        self.parsed: dict = {}  # an override line -> Hydra's parse of it
        self.templates: dict = {}  # the non-replica overrides -> pickled config, or None
        self.probes: dict = {}  # the non-replica overrides -> a config of that template
        self.checked: set = set()
        self.recipes: dict = {}  # a job's overrides -> its Recipe
        self.bases: dict = {}  # the non-replica overrides -> its template's plain_task_config
        self.composed = 0

    def _hydra(self, overrides: list[str]):
        self.composed += 1
        return self.load(self.master, overrides)

    def _parse(self, overrides: list[str]) -> list:
        for line in overrides:
            if line not in self.parsed:
                (self.parsed[line],) = self.parser.parse_overrides([line])
        return [self.parsed[line] for line in overrides]

    def validate(self, overrides: list[str]):
        """The sweeper's check that a job composes (``Sweeper.validate_batch_is_legal``,
        which only asks that and ignores the config): the job's recipe is made, raising
        what Hydra's composition raises, and its template's probe config answers."""
        recipe = self.recipe(overrides)
        return self.probes.get(self.template_key(overrides)) or recipe.config()

    def take(self, overrides: list[str]) -> Recipe:
        """The recipe of a job about to launch (made once per distinct overrides)."""
        return self.recipe(overrides)

    def compose(self, overrides: list[str]):
        """A new DictConfig of the job, as Hydra composes it."""
        return self.recipe(overrides).config()

    def derived(self, overrides: list[str]) -> bool:
        """Whether the job's config is derived from a template (its recipe made)."""
        recipe = self.recipe(overrides)
        return recipe.template is self.templates.get(self.template_key(overrides))

    def plain(self, overrides: list[str]) -> dict:
        """``plain_task_config`` of the job's config, without making the config for a
        job derived from a template free of interpolations in its own options: the
        template's plain values with the job's values set (each value set on the
        template's probe config first, and read back as OmegaConf converted it)."""
        recipe = self.recipe(overrides)
        rest = self.template_key(overrides)
        base = self._base(rest) if recipe.template is self.templates.get(rest) else None
        if base is None:
            return plain_task_config(recipe.config())
        plain = dict(base)
        probe = self.probes[rest]
        for key, value in recipe.updates:
            OmegaConf.update(probe, key, value, merge=True)
            *parents, leaf = key.split(".")
            node = plain
            for parent in parents:  # copied along the path: the base is shared
                node[parent] = dict(node[parent])
                node = node[parent]
            node[leaf] = OmegaConf.select(probe, key)
        return plain

    def _base(self, rest: tuple) -> dict | None:
        """The template's ``plain_task_config``; None when its own options hold an
        interpolation (which a job's values could change)."""
        if rest not in self.bases:
            cfg = pickle.loads(self.templates[rest])
            unresolved = OmegaConf.to_container(cfg, resolve=False)
            assert isinstance(unresolved, dict)
            unresolved.pop("hydra", None)
            self.bases[rest] = None if "${" in repr(unresolved) else plain_task_config(cfg)
        return self.bases[rest]

    def template_key(self, overrides: list[str]) -> tuple:
        return tuple(o.input_line for o in self._parse(overrides) if not _is_replica(o))

    def recipe(self, overrides: list[str]) -> Recipe:
        key = tuple(overrides)
        if key not in self.recipes:
            self.recipes[key] = self._recipe(overrides)
        return self.recipes[key]

    def _recipe(self, overrides: list[str]) -> Recipe:
        parsed = self._parse(overrides)
        rest = tuple(o.input_line for o in parsed if not _is_replica(o))
        if rest not in self.templates:
            composed = self._hydra(overrides)
            self.templates[rest] = pickle.dumps(composed)
            self.probes[rest] = composed
            return Recipe(self.templates[rest])  # the job's own composition
        template = self.templates[rest]
        if template is None:
            return Recipe(pickle.dumps(self._hydra(overrides)))
        try:
            recipe = self._derived(template, parsed, self.probes[rest])
        except Exception:
            # A value Hydra's override step may take differently or refuse: Hydra decides
            # (its composition raises its own error, or gives the job's config).
            return Recipe(pickle.dumps(self._hydra(overrides)))
        if rest not in self.checked:
            self.checked.add(rest)
            composed = self._hydra(overrides)
            derived = recipe.config()
            if OmegaConf.to_container(derived) != OmegaConf.to_container(composed):
                log.warning("derived job config differs from Hydra's; composing each job")
                self.templates[rest] = None
                return Recipe(pickle.dumps(composed))
        return recipe

    @staticmethod
    def _derived(template: bytes, parsed: list, probe) -> Recipe:
        """The recipe of a job of ``template``; its values are set on ``probe`` (a config
        of the template, changed in place), which raises what the update would raise."""
        updates = tuple((o.key_or_group, o.value()) for o in parsed if _is_replica(o))
        app = [o for o in parsed if not o.is_hydra_override()]
        naming = probe.hydra.job.config.override_dirname
        lines = sorted(o.input_line for o in app if o.key_or_group not in naming.exclude_keys)
        recipe = Recipe(
            template,
            updates,
            tuple(o.input_line for o in app),
            naming.item_sep.join(lines).replace("=", naming.kv_sep),
        )
        for key, value in updates:
            OmegaConf.update(probe, key, value, merge=True)
        return recipe


def plain_task_config(config) -> dict:
    """A job's own options (without Hydra's node) as resolved plain values: what
    validation and grouping read, at a fraction of a DictConfig copy's cost."""
    return {
        key: OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node
        for key, node in config.items()
        if key != "hydra"
    }


def _is_replica(o) -> bool:
    """A plain value of a replica option: what a job may set on its template."""
    return (
        o.key_or_group in batched.REPLICA_OPTIONS
        and not o.is_add()
        and not o.is_delete()
        and not o.is_sweep_override()
    )
