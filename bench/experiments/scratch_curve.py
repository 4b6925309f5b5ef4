"""Is the label curve's "from scratch" classifier given a fair chance? At a curve point it trains like the ULMFiT
one: gradual unfreezing, so for three of the four stages its random encoder stays frozen and only the head learns.
A random encoder has nothing to protect, so the fair alternative trains every layer from the first step, for the
same number of epochs, at one learning rate. This script scores both on the validation block of
`bench.experiments.common` (1,000 labelled reviews outside the cpu run's held-out ones), 2 seeds.

    python -m bench.experiments.scratch_curve [SIZES...] [--arms ARMS...] [--name NAME] [--ensemble A+B ...] [--seeds 0 1]

Arms: `gradual` (the curve's schedule until 2026-11-28); `all_LR` (every layer trained from the start,
fit_one_cycle over the same total epochs at lr LR, the ULMFiT momentum schedule). Run on 2026-11-28 as
`python -m bench.experiments.scratch_curve` (500 labels: gradual, all_2e-2, all_5e-3), then
`python -m bench.experiments.scratch_curve 50 100 200 --arms all_5e-3 all_2e-3` and
`python -m bench.experiments.scratch_curve 500 --arms all_2e-3`;
lr 5e-3 scored best on the mean of the four label counts and became 06a's SCRATCH_LR.

Defaults: 500 labels, the three arms above. An arm `all_LR` trains unfrozen at any LR, `ulmfit_all_LR` the same from
the stage-2 encoder, `ulmfit_disc_LR` the same with discriminative rates slice(LR/2.6**4, LR), `ulmfit_gradual` is the
curve's ULMFiT point, `ulmfitbwd_all_LR` the all-layers classifier from the *backward* stage-2 encoder; options after
a colon: `:e8` 8 epochs in all instead of the profile's 5, `:d0.3` dropout multiplier 0.3 instead of 0.5, `:b16`
batches of 16 instead of 32, `:s8` up to 8 epochs in one cycle, stopped early (patience 2) on 200 of the labels,
which then do not train, the best epoch kept. Rows go to bench/experiments/results/NAME.json (default
scratch_curve), the table to NAME.md. Each point's validation probabilities go to results/NAME_probs/ (git-ignored)
and `--ensemble A+B ...` adds rows averaging them (per seed; `tfidf` is TF-IDF + LR on the same labels, `A@s`
averages A's seeds 0 and 1: an ensemble of two seeds, a fair one only when the point uses every label, as at 1,000,
since below that the seeds draw different labels). On the fresh cpu run of 2026-11-28:
`python -m bench.experiments.scratch_curve 50 100 --arms ulmfit_gradual ulmfit_all_5e-3 ulmfit_all_2e-3 --name ulmfit_all`
(does ULMFiT itself do better with every layer trained from the start when labels are few?). Early stopping under
the all-layers schedule (2026-11-29): `python -m bench.experiments.scratch_curve 1000 --seeds 0 1 2 --arms
ulmfit_all_5e-3:s8 --name early_stop_all`, against `ulmfit_all_5e-3` of `--name ensembles` (the same seeds and block).
Needs a finished `ulmfit run --profile cpu`.
"""
import argparse, dataclasses, json, time
from pathlib import Path
import pandas as pd
from fastai.text.all import *
from bench.experiments import RESULTS, common
from ulmfit_nb.evaluate import tfidf_fit, tfidf_corpus, read_texts, test_files
from ulmfit_nb.few_labels import label_subset, curve_classifier, SCRATCH_LR
from ulmfit_nb.classifier import clas_learner

def _probs_file(name, n, seed, arm) -> Path: return RESULTS/f'{name}_probs'/f"{arm.replace(':', '_')}_{n}_seed{seed}.npy"

def save_probs(name, n, seed, arm, learn):
    "The point's probabilities on the validation block, in `test_files` order (get_preds undoes the sorted order)."
    assert [str(f) for f in learn.dls.valid_ds.items] == [str(f) for f in test_files(common.val_folder())]
    assert list(learn.dls.vocab[1]) == ['neg', 'pos']
    with learn.no_bar(): probs = learn.get_preds(dl=learn.dls.valid)[0].float().numpy()
    f = _probs_file(name, n, seed, arm); f.parent.mkdir(exist_ok=True); np.save(f, probs)

def tfidf_probs(n, seed, val) -> np.ndarray:
    vec, lr = tfidf_fit(label_subset(get_text_files(val, folders=['train']), n, seed), tfidf_corpus(common.SAMPLE))
    assert list(lr.classes_) == ['neg', 'pos']
    return lr.predict_proba(vec.transform(read_texts(test_files(val))))

def ensemble_acc(name, n, seed, ens, val) -> float:
    "Accuracy of the average of the members' probabilities (`tfidf`, an arm, or `arm@s`: both seeds of an arm)."
    probs = []
    for m in ens.split('+'):
        if m == 'tfidf': probs.append(tfidf_probs(n, seed, val))
        elif m.endswith('@s'): probs += [np.load(_probs_file(name, n, s, m[:-2])) for s in (0, 1)]
        else: probs.append(np.load(_probs_file(name, n, seed, m)))
    y = np.array([f.parent.name == 'pos' for f in test_files(val)])
    return float(((np.mean(probs, 0)[:, 1] > 0.5) == y).mean())

