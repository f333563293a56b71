"""``python -m nnexp``: check the command line's overrides, then hand over to Hydra."""
import sys

from .config import ConfigError, preflight


def main() -> None:
    try:
        preflight(sys.argv[1:])
    except ConfigError as error:
        print(f"nnexp: error: {error}", file=sys.stderr)
        sys.exit(2)
    from .app import main as hydra_main

    hydra_main()


if __name__ == "__main__":
    main()
