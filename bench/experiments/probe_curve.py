"""The label curve's `probe` model against TF-IDF, with 5 seeds, on the held-out reviews and on a validation block.

Question: with 5 seeds, where does the frozen-encoder probe stand against TF-IDF?

The cpu run's curve (`ulmfit run --profile cpu --curve`) has 2 seeds a point. This script draws 5 label sets per
count and scores, on the cpu run's frozen stage-2 encoders (forward; forward and backward side by side):
- `tfidf_C10`  TF-IDF + logistic regression as the curve fits it (C=10);
- `tfidf_cv`   the same with C chosen by cross-validation on the labels, as the probe chooses its own C;
- `probe_fwd`  logistic regression on the forward encoder's pooled features, all layers (the curve's `probe`);
- `probe_fwd_bwd` the same on the forward and backward encoders' features side by side.
Blocks: `heldout` is the course's held-out reviews (as the curve); `validation` is `bench.experiments.common`'s block
of 1,000 other labelled reviews, the one that decides. Labels come from the cpu sample's 1,000 (`label_subset`, nested).

    python -m bench.experiments.probe_curve

Rows go to bench/experiments/results/probe_curve.csv (resumable), the table to probe_curve.md.
Needs a finished `ulmfit run --profile cpu --full` (its forward and backward stage-2 encoders).
"""
import json
from pathlib import Path
import numpy as np, pandas as pd
from fastai.text.all import *
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from ulmfit_nb.data import get_profile, imdb_sample
from ulmfit_nb.runs import run_dir
from ulmfit_nb.classifier import clas_dls, clas_learner
from ulmfit_nb.evaluate import pooled_features, probe_accuracy, tfidf_vectorizer, tfidf_corpus, read_texts
from ulmfit_nb.few_labels import label_subset
from ulmfit_nb.finetune import finetune_lm
from bench.experiments import RESULTS, common

CSV, SIZES, SEEDS = RESULTS/'probe_curve.csv', (50, 100, 200, 500, 1000), 5
COLS = ['tfidf_C10', 'tfidf_cv', 'probe_fwd', 'probe_fwd_bwd']

def features(path, prof, out):
    "Forward and backward all-layer pooled features of `path`'s train/ and test/ reviews; their files and labels."
    feats = {}
    for d in ('fwd', 'bwd'):
        vocab = json.loads(Path(finetune_lm(imdb_sample(prof), prof, out, backwards=d == 'bwd')['vocab']).read_text())
        dls = clas_dls(path, vocab, prof, backwards=d == 'bwd')
        learn = clas_learner(dls, 'finetuned', prof, out, backwards=d == 'bwd')
        feats[d] = [np.concatenate(pooled_features(learn, ds), 1) for ds in (dls.train_ds, dls.valid_ds)]
    lbl = lambda ds: np.array([dls.vocab[1][int(y)] for _, y in ds])
    return feats, [str(f) for f in dls.train_ds.items], list(dls.valid_ds.items), lbl(dls.train_ds), lbl(dls.valid_ds)

def main():
    prof = get_profile('cpu'); out = run_dir(prof)
    rows = pd.read_csv(CSV).to_dict('records') if CSV.exists() else []
    done = {(r['block'], r['n'], r['seed']) for r in rows}
    blocks = dict(heldout=imdb_sample(prof), validation=common.val_folder())
    vec = None
    for bname, path in blocks.items():
        todo = [(n, s) for n in SIZES for s in range(SEEDS if n < 1000 else 1) if (bname, n, s) not in done]
        if not todo: continue
        vec = vec or tfidf_vectorizer(tfidf_corpus(blocks['heldout']))
        feats, files, vfiles, yt, yv = features(path, prof, out)
        xt_tf, xv_tf = vec.transform(read_texts(files)), vec.transform(read_texts(vfiles))
        idx = {f: i for i, f in enumerate(files)}
        X = dict(probe_fwd=feats['fwd'], probe_fwd_bwd=[np.concatenate(p, 1) for p in zip(feats['fwd'], feats['bwd'])])
        for n, seed in todo:
            sub = [idx[str(f)] for f in label_subset(files, n, seed)]
            r = dict(block=bname, n=n, seed=seed)
            r['tfidf_C10'] = float((LogisticRegression(C=10, max_iter=2000).fit(xt_tf[sub], yt[sub]).predict(xv_tf) == yv).mean())
            r['tfidf_cv'] = float(LogisticRegressionCV(Cs=10, max_iter=3000).fit(xt_tf[sub], yt[sub]).score(xv_tf, yv))
            for k, (a, b) in X.items(): r[k] = probe_accuracy(a[sub], yt[sub], b, yv)
            rows.append(r); print(r, flush=True)
            pd.DataFrame(rows).to_csv(CSV, index=False)
    report(pd.DataFrame(rows))

def report(d):
    g = d.groupby(['block', 'n'])[COLS]
    mean, half = g.mean(), (g.max() - g.min())/2
    md = ['# The curve\'s frozen-encoder probe against TF-IDF, 5 seeds', '', 'Made by `python -m bench.experiments.probe_curve` '
          '(its docstring says what each column is). Accuracy, mean of the seeds ± half their range; 1,000 labels is '
          'every label, one draw.', '']
    for b in ('validation', 'heldout'):
        md += [f'## {b}', '', '| labels | seeds | ' + ' | '.join(COLS) + ' |', '|---' * (len(COLS) + 2) + '|']
        for n in SIZES:
            if (b, n) not in mean.index: continue
            k = int(g.size().loc[(b, n)])
            md.append(f'| {n} | {k} | ' + ' | '.join(f'{mean.loc[(b, n), c]:.4f} ± {half.loc[(b, n), c]:.4f}' for c in COLS) + ' |')
        md.append('')
    (RESULTS/'probe_curve.md').write_text('\n'.join(md))
    print('\n'.join(md))

if __name__ == '__main__': main()
