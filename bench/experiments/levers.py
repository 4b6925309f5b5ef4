"""Issue 13's levers at the `cpu` profile, each judged on a validation block carved from the labelled reviews.

Question: under gradual unfreezing, does any one change within a CPU's budget move the 1,000-label classifier?

    python -m bench.experiments.levers [arm ...] [--seeds 0 1] [--name levers]

The validation block (`bench.experiments.common`): the course's held-out reviews choose nothing, so every arm here
trains on the cpu run's 1,000 labelled reviews and is scored on 1,000 *other* labelled reviews (500 per label) drawn
from the cpu sample's unlabelled LM text, whose labels the offline IMDb copy knows. Their text was read by the LM, as
the held-out reviews' text is. Arms:

- `base`       the cpu run's stage-2 encoder, the profile's gradual unfreezing (1, 1, 1, 2 epochs)
- `early_stop` the same encoder; stage 4 up to 6 epochs with early stopping (patience 2) on 200 of the 1,000 labels,
               keeping the best epoch (the classifier learns from the other 800)
- `long4`      the same encoder and all 1,000 labels, stage 4 twice as long (4 epochs instead of 2), no stopping
- `all_text`   stage 2 from the cpu run's frozen-epoch LM (same vocab), then one unfrozen pass over *all* the offline
               movie-review text (25,000 IMDb reviews + 8,530 Rotten Tomatoes snippets) instead of two passes over the
               sample's 9,000 reviews; then the `base` classifier
- `self_train` the cpu run's forward classifier labels the sample's other 5,000 LM-only reviews; its 500 most confident
               per label join the 1,000 labels and a fresh classifier trains from the `base` encoder; TF-IDF gets the
               same treatment (`ulmfit_nb.few_labels.self_train`)
- `self_train_ens` the same, with the forward + backward ensemble as the teacher (trains the cpu run's backward LM
               and classifier first if they are missing: about 40 minutes on 2 cores)
- `no_eval_text` stage 2 as the cpu run's (same profile, same schedule) but the LM never reads the validation block's
               reviews; then the `base` classifier on that LM's vocab. Against `base`, it measures what letting the LM
               read the texts it is later judged on buys (the course's LM reads its held-out reviews' text, as
               fastai's IMDb example does)
- `gpu_stage2` a stage-2 LM fine-tuned on a GPU on every offline review text (25,000 IMDb reviews + 8,530
               Rotten Tomatoes snippets; `bench/gpu_stage2.py`, 1 frozen + 1 unfrozen epoch, all the lease allowed),
               from bench/gpu/stage2/ (its weights are git-ignored: remake them with that script); then the `base`
               classifier
- `plus_tfidf` the `base` classifier's probabilities averaged with TF-IDF + LR's (same labels): beyond ULMFiT, a
               test of whether the LSTM knows anything about sentiment that the bag of words does not
- `probe_fwd`  no stage 3: logistic regression (the linear probe of 06) on the frozen stage-2 encoder's pooled
               features, all three LSTM layers; the cpu run's probes on its held-out reviews put this 2 points above
               its trained classifier. Deterministic, so one seed says all
- `probe_fwd_bwd` the same on the forward and backward encoders' features side by side
- `probe_clas_fwd_bwd` the same on the *trained* forward and backward classifiers' features (stage 3 kept, head
               replaced by logistic regression on all layers)
- `drop1`, `drop03`, `drop01`, `lr1e-2`, `lr4e-2`, `bs16`  the `base` classifier with one stage-3 setting changed:
               dropout multiplier 1.0, 0.3 or 0.1 instead of 0.5 (more or less regularisation for 1,000 labels), peak
               lr 1e-2 (the paper's) or 4e-2 instead of 2e-2, batches of 16 instead of 32 (twice the optimizer steps
               per epoch)
- `tfidf`      TF-IDF + logistic regression on the same 1,000 labels (reference)

Results go to bench/experiments/results/NAME.csv (resumable, one row per arm and seed) and NAME.md. Needs a finished
`ulmfit run --profile cpu` (its run folder); stage 2 is not bit-for-bit reproducible on a CPU, so arms measured on a
new run go under a new name with `base` again (the stage-3 settings, 2026-11-28: `tfidf base drop1 lr1e-2 bs16 drop03
--name stage3`, then `drop01 lr4e-2 --name stage3`).
"""
import argparse, dataclasses, json, time
from pathlib import Path

