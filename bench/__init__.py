"""The course's benchmarks (`bench/README.md`); finished experiments live in `bench.experiments`.

A package only so that `python -m bench.experiments.NAME`, run from the repository root, imports the experiments'
shared code as a normal module. The benchmarks at this level run as scripts: `python bench/run.py`.
"""