def early_stopped(val, vocab, train, prof, seed, lr, max_epochs, n_stop=200) -> tuple:
    "Every layer from the stage-2 encoder, one cycle over up to `max_epochs`, stopped (patience 2) on `n_stop` of the labels and the best epoch kept; the other labels train."
    set_seed(seed)
    dls = common.stop_dls(val, vocab, train, seed, n_stop, bs=prof.bs, num_workers=0)
    learn = clas_learner(dls, 'finetuned', prof, common.CPU_OUT)
    learn.unfreeze()
    with learn.no_bar(), learn.no_logging(): return learn, common.fit_stopped(learn, max_epochs, lr, f'es_all_seed{seed}')

def main(sizes, seeds=(0, 1), arms=(), name='scratch_curve', ensembles=()):
    OUT = RESULTS/f'{name}.json'
    prof = common.PROF
    val, vocab = common.val_folder(), common.vocab()
    files = get_text_files(val, folders=['train'])
    rows = json.loads(OUT.read_text()) if OUT.exists() else []
    done = {(r['n'], r['seed'], r['arm']) for r in rows}
    for n, seed, arm in [(n, seed, arm) for n in sizes for seed in seeds for arm in arms]:
        if (n, seed, arm) in done: continue
        t, train = time.time(), label_subset(files, n, seed)
        enc, gradual = 'finetuned' if arm.startswith('ulmfit') else None, arm in ('gradual', 'ulmfit_gradual')
        bwd = arm.startswith('ulmfitbwd')
        base, *opts = arm.split(':')  # options after the arm: eN (N epochs in all, N divisible by 4), dX (drop_mult X)
        lr = SCRATCH_LR if gradual else float(base.split('_')[-1])  # gradual unfreezing has its own rates
        if '_disc_' in arm: lr = slice(lr/2.6**4, lr)  # discriminative rates, as in gradual unfreezing's later stages
        p = prof
        for o in opts:
            if o[0] == 'e': p = dataclasses.replace(p, clas_epochs=(int(o[1:])//4,)*4)
            if o[0] == 'd': p = dataclasses.replace(p, drop_mult=float(o[1:]))
            if o[0] == 'b': p = dataclasses.replace(p, bs=int(o[1:]))
        extra = {}
        if (stop := next((int(o[1:]) for o in opts if o[0] == 's'), None)):
            learn, extra = early_stopped(val, vocab, train, p, seed, lr, stop)
            epochs, acc = [len(extra['stop_accuracies'])], common.score(learn, val)
        else:
            learn, epochs = curve_classifier(val, common.vocab(direction='bwd') if bwd else vocab, train, p, common.CPU_OUT,
                                             enc, seed, gradual=gradual, lr=lr, backwards=bwd)
            with learn.no_bar(): acc = float(learn.validate()[1])
            save_probs(name, n, seed, arm, learn)
        rows.append(dict(n=n, seed=seed, arm=arm, epochs=list(epochs), acc=acc, s=round(time.time() - t), **extra))
        print(rows[-1], flush=True); OUT.write_text(json.dumps(rows, indent=1))
    for ens in ensembles:
        for n in sizes:
            rs = [dict(n=n, seed=seed, arm=ens, epochs=[], acc=ensemble_acc(name, n, seed, ens, val), s=0) for seed in seeds]
            rows = [r for r in rows if (r['n'], r['arm']) != (n, ens)] + rs
    OUT.write_text(json.dumps(rows, indent=1))
    d = pd.DataFrame(rows)
    g = d.groupby(['n', 'arm'])
    md = ['# The label curve\'s classifiers: gradual unfreezing or every layer from the start', '',
          f'Validation block, mean of the seeds ± half range; made by `python -m bench.experiments.scratch_curve ... --name {name}` (see its docstring).', '',
          '| arm | labels | accuracy | seeds | seconds a point |', '|---|---|---|---|---|']
    md += [f"| {a} | {k} | {s.acc.mean():.4f} ± {(s.acc.max() - s.acc.min())/2:.4f} | {len(s)} | {s.s.mean():.0f} |" for (k, a), s in g]
    OUT.with_suffix('.md').write_text('\n'.join(md) + '\n'); print('\n'.join(md))

if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('sizes', nargs='*', type=int, default=[500])
    p.add_argument('--arms', nargs='+', default=['gradual', 'all_2e-2', 'all_5e-3'])
    p.add_argument('--name', default='scratch_curve', help='rows to bench/experiments/results/NAME.json, the table to NAME.md')
    p.add_argument('--ensemble', nargs='*', default=[], help='arms joined by +, averaged (tfidf, ARM, ARM@s)')
    p.add_argument('--seeds', nargs='+', type=int, default=[0, 1])
    a = p.parse_args(); main(a.sizes, seeds=a.seeds, arms=a.arms, name=a.name, ensembles=a.ensemble)
