"""Self-training again, now that stage 3 trains every layer from the first step (issue 13's lever, measured under
gradual unfreezing in bench/experiments/levers.py, where the student did not gain). The teachers are this schedule's
forward and backward classifiers, trained on the cpu run's 1,000 labels (their average scores 0.870 on the
validation block, results/ensembles.md); they label the sample's other LM-only reviews, their 500 most confident per
label join the 1,000 labels, and a forward student trains from the forward stage-2 encoder by the profile's
schedule (`ulmfit_nb.few_labels.self_train`). Does the student keep what the pair knows (distillation into one
forward model), beyond the forward classifier's 0.850 on the same block? Validation block only, 2 seeds.

    python -m bench.experiments.self_train_all [--seeds 0 1]

Rows to bench/experiments/results/self_train_all.json and .md. Needs a finished `ulmfit run --profile cpu --full`
(both stage-2 encoders) and `bench.experiments.common`'s folders.
"""
import argparse, json, time
import pandas as pd
from fastai.text.all import get_text_files
from bench.experiments import RESULTS, common
from ulmfit_nb.few_labels import curve_classifier, self_train

OUT = RESULTS/'self_train_all.json'

def main(seeds):
    rows = json.loads(OUT.read_text()) if OUT.exists() else []
    path, prof = common.self_train_folder(), common.PROF
    train = sorted(get_text_files(path, folders=['train']))
    for seed in seeds:
        if any(r['seed'] == seed for r in rows): continue
        start = time.time()
        teachers = [curve_classifier(path, common.vocab(direction=d), train, prof, common.CPU_OUT, 'finetuned', seed,
                                     backwards=d == 'bwd')[0] for d in ('fwd', 'bwd')]
        r = self_train(path, teachers, prof, common.arm_dir('self_train_all'), vocab=common.vocab(), seed=seed,
                       encoder=str(common.CPU_OUT/'models'/'lm_fwd_enc.pth'))
        rows.append(dict(r, seed=seed, seconds_with_teachers=round(time.time() - start)))
        print(rows[-1], flush=True); OUT.write_text(json.dumps(rows, indent=1))
    d = pd.DataFrame(rows)
    half = lambda s: (s.max() - s.min()) / 2
    md = ['# Self-training with the all-layers schedule, validation block', '',
          'Made by `python -m bench.experiments.self_train_all` (see its docstring); mean of the seeds ± half range.', '',
          '| | accuracy |', '|---|---|']
    for k, what in (('teacher', 'teachers: forward + backward, averaged'), ('student', 'student: forward, 1,000 labels + pseudo-labels'),
                    ('tfidf', 'TF-IDF, 1,000 labels'), ('tfidf_self', 'TF-IDF, the same self-training')):
        md.append(f'| {what} | {d[k].mean():.4f} ± {half(d[k]):.4f} |')
    md += ['', f"{len(d)} seeds; {d.pseudo.iloc[0]} pseudo-labels; minutes a seed, teachers included: {d.seconds_with_teachers.mean()/60:.1f}"]
    OUT.with_suffix('.md').write_text('\n'.join(md) + '\n'); print('\n'.join(md))

if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('--seeds', nargs='+', type=int, default=[0, 1])
    main(p.parse_args().seeds)
