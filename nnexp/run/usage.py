"""argparse for nnexp's subcommands (``predict``, ``report``, ``verify``): a usage mistake
(a missing folder, an unknown flag, one word too many) is one line, as every other
mistake is, with a pointer to the command's ``--help`` instead of the usage block."""

from __future__ import annotations

import argparse
from typing import NoReturn


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} ({self.prog} --help shows its usage)\n")
