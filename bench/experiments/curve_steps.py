"""How long should a label-curve point train? `curve_steps` (the least optimizer steps per unfreezing stage, 06a)
at 8, 12, 16 and 32 for the ULMFiT classifier with 50 and 100 labels, and 8 and 16 with 200 and 500, 2 seeds, scored
on the validation block of `bench.experiments.common` (1,000 labelled reviews outside the cpu run's held-out ones),
from the cpu run's stage-2 encoder.

    python -m bench.experiments.curve_steps [SIZES...] [--steps STEPS...]   # default: 50 100, steps 8 12 16 32
    python -m bench.experiments.curve_steps 200 500 --steps 8 16            # the second run

Rows are added to bench/experiments/results/curve_steps.json (points already there are kept), the table of all of
them to curve_steps.md.
Needs a finished `ulmfit run --profile cpu`.
"""
import argparse, json, time
import pandas as pd
from fastai.text.all import *
from bench.experiments import RESULTS, common
from ulmfit_nb.few_labels import label_subset, curve_classifier

OUT = RESULTS/'curve_steps.json'

def main(steps, sizes, seeds=(0, 1)):
    prof, run = common.PROF, common.CPU_OUT
    val, vocab = common.val_folder(), common.vocab()
    files = get_text_files(val, folders=['train'])
    rows = json.loads(OUT.read_text()) if OUT.exists() else []
    done = {(r['n'], r['seed'], r['min_steps']) for r in rows}
    for n in sizes:
        for seed in seeds:
            for ms in steps:
                if (n, seed, ms) in done: continue
                t = time.time()
                learn, epochs = curve_classifier(val, vocab, label_subset(files, n, seed), prof, run, 'finetuned', seed, ms)
                with learn.no_bar(): acc = float(learn.validate()[1])
                rows.append(dict(n=n, seed=seed, min_steps=ms, epochs=list(epochs), acc=acc, s=round(time.time() - t)))
                print(rows[-1], flush=True); OUT.write_text(json.dumps(rows, indent=1))
    d = pd.DataFrame(rows)
    g = d.groupby(['min_steps', 'n']).acc
    t = (g.mean().round(4).astype(str) + ' ± ' + ((g.max() - g.min())/2).round(4).astype(str)).unstack().fillna('')
    md = ['# Steps per unfreezing stage at a label-curve point (validation block, mean of 2 seeds ± half range)', '',
          'Made by `python -m bench.experiments.curve_steps` (see its docstring).', '', '| curve_steps | ' + ' | '.join(f'{n} labels' for n in t.columns) + ' | seconds a point |',
          '|---' * (len(t.columns) + 2) + '|']
    md += [f'| {ms} | ' + ' | '.join(t.loc[ms]) + f" | {d[d.min_steps == ms].s.mean():.0f} |" for ms in t.index]
    OUT.with_suffix('.md').write_text('\n'.join(md) + '\n'); print('\n'.join(md))

if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('sizes', nargs='*', type=int, default=[50, 100])
    p.add_argument('--steps', nargs='+', type=int, default=[8, 12, 16, 32])
    a = p.parse_args(); main(a.steps, a.sizes)