import pandas as pd
from fastai.text.all import *
from ulmfit_nb.finetune import finetune_lm
from ulmfit_nb.classifier import clas_learner, gradual_unfreeze, UNFREEZE, load_classifier, clas_dls
from ulmfit_nb.few_labels import NoValidation, curve_dls, self_train, ensemble_probs, most_confident
from ulmfit_nb.evaluate import tfidf_accuracy, tfidf_corpus, tfidf_fit, test_files, read_texts, pooled_features, probe_accuracy
from bench.experiments import BENCH, RESULTS, RUNS
from bench.experiments.common import (PROF, CPU_OUT, SAMPLE, DATA, val_folder, self_train_folder, _with_unlabelled, vocab,
                                      arm_dir, all_text_encoder, score, stop_dls, fit_stopped, offline_labels, table)

def pseudo_label_accuracy(path, teachers) -> dict:
    "How often the teachers' picks (the pseudo-labels) are right: the offline copy knows the pool's labels."
    truth = offline_labels()
    pool = sorted(get_text_files(path, folders=['unsup']))
    texts = read_texts(pool)
    probs = ensemble_probs(teachers, texts)
    picked = most_confident(probs, pool, ['neg', 'pos'], 500)
    right = [truth[f.read_text(encoding='utf-8')] == l for f, l in picked.items()]
    all_right = [truth[t] == ['neg', 'pos'][int(p.argmax())] for t, p in zip(texts, probs)]
    return dict(picked=len(picked), picked_accuracy=sum(right)/len(right), pool=len(pool), pool_accuracy=sum(all_right)/len(all_right))

def no_eval_text_folder() -> Path:
    "The cpu sample without the validation block's reviews in unsup/ (train/ and test/ as they are)."
    return _with_unlabelled(DATA/'imdb_movie_reviews_cpu_noeval', SAMPLE)

def no_eval_text_encoder() -> tuple:
    "Stage 2 of the `no_eval_text` arm: `finetune_lm` at the cpu profile on the sample minus the validation block."
    out = RUNS/'no_eval_text'
    lm = finetune_lm(no_eval_text_folder(), PROF, out)
    return Path(lm['encoder']), out, {k: lm[k] for k in ('ppl', 'accuracy', 'vocab_sz', 'wall_time_s')}

GPU_STAGE2 = BENCH/'gpu'/'stage2'

def gpu_stage2_encoder() -> tuple:
    "The `gpu_stage2` arm's run folder, holding the GPU-made stage-2 LM, taken up as a ready-made stage 2 (lesson 03)."
    out = RUNS/'gpu_stage2'
    res = finetune_lm(SAMPLE, dataclasses.replace(PROF, stage2=str(GPU_STAGE2/'fwd')), out)
    return Path(res['encoder']), out

HYPER = {'drop1': dict(drop_mult=1.0), 'drop03': dict(drop_mult=0.3), 'drop01': dict(drop_mult=0.1),
         'lr1e-2': dict(clas_lr=1e-2), 'lr4e-2': dict(clas_lr=4e-2), 'bs16': dict(bs=16)}

