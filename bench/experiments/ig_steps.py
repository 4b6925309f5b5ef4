"""Do the attribution shares add up? Even steps against steps halved where they miss (`share.path_integral`).

Integrated gradients promise that a review's shares sum to its score change from the baseline; the numerical
integral misses by `gap`. For the classifier of a run (`--profile`, default `tiny`: the one `nbdev-test` trains) and
`--n` of its held-out reviews, each arm reports the median and largest |gap| relative to 1 + |score change| (the
scale of `tol`), how many reviews miss by more than 0.05 of it (the default `tol`), and seconds a review, on one
thread. Arms: the trapezoid rule on N even steps (no halving) and the default (N even steps, halved where they miss,
at most 4N).

    python -m bench.experiments.ig_steps [--profile tiny] [--n 40] [--steps 64]
"""
import argparse, json, statistics, time
from pathlib import Path
import torch
from ulmfit_nb.data import get_profile, imdb_sample
from ulmfit_nb.classifier import load_classifier
from ulmfit_nb.evaluate import test_files
from ulmfit_nb.share import token_ids, embed_forward, log_odds, path_integral

RESULTS = Path(__file__).parent/'results'

def main(profile='tiny', n=40, steps=64):
    torch.set_num_threads(1)
    prof = get_profile(profile); path = imdb_sample(prof)
    learn = load_classifier(prof, path=path); model = learn.model.eval()
    texts = [f.read_text(encoding='utf-8') for f in test_files(path)][:n]
    arms = {f'{steps} even steps': dict(n_steps=steps, max_steps=steps), f'{4*steps} even steps': dict(n_steps=4*steps, max_steps=4*steps),
            f'{steps} steps, halved where they miss (default)': dict(n_steps=steps)}
    rows = {k: [] for k in arms}
    for t in texts:
        x = token_ids(learn, t)
        with torch.no_grad(): emb = model[0].module.encoder_dp(x); target = int(embed_forward(model, emb).argmax())
        score = lambda p: log_odds(embed_forward(model, p), target)
        for k, kw in arms.items():
            start = time.perf_counter(); shares, s, b = path_integral(score, emb, **kw)
            rows[k].append(dict(rel_gap=abs(float(shares.sum()) - (s - b)) / (1 + abs(s - b)), seconds=time.perf_counter() - start))
    out = {k: dict(median_rel_gap=round(statistics.median(r['rel_gap'] for r in v), 4), max_rel_gap=round(max(r['rel_gap'] for r in v), 4),
                   over_tol=sum(r['rel_gap'] > 0.05 for r in v), seconds=round(statistics.mean(r['seconds'] for r in v), 2))
           for k, v in rows.items()}
    md = [f"# Attribution gaps: {prof.name} classifier, {len(texts)} held-out reviews\n",
          f"`python -m bench.experiments.ig_steps --profile {profile} --n {n} --steps {steps}`; |gap| / (1 + |score change|); one thread.\n",
          "| integral | median | largest | reviews over 0.05 | s a review |", "|---|---|---|---|---|"]
    md += [f"| {k} | {v['median_rel_gap']} | {v['max_rel_gap']} | {v['over_tol']} | {v['seconds']} |" for k, v in out.items()]
    name = f'ig_steps_{prof.name}'
    (RESULTS/f'{name}.json').write_text(json.dumps(out, indent=1)); (RESULTS/f'{name}.md').write_text('\n'.join(md) + '\n')
    print('\n'.join(md))

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--profile', default='tiny'); p.add_argument('--n', type=int, default=40); p.add_argument('--steps', type=int, default=64)
    main(**vars(p.parse_args()))
