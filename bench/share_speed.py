"""The exported classifier (lesson 09a) against the run folder it came from: load time, prediction throughput, and
the cost of word attributions.

Question: does a classifier loaded from its export folder (safetensors + JSON, `load_exported`) load and predict as
fast as the same classifier loaded from its run folder (`saved_classifier`, what `ulmfit predict` uses), and what does
integrated gradients cost per review?

    python bench/share_speed.py --profile tiny            # a minute on 2 cores
    python bench/share_speed.py --profile cpu --n 300     # needs a finished `ulmfit run --profile cpu`; a few minutes

Same texts (the run's first `--n` held-out reviews) for both, in one process. Loads alternate between the two sources,
`--repeats` times each after one warm-up load of each (the first load pays for spaCy's setup), and the medians are
reported; so are the wall times of a fresh process that imports, loads and predicts one review, as `ulmfit predict`
does. Attributions: `--ig-reviews` reviews at 64 and 32 steps. Prints JSON (and writes it with `--out`).
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path
import torch
from ulmfit_nb.data import get_profile, imdb_sample
from ulmfit_nb.runs import run_dir
from ulmfit_nb.evaluate import predict_texts, test_files
from ulmfit_nb.cli import saved_classifier
from ulmfit_nb.share import export_classifier, load_exported, attributions, token_ids

FRESH = """
import sys, time; t = time.perf_counter()
from ulmfit_nb.evaluate import predict_texts
{imp}
learn = {load}
predict_texts(learn, ['A wonderful film.'], progress=False)
print(time.perf_counter() - t)
"""


def timed(f):
    start = time.perf_counter(); r = f(); return r, time.perf_counter() - start


def fresh_process_s(imp, load, reps=2) -> float:
    "Median wall time of a new Python process that imports, loads the classifier and predicts one review."
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        subprocess.run([sys.executable, '-c', FRESH.format(imp=imp, load=load)], check=True, capture_output=True)
        out.append(time.perf_counter() - t)
    return round(statistics.median(out), 2)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--profile', default='tiny')
    p.add_argument('--n', type=int, default=200, help='held-out reviews to predict')
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--ig-reviews', type=int, default=5)
    p.add_argument('--out', type=Path)
    a = p.parse_args(argv)
    prof = get_profile(a.profile)
    out = run_dir(prof)
    texts = [f.read_text(encoding='utf-8') for f in test_files(imdb_sample(prof))][:a.n]
    dest = export_classifier(out, Path(tempfile.mkdtemp())/'clas')
    sources = {'run folder': lambda: saved_classifier(out), 'export folder': lambda: load_exported(dest)}
    for load in sources.values(): load()                                  # warm-up: spaCy, imports, file cache
    loads = {k: [] for k in sources}
    for _ in range(a.repeats):
        for k, load in sources.items(): loads[k].append(timed(load)[1])
    res = dict(profile=prof.name, run=str(out), n_texts=len(texts), torch_threads=torch.get_num_threads(), sources={})
    for k, load in sources.items():
        learn = load()
        predict_texts(learn, texts[:8], progress=False)                   # warm-up
        rates = [len(texts) / timed(lambda: predict_texts(learn, texts, progress=False))[1] for _ in range(2)]
        res['sources'][k] = dict(load_s=round(statistics.median(loads[k]), 3), reviews_per_s=round(max(rates), 1))
    res['sources']['run folder']['fresh_process_s'] = fresh_process_s(
        'from ulmfit_nb.cli import saved_classifier', f'saved_classifier({str(out)!r})')
    res['sources']['export folder']['fresh_process_s'] = fresh_process_s(
        'from ulmfit_nb.share import load_exported', f'load_exported({str(dest)!r})')
    learn = load_exported(dest)
    ig = []
    for t in texts[:a.ig_reviews]:
        n_tok = token_ids(learn, t).shape[1]
        for steps in (64, 32):
            r, s = timed(lambda: attributions(learn, t, n_steps=steps))
            ig.append(dict(tokens=n_tok, steps=steps, seconds=round(s, 2), gap=round(r.gap, 4), delta=round(r.score - r.base, 3)))
    res['attributions'] = ig
    res['attributions_s_per_review'] = {s: round(statistics.mean(r['seconds'] for r in ig if r['steps'] == s), 2) for s in (64, 32)}
    res['mean_tokens'] = round(statistics.mean(r['tokens'] for r in ig if r['steps'] == 64))
    print(json.dumps(res, indent=1))
    if a.out: a.out.write_text(json.dumps(res, indent=1))


if __name__ == '__main__': main()
