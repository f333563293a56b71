"""Hydra's ``run_job`` for the jobs of nnexp's task, without its per-job copies.

``hydra.core.utils.run_job`` deep-copies a job's whole config twice, sets
``HydraConfig`` twice (each a masked deep copy), dumps three YAML files with OmegaConf's
pure-Python emitter and configures logging from scratch: several times what writing a
short run's folder costs. ``run`` does the same work for a job given as a ``Recipe``
(``nnexp.edge.compose``): one config per template in each process, made each job's in
place (the few values a job sets apart: its replica values, its overrides, its number
and folder); the YAML text of the parts of a config that jobs share emitted once; the
log file handler pointed at the job's folder when nothing else about logging changed;
and the ``JobReturn``'s ``hydra_cfg`` (a copy of the whole Hydra node, which no sweeper
reads) made when first read. What a job leaves is what ``run_job`` leaves: the same
``.hydra/`` files, log file and lines, callbacks and ``JobReturn`` fields, and inside
the task ``HydraConfig.get()`` answers the same (tests/test_batched_job.py compares
them). ``fits`` says when this holds; otherwise the launcher calls ``run_job``.
"""

from __future__ import annotations

import copy
import logging
import os
import pickle
import re
from enum import Enum
from pathlib import Path

import yaml
from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import (
    JobReturn,
    JobRuntime,
    JobStatus,
    _flush_loggers,
    configure_log,
    env_override,
)
from hydra.experimental.callback import Callback
from omegaconf import AnyNode, OmegaConf, StringNode, open_dict, read_write
from omegaconf._utils import get_omega_conf_dumper

from nnexp.edge.compose import Recipe


def fits(hydra_context, recipe: Recipe, cache: dict) -> bool:
    """Whether ``run`` leaves what ``run_job`` would: no callback acts on a job's start
    or end (``run`` hands them a config it later makes the next job's), and the job's
    ``hydra.job.chdir`` is set (unset, ``run_job`` decides by Hydra's version base)."""
    for callback in hydra_context.callbacks.callbacks:
        for hook in ("on_job_start", "on_job_end"):
            if getattr(type(callback), hook, None) is not getattr(Callback, hook):
                return False
    return isinstance(_live(recipe, cache).chdir, bool)


