"""Finished experiments at the `cpu` profile, each a script beside its results (index: `bench/experiments/README.md`).

Run one from the repository root as `python -m bench.experiments.NAME ...`; their shared code (the `cpu` run they
start from, the validation block they are judged on, its scoring) is `bench.experiments.common`.
"""
from pathlib import Path

BENCH = Path(__file__).parent.parent          # bench/
RESULTS = Path(__file__).parent/'results'     # every experiment's result files
RUNS = Path(__file__).parent/'runs'           # run folders the experiments train in (git-ignored)
