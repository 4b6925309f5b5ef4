"""Three ways to train stage 3 on one fine-tuned encoder, judged on a validation block (lesson 05's arms table).

Question: on the `cpu` profile's 1,000 labelled reviews and its fine-tuned stage-2 encoder, how do fastai's
`fine_tune` (what most fastai users call: 1 frozen epoch, then every layer at `slice(lr/200, lr/2)`), the paper's
gradual unfreezing (`freeze_to(-2)`, `-3`, `unfreeze`, rates `slice(lr/2.6**4, lr)`) and every layer trained from
the first step (one cycle, the `cpu` profile's schedule) compare? Each arm gets the same 5 epochs.

    ULMFIT_OUT=RUN python -m bench.experiments.stage3_arms [--seeds 0 1]     # RUN: a finished `cpu` run folder (stage 2 done)

The validation block is `bench.experiments.common`'s: 1,000 other labelled reviews (500 a label) from the cpu
sample's LM-only text, never the held-out reviews. Results: bench/experiments/results/stage3_arms.{json,md}
(resumable).
"""
import argparse, json, time
import pandas as pd
from fastai.text.all import *
from ulmfit_nb.classifier import clas_learner, gradual_unfreeze, all_layers, FINE_TUNE_LR  # fastai's text tutorial: fine_tune(4, 1e-2)
from ulmfit_nb.few_labels import NoValidation, curve_dls
from bench.experiments import RESULTS, common  # the validation block, the cpu run and the scoring
from bench.experiments.common import PROF, CPU_OUT, val_folder, vocab, score

ARMS = ('fine_tune', 'gradual', 'all')

def train(arm:str, seed:int, path) -> dict:
    start = time.time()
    set_seed(seed)
    dls = curve_dls(path, vocab(), sorted(get_text_files(path, folders=['train'])), PROF, bs=PROF.bs)
    learn = clas_learner(dls, str(CPU_OUT/'models'/'lm_fwd_enc.pth'), PROF, common.arm_dir(f'stage3_{arm}'))
    n = sum(PROF.clas_epochs)
    with learn.no_bar(), learn.no_logging(), learn.added_cbs(NoValidation()):
        if arm == 'fine_tune': learn.fine_tune(n - 1, FINE_TUNE_LR)
        elif arm == 'gradual': gradual_unfreeze(learn, PROF, measure=False)
        else: all_layers(learn, PROF, measure=False)
    return dict(arm=arm, seed=seed, accuracy=score(learn, path), seconds=round(time.time() - start, 1))

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--seeds', nargs='*', type=int, default=[0, 1])
    a = p.parse_args()
    res_f = RESULTS/'stage3_arms.json'
    rows = json.loads(res_f.read_text()) if res_f.exists() else []
    path = val_folder()
    for seed in a.seeds:
        for arm in ARMS:
            if any(r['arm'] == arm and r['seed'] == seed for r in rows): continue
            r = train(arm, seed, path); print(r, flush=True)
            rows.append(r); res_f.write_text(json.dumps(rows, indent=1))
    md = ['# Stage 3 three ways on one encoder, `cpu` profile, validation block', '',
          f'Made by `ULMFIT_OUT=RUN python -m bench.experiments.stage3_arms` (2 cores, offline); RUN: the cpu run whose stage 2 '
          f'ships as `--stage2 shipped`. 1,000 labelled reviews, 5 epochs an arm; fine_tune: `learn.fine_tune(4, {FINE_TUNE_LR:g})`; '
          f'gradual: lr {PROF.clas_lr:g}, epochs {"/".join(map(str, PROF.clas_epochs))}; all: one cycle at {PROF.clas_all_lr:g}.', '',
          common.table(rows), '']
    (RESULTS/'stage3_arms.md').write_text('\n'.join(md))
    print('\n'.join(md))

if __name__ == '__main__': main()
