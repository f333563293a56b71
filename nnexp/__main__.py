"""``python -m nnexp``: the same as the ``nnexp`` command."""

from .edge.cli import main

if __name__ == "__main__":
    main()
