"""What int8 storage (`save_lm_weights`' default since 2026-11-28) costs in perplexity, through the real save and
read path: a stage-1 folder's forward LM and the `cpu` run's fine-tuned stage 2, each measured on the `cpu` run's
LM validation text as loaded, after an fp16 round trip and after an int8 round trip.

Question: does storing the LM weights in int8 (or fp16) change its perplexity? Results: bench/int8_ppl.json.

    python bench/int8_ppl.py [--stage1 DIR]     # DIR: a save_lm_weights folder (default: the shipped one)

The shipped fp16 files from before the change: `mkdir /tmp/s1 && for f in lm_fwd.pth vocab.json config.json; do
git show 5e4d6fb:ulmfit_nb/assets/stage1/$f > /tmp/s1/$f; done` (then --stage1 /tmp/s1).
"""
import argparse, json, tempfile
from pathlib import Path
from fastai.text.all import *
from ulmfit_nb.data import get_profile, imdb_sample
from ulmfit_nb.runs import run_dir
from ulmfit_nb.weights import Stage1, SHIPPED, save_lm_weights, read_lm_weights, remap_lm_vocab, load_weights, stored_dtype
from ulmfit_nb.finetune import lm_dls, lm_learner, lm_from_run

def ppl(learn) -> float:
    with learn.no_bar(): return round(float(learn.validate()[2]), 2)

def round_trips(learn, vocab, arch) -> dict:
    "Perplexity of `learn` as it is, then with its weights saved and read back in fp16 and in int8."
    r, sd0 = dict(loaded=ppl(learn)), {k: v.clone() for k, v in learn.model.state_dict().items()}
    for dtype in ('fp16', 'int8'):
        with tempfile.TemporaryDirectory() as d:
            learn.model.load_state_dict(sd0)
            save_lm_weights(learn.model, vocab, arch, d, dtype=dtype)
            sd = remap_lm_vocab(read_lm_weights(d)[0], vocab, vocab)   # the tied copies back
            load_weights(learn.model, sd, dtype)
            r[dtype] = ppl(learn)
    return r

def main():
    p = argparse.ArgumentParser(); p.add_argument('--stage1', type=Path, default=SHIPPED)
    a = p.parse_args()
    prof = get_profile('cpu'); out = run_dir(prof)
    vocab = json.loads((out/'vocab_fwd.json').read_text())
    dls = lm_dls(imdb_sample(prof), prof, vocab=vocab, num_workers=0)
    s1 = Stage1('shipped', a.stage1)
    res = dict(stage1=dict(folder=str(a.stage1), dtype=stored_dtype(a.stage1),
                           **round_trips(lm_learner(dls, s1, prof), vocab, s1.arch)))
    learn = lm_from_run(dls, out); learn.load('lm_fwd', with_opt=False, weights_only=True)
    res['stage2'] = dict(folder=str(out), dtype='fp32', **round_trips(learn, vocab, s1.arch))
    print(json.dumps(res, indent=1))
    (Path(__file__).parent/'int8_ppl.json').write_text(json.dumps(res, indent=1) + '\n')

if __name__ == '__main__': main()