class _Live:
    """The config of one template's jobs, made each job's in turn (``Recipe.apply``),
    and what its jobs share: the task config's template, the text of shared YAML."""

    def __init__(self, recipe: Recipe, cache: dict) -> None:
        self.template = recipe.template
        self.config = Recipe(recipe.template).config(cache)
        # As HydraConfig.set_config leaves a job's config.
        OmegaConf.set_readonly(self.config.hydra, True)
        task = copy.deepcopy(self.config)  # the task's config, as run_job makes it
        with read_write(task), open_dict(task):
            del task["hydra"]
        self.task_template = pickle.dumps(task)
        self.updated: frozenset | None = None  # keys set since it was the template's
        self.chdir = self.config.hydra.job.chdir
        self.output_subdir = self.config.hydra.output_subdir
        self.yaml = _Yaml()
        self.last: dict | None = None  # the last job's plain config (``plain``)
        self.memo: dict = {}  # interpolations resolved (``resolved``)
        self.logging: tuple | None = None  # (job_logging's set-up, its file names' keys)

    def plain(self, config, recipe: Recipe) -> dict:
        """``OmegaConf.to_container(config, enum_to_str=True)`` of the job's config: the
        last job's, its entries that jobs set apart made anew (the top-level options the
        recipe sets; Hydra's overrides, job and runtime nodes)."""
        if self.last is None or recipe.task_overrides is None:
            plain = OmegaConf.to_container(config, resolve=False, enum_to_str=True)
        else:
            plain = dict(self.last)
            for top in {key.split(".")[0] for key in recipe.updated_keys()}:
                plain[top] = _content(config, top)
            hydra = plain["hydra"] = dict(plain["hydra"])
            for key in _PER_JOB:
                hydra[key] = _content(config.hydra, key)
        assert isinstance(plain, dict)
        self.last = plain
        return plain

    def resolved(self, config, key: str) -> str:
        """``str(OmegaConf.select(config, key))``, what run_job makes of the job's folder
        keys, without OmegaConf's parser where it can: a string or untyped value made of
        references to other keys is those keys' values put in (as OmegaConf puts them in);
        one that also uses cached resolvers (``${now:...}``) is resolved once for all
        jobs whose referred values are the same."""
        parent, _, leaf = key.rpartition(".")
        node = OmegaConf.select(config, parent)._get_node(leaf)
        raw = node._value()
        refs = _REFERENCE.findall(raw) if isinstance(raw, str) else []
        if not refs or "\\" in raw or raw.count("${") != len(refs):
            return str(OmegaConf.select(config, key))  # escapes, nesting, plain values
        values = {}
        for ref in refs:
            if ":" in ref:
                if ref.split(":")[0] not in _CACHED:
                    return str(OmegaConf.select(config, key))  # a resolver that may change
                continue
            value = OmegaConf.select(config, ref, default=_ABSENT, throw_on_missing=True)
            if value is _ABSENT or OmegaConf.is_config(value):
                return str(OmegaConf.select(config, key))  # OmegaConf's error, or a node
            values[ref] = str(value)
        if len(values) == len(refs) and isinstance(node, (StringNode, AnyNode)):
            return _REFERENCE.sub(lambda m: values[m.group(1)], raw)
        memo_key = (key, raw, *values.values())
        if memo_key not in self.memo:
            if len(self.memo) >= _KEPT:  # values of each job's own: nothing to reuse
                self.memo.clear()
            self.memo[memo_key] = str(OmegaConf.select(config, key))
        return self.memo[memo_key]

    def configure_log(self, config, plain: dict) -> None:
        """``configure_log(config.hydra.job_logging, config.hydra.verbose)``: when the
        last job set up the same logging but for its log files' names, and the root logger
        still has what it set up, its file handlers are pointed at this job's files."""
        if self.logging is None:
            self.logging = _logging_shape(plain["hydra"]["job_logging"])
        shared, files = self.logging
        root = logging.getLogger()
        named = getattr(logging, "_handlers", {})  # dictConfig's handlers by name
        if (
            shared
            and _LOGGING
            and _LOGGING[0] == (self.template, tuple(root.handlers), root.level)
            and all(type(named.get(name)) is logging.FileHandler for name in files)
        ):
            for name, key in files.items():
                _retarget(named[name], self.resolved(config, key))
            return
        configure_log(config.hydra.job_logging, config.hydra.verbose)
        _LOGGING[:] = [(self.template, tuple(root.handlers), root.level)]

    def takes(self, recipe: Recipe) -> bool:
        """Whether ``config`` can be made that job's: a template's own job takes it as
        composed; a derived job sets at least every key set since."""
        if recipe.task_overrides is None:
            return self.updated is None
        return self.updated is None or self.updated <= set(recipe.updated_keys())

    def make(self, recipe: Recipe):
        """``config`` made the job's, and a new task config of the job (which the task
        may keep or change)."""
        if recipe.task_overrides is not None:
            recipe.apply(self.config)
            self.updated = frozenset(recipe.updated_keys())
        return self.config, self.task(recipe)

    def task(self, recipe: Recipe):
        """A new task config of a job of this template, as run_job hands it to the task."""
        task = pickle.loads(self.task_template)
        for key, value in recipe.updates:
            OmegaConf.update(task, key, value, merge=True)
        return task


_LIVE: dict = {}  # template -> _Live, in this process
_PER_JOB = ("overrides", "job", "runtime")  # the Hydra nodes a job of a template sets
_REFERENCE = re.compile(r"\$\{([^${}\\]*)\}")  # ${a.b} or ${resolver:args}
_CACHED = {"now"}  # resolvers Hydra registers with use_cache=True
_ABSENT = object()
_KEPT = 4096  # entries a cache keeps at most: a long sweep's jobs' own values come and go
_LOGGING: list = []  # the logging set-up the last job made (_configure_log)


def _live(recipe: Recipe, cache: dict) -> _Live:
    live = _LIVE.get(recipe.template)
    if live is None or not live.takes(recipe):
        live = _LIVE[recipe.template] = _Live(recipe, cache)
    return live


def forget() -> None:
    """Drop the configs earlier launches made in this process: each launch's jobs get
    their own (an earlier sweep's equal template holds that sweep's resolved values,
    such as its ``${now:...}`` folder)."""
    _LIVE.clear()


