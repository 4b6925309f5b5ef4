"""The label curve past the `cpu` sample's 1,000 labels: 2,000 and 5,000 labelled reviews (issue 13).

Question: held out, past the sample's 1,000 labels, where do ULMFiT and TF-IDF meet?

The `cpu` profile's sample holds 1,000 labelled reviews, so `ulmfit run --curve` stops at 500. Its 6,000 LM-only
reviews come from the offline copy's labelled training reviews, so their labels are known: this script gives
4,000 of them their labels (2,000 a label), keeps the other 2,000 as unlabelled text and the run's 2,000 held-out
reviews as they are, so the folder holds the same 9,000 texts the run's LM read. Then `label_curve` trains the
points at 2,000 and 5,000 labels from the run's own stage 2 (copied, never trained again), scored on the same
held-out reviews as the curve's other points.

    python -m bench.experiments.curve_more [--sizes 2000 5000] [--models tfidf ulmfit probe scratch] [--seeds 0 1]

Run on 2026-11-29 with the defaults, then with `--sizes 1000` (the 1,000-label point drawn from the same pool,
with seeds, where the run has one classifier on its own 1,000).

Results: bench/experiments/results/curve_more.{csv,md,png}; points are cached in the copy's run folder, so a rerun
resumes.
"""
import argparse, json, random, shutil
from pathlib import Path
import pandas as pd
from fastai.text.all import get_text_files
from ulmfit_nb.data import get_profile, imdb_sample
from ulmfit_nb.runs import run_dir
from ulmfit_nb.few_labels import label_curve, curve_summary, CURVE_MODELS
from bench.experiments import BENCH, RESULTS
from bench.experiments.common import offline_labels

PROF = get_profile('cpu')
RUN = run_dir(PROF)
SAMPLE = imdb_sample(PROF)

def more_labels_folder(per_label:int=2000, seed:int=0) -> Path:
    "train/: the sample's labelled reviews plus `per_label` of its LM-only ones a label; test/: its held-out; unsup/: the rest."
    dest = SAMPLE.with_name(SAMPLE.name + '_more')
    if (dest/'done.json').exists(): return dest
    label = offline_labels()
    unsup = sorted((SAMPLE/'unsup').ls())
    by = {l: [f for f in unsup if label.get(f.read_text(encoding='utf-8')) == l] for l in ('neg', 'pos')}
    rng = random.Random(seed)
    picked = {l: set(rng.sample(fs, per_label)) for l, fs in by.items()}
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(SAMPLE/'train', dest/'train'); shutil.copytree(SAMPLE/'test', dest/'test')
    (dest/'unsup').mkdir()
    for l, fs in picked.items():
        for f in fs: shutil.copyfile(f, dest/'train'/l/f'more_{f.name}')
    for f in unsup:
        if not any(f in fs for fs in picked.values()): shutil.copyfile(f, dest/'unsup'/f.name)
    (dest/'done.json').write_text(json.dumps(dict(per_label=per_label, seed=seed, unsup=len((dest/'unsup').ls()))))
    return dest

def run_copy() -> Path:
    "A run folder holding the `cpu` run's forward stage 2 (results, vocab, encoder), for the new points' cache."
    out = RUN.with_name(RUN.name + '_curve_more')
    (out/'models').mkdir(parents=True, exist_ok=True)
    for f in ('lm_fwd.done.json', 'lm_fwd_frozen.done.json', 'config_fwd.json', 'vocab_fwd.json', 'profile.json'):
        if not (out/f).exists(): shutil.copyfile(RUN/f, out/f)
    if not (out/'models'/'lm_fwd_enc.pth').exists(): shutil.copyfile(RUN/'models'/'lm_fwd_enc.pth', out/'models'/'lm_fwd_enc.pth')
    res = json.loads((out/'lm_fwd.done.json').read_text())
    res.update(encoder=str(out/'models'/'lm_fwd_enc.pth'), vocab=str(out/'vocab_fwd.json'))
    (out/'lm_fwd.done.json').write_text(json.dumps(res, indent=1))
    return out

def plot(curve:pd.DataFrame):
    "The whole curve: the run's points (50 to 500 labels, bench/cpu_run/label_curve.csv) and these, in one plot."
    import matplotlib; matplotlib.use('Agg')
    from ulmfit_nb.few_labels import plot_label_curve
    run = pd.read_csv(BENCH/'cpu_run'/'label_curve.csv')
    both = pd.concat([run[run.labels < curve.labels.min()], curve]).sort_values('labels', kind='stable')
    both = both.sort_values('model', key=lambda c: c.map(CURVE_MODELS.index), kind='stable')  # the run's plot's order
    ax = plot_label_curve(both, title='Label efficiency at the cpu profile, 50 to 5,000 labels')
    ax.figure.savefig(RESULTS/'curve_more.png', dpi=100, bbox_inches='tight')

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--sizes', nargs='*', type=int, default=[2000, 5000])
    p.add_argument('--models', nargs='*', default=['tfidf', 'ulmfit', 'probe', 'scratch'])
    p.add_argument('--seeds', nargs='*', type=int, default=[0, 1])
    a = p.parse_args()
    path, out = more_labels_folder(), run_copy()
    print(path, len(get_text_files(path, folders=['train'])), 'labelled reviews; run folder', out, flush=True)
    rows = []
    for m in a.models:  # one model at a time, so the cheap ones are in the table first
        rows.append(label_curve(path, PROF, out, sizes=a.sizes, seeds=a.seeds, models=(m,)))
        curve = pd.concat(rows)
        if (RESULTS/'curve_more.csv').exists():  # points of an earlier invocation (other sizes) stay in the table
            old = pd.read_csv(RESULTS/'curve_more.csv')
            keep = ~old.set_index(['model', 'labels', 'seed']).index.isin(curve.set_index(['model', 'labels', 'seed']).index)
            curve = pd.concat([old[keep], curve]).sort_values(['labels'], kind='stable')
        RESULTS.mkdir(exist_ok=True)
        curve.to_csv(RESULTS/'curve_more.csv', index=False)
        s = curve_summary(curve)
        md = ['# The label curve at 1,000 to 5,000 labels (`cpu` profile, the run\'s own stage 2)', '',
              'Made by `python -m bench.experiments.curve_more` (2 cores, offline). Labelled reviews: the sample\'s 1,000 plus '
              '4,000 of its LM-only reviews given their labels; scored on the run\'s 2,000 held-out reviews, as the '
              'curve\'s other points. Mean of the seeds, ± half their range; minutes per point.', '',
              '| model | labels | accuracy | seeds | minutes a point |', '|---|---|---|---|---|']
        for _, r in s.iterrows():
            model, n = r['model'], int(r['labels'])
            mins = curve[(curve.model == model) & (curve.labels == n)].seconds.mean() / 60
            md.append(f"| {model} | {n:,} | {r['mean']:.3f} ± {(r['max'] - r['min'])/2:.3f} | {int(r['count'])} | {mins:.1f} |")
        (RESULTS/'curve_more.md').write_text('\n'.join(md) + '\n')
        print('\n'.join(md), flush=True)
    plot(pd.read_csv(RESULTS/'curve_more.csv'))

if __name__ == '__main__': main()
