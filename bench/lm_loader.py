"""How long fastai's `LMDataLoader` takes to make one batch, with no model: the data side of an LM training step.

Question: can the data loader feed an LM step fast enough, with 0 worker processes and with 2?

    python bench/lm_loader.py [--bs 128] [--seq-len 80] [--workers 0 2] [--batches 60]

Reads every review text of the offline set (the folder `gpu_stage2.text_folder` builds, as the `all_text` arm of
bench/experiments/levers.py does: 25,000 IMDb reviews and 8,530 Rotten Tomatoes snippets) through the course's
`lm_dls` at the `cpu` profile's vocabulary, then times `--batches` training batches for each worker count. On 2 cores (2026-11-27): 98.8 ms a 128 x 80 batch with
0 workers (103,600 tokens/s), 52.7 ms with 2 (194,200); rerun on 2026-11-29 (--batches 120, twice): 58.1 and 55.2 ms
with 0 workers (176,300 and 185,500), 30.3 and 28.5 ms with 2 (338,100 and 359,400) — the machines vary. An H100 ran stage 2 at this size at about 70k tokens/s with 0 workers, which is what
made `lm_dls` use worker processes on CUDA (`lm_workers`).
"""
import argparse, dataclasses, json, time
from fastai.text.all import *
from ulmfit_nb.data import PROFILES
from ulmfit_nb.finetune import lm_dls
from gpu_stage2 import text_folder  # every offline review text, one file each (cached)

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--bs', type=int, default=128); p.add_argument('--seq-len', type=int, default=80)
    p.add_argument('--workers', type=int, nargs='+', default=[0, 2]); p.add_argument('--batches', type=int, default=60)
    a = p.parse_args()
    path = text_folder(fastai_path('data')/'movie_reviews_all_text')
    dls = lm_dls(path, dataclasses.replace(PROFILES['cpu'], bs=a.bs, seq_len=a.seq_len), num_workers=0)
    for nw in a.workers:
        it = iter(dls.train.new(num_workers=nw)); next(it)  # the first batch pays for starting the workers
        start = time.time()
        for _ in range(a.batches): next(it)
        dt = (time.time() - start) / a.batches
        print(json.dumps(dict(bs=a.bs, seq_len=a.seq_len, num_workers=nw, ms_per_batch=round(dt*1000, 1),
                              tokens_per_s=round(a.bs*a.seq_len/dt), cpus=defaults.cpus)), flush=True)

if __name__ == '__main__': main()