def task_config(recipe: Recipe, cache: dict):
    """A new task config of the job: its config without Hydra's node (what ``run`` and
    ``run_job`` hand the task)."""
    live = _LIVE.get(recipe.template) or _live(recipe, cache)
    return live.task(recipe)


def run(
    recipe: Recipe, num: int, cache: dict, task_function, hydra_context, job_dir_key: str
) -> JobReturn:
    """``run_job(hydra_context, task_function, config=recipe.config(cache, num),
    job_dir_key, job_subdir_key="hydra.sweep.subdir")``, cheaply (module doc)."""
    callbacks = hydra_context.callbacks
    live = _live(recipe, cache)
    config, task_cfg = live.make(recipe)
    with read_write(config.hydra), open_dict(config.hydra):
        config.hydra.job.id = num
        config.hydra.job.num = num

    old_cwd = os.getcwd()
    orig_hydra_cfg = HydraConfig.instance().cfg
    # HydraConfig.get() answers config.hydra: run_job's masked copy of it holds the same
    # values under the same parent.
    HydraConfig.instance().cfg = config
    output_dir = live.resolved(config, job_dir_key)
    output_dir = os.path.join(output_dir, live.resolved(config, "hydra.sweep.subdir"))
    with read_write(config.hydra.runtime), open_dict(config.hydra.runtime):
        config.hydra.runtime.output_dir = os.path.abspath(output_dir)
    _chdir = None
    try:
        ret = _JobReturn((recipe, cache, num, config.hydra.runtime.output_dir))
        ret.cfg = task_cfg
        plain = live.plain(config, recipe)
        ret.overrides = list(plain["hydra"]["overrides"]["task"])
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        _chdir = live.chdir
        if _chdir:
            os.chdir(output_dir)
            ret.working_dir = output_dir
        else:
            ret.working_dir = os.getcwd()
        live.configure_log(config, plain)
        if live.output_subdir is not None:
            hydra_output = Path(config.hydra.runtime.output_dir) / Path(live.output_subdir)
            hydra_output.mkdir(parents=True, exist_ok=True)
            task_plain = {key: value for key, value in plain.items() if key != "hydra"}
            for name, text in (
                ("config.yaml", live.yaml.text(task_plain)),
                ("hydra.yaml", live.yaml.text({"hydra": plain["hydra"]})),
                ("overrides.yaml", _dump(plain["hydra"]["overrides"]["task"])),
            ):
                (hydra_output / name).write_text(text, encoding="utf-8")

        with env_override(config.hydra.job.env_set):
            callbacks.on_job_start(config=config, task_function=task_function)
            try:
                ret.return_value = task_function(task_cfg)
                ret.status = JobStatus.COMPLETED
            except Exception as e:
                ret.return_value = e
                ret.status = JobStatus.FAILED

        ret.task_name = JobRuntime.instance().get("name")
        _flush_loggers()
        callbacks.on_job_end(config=config, job_return=ret)
        return ret
    finally:
        HydraConfig.instance().cfg = orig_hydra_cfg
        if _chdir:
            os.chdir(old_cwd)


class _JobReturn(JobReturn):
    """Hydra's ``JobReturn``, its ``hydra_cfg`` made when first read (from the job's
    recipe, as ``run_job`` makes it): the sweepers read a job's return value, not its
    copy of the whole Hydra node, and this way no process pays for one that nobody
    reads (pickling it back to the sweep's process included)."""

    def __init__(self, make: tuple) -> None:
        super().__init__()
        self._make: tuple | None = make

    @property
    def hydra_cfg(self):
        if self.__dict__.get("_hydra_cfg") is None and self.__dict__.get("_make"):
            self._hydra_cfg = _hydra_cfg(*self._make)
            self._make = None
        return self.__dict__.get("_hydra_cfg")

    @hydra_cfg.setter
    def hydra_cfg(self, value) -> None:
        self.__dict__["_hydra_cfg"] = value


def _hydra_cfg(recipe: Recipe, cache: dict, num: int, output_dir: str):
    """The ``hydra_cfg`` ``run_job`` returns: a copy of ``HydraConfig``'s masked copy of
    the job's config."""
    config = recipe.config(cache, num)
    with read_write(config.hydra.runtime), open_dict(config.hydra.runtime):
        config.hydra.runtime.output_dir = output_dir
    OmegaConf.set_readonly(config.hydra, True)
    masked = OmegaConf.masked_copy(config, "hydra")
    masked.hydra._set_parent(config)
    return copy.deepcopy(masked)