def classifier(arm, enc, seed, path, out=None) -> dict:
    "Train the classifier of `arm` from encoder `enc` with `seed` (in run folder `out`); validation accuracy and time."
    start, out = time.time(), out or arm_dir(arm)
    prof = dataclasses.replace(PROF, **HYPER.get(arm, {}))
    train = sorted(get_text_files(path, folders=['train']))
    set_seed(seed)
    if arm == 'early_stop': dls = stop_dls(path, vocab(out), train, seed)
    else: dls = curve_dls(path, vocab(out), train, prof, bs=prof.bs)
    learn = clas_learner(dls, str(enc), prof, out)
    r = dict(arm=arm, seed=seed)
    with learn.no_bar(), learn.no_logging():
        if arm == 'early_stop':
            with learn.added_cbs(NoValidation()):
                gradual_unfreeze(learn, dataclasses.replace(PROF, clas_epochs=PROF.clas_epochs[:3]), measure=False)
            learn.unfreeze()
            lr = PROF.clas_lr * UNFREEZE[3][1]
            st = fit_stopped(learn, 6, slice(lr/2.6**4, lr), f'es_seed{seed}')
            r.update(stage4_epochs=len(st['stop_accuracies']), **st)
        else:
            if arm == 'long4': prof = dataclasses.replace(prof, clas_epochs=(1, 1, 1, 4))
            with learn.added_cbs(NoValidation()): gradual_unfreeze(learn, prof, measure=False)
    if arm == 'plus_tfidf':
        valid = test_files(path)
        y = np.array([f.parent.name for f in valid])
        with learn.no_bar(): p_u = learn.get_preds(dl=learn.dls.test_dl(valid))[0].float().numpy()
        vec, lr = tfidf_fit(train, tfidf_corpus(SAMPLE))
        p_t = lr.predict_proba(vec.transform(read_texts(valid)))
        labels = list(learn.dls.vocab[1]); assert labels == list(lr.classes_), (labels, lr.classes_)
        acc = lambda p: float((np.array(labels)[p.argmax(1)] == y).mean())
        r.update(accuracy=acc((p_u + p_t) / 2), ulmfit_alone=acc(p_u), tfidf_alone=acc(p_t),
                 seconds=round(time.time() - start, 1))
        return r
    r.update(accuracy=score(learn, path), seconds=round(time.time() - start, 1))
    return r

PROBES = dict(probe_fwd=(('fwd', 'finetuned'),), probe_fwd_bwd=(('fwd', 'finetuned'), ('bwd', 'finetuned')),
              probe_clas_fwd_bwd=(('fwd', 'clas_fwd'), ('bwd', 'clas_bwd')))

def probe(arm, seed, path) -> dict:
    "Logistic regression on all-layer pooled features of the arm's frozen encoders (side by side), on the validation block."
    start, feats = time.time(), {}
    for d, enc in PROBES[arm]:
        bw = d == 'bwd'
        dls = clas_dls(path, json.loads((CPU_OUT/f'vocab_{d}.json').read_text()), PROF, backwards=bw)
        if enc == 'finetuned': learn = clas_learner(dls, 'finetuned', PROF, CPU_OUT, backwards=bw)
        else:
            learn = clas_learner(dls, None, PROF, CPU_OUT, backwards=bw)
            learn.load(enc, with_opt=False, weights_only=True)
        for split, ds in (('train', dls.train_ds), ('valid', dls.valid_ds)):
            files, y = [str(f) for f in ds.items], np.array([int(t) for _, t in ds])
            if split in feats: assert (files, list(y)) == feats[split][1:], 'fwd and bwd items differ'
            f = np.concatenate(pooled_features(learn, ds), 1)
            feats[split] = (np.concatenate([feats[split][0], f], 1) if split in feats else f, files, list(y))
    (xt, _, yt), (xv, _, yv) = feats['train'], feats['valid']
    return dict(arm=arm, seed=seed, accuracy=probe_accuracy(xt, yt, xv, yv), n_features=xt.shape[1],
                seconds=round(time.time() - start, 1))

def tfidf(seed, path) -> dict:
    start = time.time()
    acc = tfidf_accuracy(sorted(get_text_files(path, folders=['train'])), test_files(path), tfidf_corpus(SAMPLE))
    return dict(arm='tfidf', seed=seed, accuracy=acc, seconds=round(time.time() - start, 1))

