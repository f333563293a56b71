"""How a user's mistake is told. ``Parser``: argparse for nnexp's subcommands
(``predict``, ``report``, ``verify``): a usage mistake (a missing folder, an unknown
flag, one word too many) is one line, as every other mistake is, with a pointer to the
command's ``--help`` instead of the usage block. ``closest``: the name a misspelt one
was likely meant as (an option, a CSV column)."""

from __future__ import annotations

import argparse
from typing import NoReturn


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} ({self.prog} --help shows its usage)\n")


def closest(name: str, names) -> str | None:
    """The one of ``names`` that ``name`` was likely meant as, the case aside or a
    letter wrong (``Label``: ``label``; ``optimiser``: ``optimizer``); None if none is."""
    import difflib

    lowered = {n.lower(): n for n in names}
    close = difflib.get_close_matches(name.lower(), lowered, n=1, cutoff=0.75)
    return lowered[close[0]] if close else None