def _logging_shape(conf) -> tuple[bool, dict]:
    """(whether jobs of a template share the logging set-up ``conf`` but for their log
    files' names, {handler name: the key of its file's name}). Not shared: no dictConfig
    set-up (Hydra then adds a handler each job), one that disables the loggers made since
    the last set-up or is incremental, or an interpolation anywhere but a file's name."""
    if not isinstance(conf, dict) or "root" not in conf:
        return False, {}
    if conf["root"] is None:  # configure_log sets nothing up
        return True, {}
    if conf.get("disable_existing_loggers", True) or conf.get("incremental", False):
        return False, {}
    handlers = conf.get("handlers") or {}
    files = {
        name: f"hydra.job_logging.handlers.{name}.filename"
        for name, handler in handlers.items()
        if isinstance(handler, dict) and "filename" in handler
    }
    rest = {
        **conf,
        "handlers": {
            name: {k: v for k, v in handler.items() if not (name in files and k == "filename")}
            for name, handler in handlers.items()
        },
    }
    return "${" not in repr(rest), files


def _content(parent, key):
    """``OmegaConf.to_container(parent, enum_to_str=True)[key]``."""
    node = parent._get_node(key)
    if OmegaConf.is_config(node):
        return OmegaConf.to_container(node, resolve=False, enum_to_str=True)
    value = node._value()
    return value.name if isinstance(value, Enum) else value


def _retarget(handler: logging.FileHandler, filename: str) -> None:
    """Point a FileHandler at another file, as a new one made by dictConfig would be."""
    with handler.lock or _NoLock():
        if handler.stream is not None:
            handler.flush()
            handler.stream.close()
        handler.baseFilename = os.path.abspath(filename)
        handler.stream = None if handler.delay else handler._open()


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> None:
        return None


def _dump(data) -> str:
    """``OmegaConf.to_yaml``'s text of a plain container."""
    return yaml.dump(
        data,
        default_flow_style=False,
        allow_unicode=True,
        sort_keys=False,
        Dumper=get_omega_conf_dumper(),
    )


class _Yaml:
    """``OmegaConf.to_yaml``'s text of plain mappings, their entries two levels deep
    emitted once each and reused. In block style an entry's text depends only on its key,
    its value and its depth, so a mapping's text is its entries' texts in order; the
    first mapping given is also emitted whole and compared, and any difference turns the
    reuse off (``whole``)."""

    DEPTH = 2  # mappings split into entries: the root and its children

    def __init__(self) -> None:
        self.pieces: dict = {}
        self.whole = False
        self.checked = False

    def text(self, data: dict) -> str:
        if self.whole:
            return _dump(data)
        text = "".join(self._entries(data, ()))
        if not self.checked:
            self.checked = True
            whole = _dump(data)
            if whole != text:
                self.whole = True
                return whole
        return text

    def _entries(self, data: dict, path: tuple):
        for key, value in data.items():
            if isinstance(value, dict) and value and len(path) < self.DEPTH:
                yield self._piece(path, key, _OPENS)
                yield from self._entries(value, (*path, key))
            else:
                yield self._piece(path, key, value)

    def _piece(self, path: tuple, key, value) -> str:
        """The text of ``{key: value}`` at ``path``, or of the line ``key:`` opening a
        mapping there (``value`` _OPENS)."""
        opens = value is _OPENS
        if type(value) is int and value:  # a plain scalar, always written as str(value)
            return self._piece(path, key, 0)[:-2] + f"{value}\n"
        cache_key = (path, repr(key), opens or repr(value))
        piece = self.pieces.get(cache_key)
        if piece is None:
            inner = {key: {"_": 0}} if opens else {key: value}
            for parent in reversed(path):
                inner = {parent: inner}
            text = _dump(inner)
            start = 0
            for _ in path:  # the lines opening the parents
                start = text.index("\n", start) + 1
            end = text.index("\n", start) + 1 if opens else len(text)
            if len(self.pieces) >= _KEPT:  # most are one job's own (its folder, overrides)
                self.pieces.clear()
            piece = self.pieces[cache_key] = text[start:end]
        return piece


_OPENS = object()