def report(rows, name='levers') -> str:
    "NAME.md: what was run, the table, and the side measurements."
    how = 'python -m bench.experiments.levers' + ('' if name == 'levers' else f' ARMS --name {name}')  # the arms: see the docstring
    md = ['# Levers at the `cpu` profile, judged on a validation block', '',
          f'Made by `{how}` (2 cores, offline). Every arm trains on the cpu run\'s 1,000 labelled reviews; '
          'accuracy is on 1,000 other labelled reviews (500 per label) from the sample\'s LM-only text, never on the '
          'held-out reviews. Arms are described in the script\'s docstring; `06a_few_labels` discusses them.', '', table(rows), '']
    if name == 'levers': md += ['Where an arm\'s two seeds agree to the review (± 0.0000), they still trained differently: the seed '
                                'changes the head\'s first weights and the batch order (checked on 2026-11-29). With the encoder '
                                'frozen for three of the four stages, gradual unfreezing moved little between seeds.', '']
    for what, f in (('all_text stage 2', 'all_text_lm.json'), ('no_eval_text stage 2', 'no_eval_text_lm.json'),
                    ('self-training pseudo-labels', 'pseudo_labels.json'),
                    ('self-training pseudo-labels, fwd + bwd teacher', 'pseudo_labels_ens.json')):
        if name == 'levers' and (RESULTS/f).exists(): md += [f'{what}: `{json.loads((RESULTS/f).read_text())}`', '']
    return '\n'.join(md)

def main():
    p = argparse.ArgumentParser()
    p.add_argument('arms', nargs='*', default=['tfidf', 'base', 'early_stop', 'long4', 'self_train', 'all_text'])  # and self_train_ens
    p.add_argument('--seeds', nargs='*', type=int, default=[0, 1])
    p.add_argument('--name', default='levers', help='results go to bench/experiments/results/NAME.{json,csv,md} (a new cpu run: a new name, and base again)')
    a = p.parse_args()
    RESULTS.mkdir(exist_ok=True)
    res_f = RESULTS/f'{a.name}.json'
    rows = json.loads(res_f.read_text()) if res_f.exists() else []
    path = val_folder()
    for arm in a.arms:
        for seed in a.seeds:
            if any(r['arm'] == arm and r['seed'] == seed for r in rows): continue
            if arm == 'tfidf': r = tfidf(seed, path)
            elif arm in PROBES: r = probe(arm, seed, path)
            elif arm in ('self_train', 'self_train_ens'):
                st_path, teachers = self_train_folder(), [load_classifier(PROF, CPU_OUT)]
                if arm == 'self_train_ens': teachers.append(load_classifier(PROF, CPU_OUT, backwards=True))
                pl = RESULTS/('pseudo_labels.json' if arm == 'self_train' else 'pseudo_labels_ens.json')
                if not pl.exists(): pl.write_text(json.dumps(pseudo_label_accuracy(st_path, teachers), indent=1))
                st = self_train(st_path, teachers, PROF, arm_dir(arm), encoder=str(CPU_OUT/'models'/'lm_fwd_enc.pth'),
                                vocab=vocab(), seed=seed)
                r = dict(arm=arm, seed=seed, accuracy=st['student'], seconds=st['seconds'], teacher=st['teacher'],
                         tfidf_before=st['tfidf'], tfidf_self=st['tfidf_self'], pseudo=st['pseudo'])
            else:
                enc, out = CPU_OUT/'models'/'lm_fwd_enc.pth', None
                if arm == 'no_eval_text':
                    enc, out, lm = no_eval_text_encoder()
                    (RESULTS/'no_eval_text_lm.json').write_text(json.dumps(lm, indent=1))
                if arm == 'gpu_stage2': enc, out = gpu_stage2_encoder()
                if arm == 'all_text':
                    enc, lm = all_text_encoder()
                    (RESULTS/'all_text_lm.json').write_text(json.dumps(lm, indent=1))
                r = classifier(arm, enc, seed, path, out)
            print(r, flush=True)
            rows.append(r); res_f.write_text(json.dumps(rows, indent=1))
            pd.DataFrame(rows).to_csv(RESULTS/f'{a.name}.csv', index=False)
            (RESULTS/f'{a.name}.md').write_text(report(rows, a.name))
    (RESULTS/f'{a.name}.md').write_text(report(rows, a.name))
    print(table(rows))

if __name__ == '__main__': main()
