"""nnexp against the tools a user would pick instead, from tutorial size to 100 000 points.

  1. tutorial size: red/blue (15 points, 2-4-1 sigmoid, full batch) against a hand-written
     NumPy loop, scikit-learn's MLPClassifier and PyTorch on the CPU;
  2. growing data: 1 000 / 20 000 / 100 000 generated points with [16,16] / [64,64] /
     [128,128] tanh layers and binary cross-entropy, against PyTorch on two CPU threads,
     in float64 and float32;
  3. overhead: what a run spends outside training, alone and as a job of a multirun.

Peers come with the bench extra (``pip install -e ".[bench]"``); one that is not
installed is skipped with a note. Prints one table and writes it to
``benchmarks/results.csv`` (machine facts first, as ``# key: value`` lines). Takes about
ten minutes on two cores; ``--quick`` runs a smoke test in about two.

    python benchmarks/run_all.py [--sections 1,2,3] [--quick] [--markdown]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import growing_data  # noqa: E402
import overhead  # noqa: E402
import tutorial_peers  # noqa: E402
from _common import RESULTS_CSV, machine, markdown_table, print_table, write_csv  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", default="1,2,3", help="comma-separated: 1, 2, 3")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer epochs and repeats: a smoke test, not a measurement",
    )
    parser.add_argument("--csv", type=Path, default=RESULTS_CSV)
    parser.add_argument(
        "--markdown", action="store_true", help="also print the table as Markdown, for the README"
    )
    args = parser.parse_args()
    sections = {s.strip() for s in args.sections.split(",")}
    info = machine()  # before any timing: the load average the run started under
    started = time.perf_counter()
    rows = []
    if "1" in sections:
        # Many short repeats: the best of each is likelier to have found a quiet moment.
        rows += tutorial_peers.run(
            epochs=2_000 if args.quick else 5_000, repeats=2 if args.quick else 20
        )
    if "2" in sections:
        rows += growing_data.run(repeats=1 if args.quick else 3, quick=args.quick)
    if "3" in sections:
        rows += overhead.run(jobs=5 if args.quick else 20, repeats=1 if args.quick else 2)
    info["load_average_after"] = machine()["load_average"]
    info["benchmark_minutes"] = f"{(time.perf_counter() - started) / 60:.1f}"
    print_table(rows, info)
    write_csv(rows, info, args.csv)
    print(f"written: {args.csv}")
    if args.markdown:
        print()
        print(markdown_table(rows))


if __name__ == "__main__":
    main()
