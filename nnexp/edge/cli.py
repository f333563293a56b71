"""The ``nnexp`` command (and ``python -m nnexp``).

``nnexp [overrides]`` trains (``-m`` sweeps); a first word naming a subcommand runs it
instead: ``nnexp report SWEEP_DIR``, ``nnexp predict RUN_DIR [values]``,
``nnexp verify RUN_DIR|SWEEP_DIR``, ``nnexp check -m overrides`` (also
``nnexp -m overrides --check``). Overrides always
hold ``=`` and flags start with ``-``, so a subcommand's name cannot be mistaken for one.
"""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Callable


def _report(argv: list[str]) -> int:
    from ..sweep.report import main

    return main(argv)


def _predict(argv: list[str]) -> int:
    from ..run.predict import main

    return main(argv)


def _verify(argv: list[str]) -> int:
    from .verify import main

    return main(argv)


def _check(argv: list[str]) -> int:
    """``nnexp check [-m] overrides``: the sweep's pre-check alone (edge/sweep_check.py)."""
    train(["-m", *(a for a in argv if a not in ("-m", "--multirun")), "sweep_check=only"])
    return 0  # not reached: the check ends the process with its own status


SUBCOMMANDS: dict[str, Callable[[list[str]], int]] = {
    "report": _report,
    "predict": _predict,
    "verify": _verify,
    "check": _check,
}


def train(argv: list[str]) -> None:
    """Check the command line's overrides, then hand over to Hydra."""
    from ..run.execute import ask_git_early
    from ..run.setup import ConfigError

    if not any(a in ("-m", "--multirun") for a in argv):
        ask_git_early()  # a run records nnexp's commit: git answers while Hydra starts
    from .config import flags_first, preflight

    try:
        preflight(argv)
    except ConfigError as error:
        print(f"nnexp: error: {error}", file=sys.stderr)
        sys.exit(2)
    argv = flags_first(argv)
    from . import errors
    from .main import known_mode, lean_plugins
    from .main import main as hydra_main

    errors.install()  # Hydra's own failures as one line each
    # Hydra reads sys.argv itself; the program name it shows is nnexp's.
    sys.argv = ["nnexp", *argv]
    # The modules imported so far live as long as the process: out of the collector's
    # reach, its full collections during the run walk only what the run makes.
    gc.freeze()
    with known_mode(argv), lean_plugins(argv):
        hydra_main()


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv and argv[0] in SUBCOMMANDS:
            sys.exit(SUBCOMMANDS[argv[0]](argv[1:]))
        if "--check" in argv:  # Hydra has no such flag: nnexp -m ... --check is nnexp check ...
            sys.exit(_check([a for a in argv if a != "--check"]))
        train(argv)
    except KeyboardInterrupt:
        from .errors import INTERRUPTED

        print(f"\nnnexp: {INTERRUPTED}", file=sys.stderr)
        live = sys.modules.get("nnexp.sweep.live")  # loaded: a sweep with a live page
        # Its page says the sweep stopped, and stops reloading (a second Ctrl-C leaves
        # that to the page's heartbeat).
        if live is not None:
            with contextlib.suppress(KeyboardInterrupt):
                live.interrupted()
        sys.exit(130)  # 128 + SIGINT, as a shell reports it
    finally:
        # At exit Python collects every object once more, which the OS frees anyway: a
        # fifth of a short run's time. Frozen, they are left to the OS; exit handlers
        # (logging's flush, the pools' joins) still run.
        gc.freeze()
