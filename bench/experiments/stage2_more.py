"""Would `ulmfit run --profile cpu`'s spare minutes (29.6 of 45 used) buy more as stage-2 epochs, now that stage 3
trains every layer? A proxy, not the profile change itself: the cpu run's fine-tuned forward LM trains one more
unfrozen epoch over the same text (slanted-triangular, discriminative rates, peak lm_lr/20: it is already
fine-tuned), about the 7.5 minutes a third unfrozen epoch would cost; then the all-layers classifier from its
encoder on the validation block, 3 seeds, against 0.850 for the run's own encoder (results/ensembles.md).
With `--encoder all_text_all`, the same scoring for bench/experiments/levers.py's `all_text` stage 2 (the cpu run's
frozen-epoch LM, then one unfrozen pass over all 33,530 offline movie-review texts instead of two over the
sample's 9,000: the "data over epochs" lever, measured under gradual unfreezing before, 0.818 against 0.816).
With `--encoder vocab20k`, stage 2 made again as the run's but over a 20,000-word IMDb vocabulary instead of 10,000:
the 10,000 leave 4.2% of the sample's tokens unknown (`xxunk`), among them sentiment words TF-IDF does use
('annoyingly', 'flawlessly', 'overbearing', 'addictive'); 20,000 leave 1.8%. The decoder and softmax are about 40%
of an LM step at 10,000 words (bench/results.md), so stage 2 costs about 1.4 times as much.

    python -m bench.experiments.stage2_more [--encoder stage2_more|all_text_all|vocab20k]

Rows to bench/experiments/results/NAME.json and .md.
"""
import dataclasses, json, time
from pathlib import Path
from fastai.text.all import *
from bench.experiments import RESULTS, RUNS, common
from ulmfit_nb.data import imdb_sample
from ulmfit_nb.finetune import lm_dls, lm_learner, run_stage1, finetune_lm, fit_stlr  # noqa: F401 (fit_stlr patches Learner)
from ulmfit_nb.few_labels import curve_classifier

def encoder() -> tuple:
    "The one-more-epoch encoder (trained once) and its LM's validation perplexity before and after."
    out = common.arm_dir('stage2_more')
    f, rec = out/'models'/'lm_fwd_enc.pth', out/'lm.json'
    if rec.exists(): return f, json.loads(rec.read_text())
    set_seed(0)
    prof = common.PROF
    dls = lm_dls(imdb_sample(prof), prof)
    assert list(dls.vocab) == common.vocab(), 'the sample\'s vocab changed since the cpu run'
    # the learner stage 2 trained (its dropout and weight decay), with the run's fine-tuned weights in place of stage 1's
    learn = lm_learner(dls, run_stage1(common.CPU_OUT), prof, path=common.CPU_OUT, model_dir='models')
    learn.load('lm_fwd', with_opt=False, weights_only=True)
    with learn.no_bar(): before = float(learn.validate()[2])
    learn.unfreeze()
    lr, start = prof.lm_lr / 20, time.time()
    learn.fit_stlr(1, slice(lr/2.6**3, lr))
    with learn.no_bar(): after = float(learn.validate()[2])
    learn.path, learn.model_dir = out, 'models'
    learn.save_encoder('lm_fwd_enc')
    r = dict(ppl_before=before, ppl_after=after, seconds=round(time.time() - start))
    rec.write_text(json.dumps(r, indent=1))
    return f, r

def vocab_encoder(n=20_000) -> tuple:
    "Stage 2 made again as the cpu run's (`finetune_lm`, same sample and schedule) with an IMDb vocabulary of `n` words."
    out = RUNS/f'vocab{n//1000}k'
    res = finetune_lm(imdb_sample(common.PROF), dataclasses.replace(common.PROF, max_vocab=n), out)
    return Path(res['encoder']), {k: res[k] for k in ('ppl', 'vocab_sz', 'wall_time_s', 'tokens_per_s')}

# all_text_all: bench/experiments/levers.py's `all_text` stage 2 (trained once, about 40 minutes on 2 cores)
ENCODERS = dict(stage2_more=(encoder, 'One more stage-2 epoch'),
                all_text_all=(common.all_text_encoder, 'Stage 2 over all the offline text'),
                vocab20k=(vocab_encoder, 'Stage 2 with a 20,000-word IMDb vocabulary instead of 10,000'))

def _lm_line(name, lm) -> str:
    if name == 'stage2_more':
        return f"LM perplexity {lm['ppl_before']:.1f} -> {lm['ppl_after']:.1f}, the extra epoch {lm['seconds']/60:.1f} min"
    if name == 'vocab20k':
        return (f"LM perplexity {lm['ppl']:.1f} over {lm['vocab_sz']:,} words (the run's: 60.5 over 10,000; a bigger "
                f"vocabulary spreads probability thinner); unfrozen epochs at {lm['tokens_per_s']['unfrozen']:,} tokens/s "
                f"against the run's 6,751 (stage 2 took {lm['wall_time_s']/60:.0f} min here, its frozen epoch slowed "
                f"by tests running beside it; at the unfrozen rate, about 1.45 times the run's 21 min)")
    return (f"LM perplexity {lm['ppl']:.1f} on 3% of all the text (the run's: 60.5 on 10% of the sample's), "
            f"{lm['tokens']:,} tokens, {lm['seconds']/60:.0f} min")

def main(name='stage2_more', seeds=(0, 1, 2)):
    make, title = ENCODERS[name]
    enc, lm = make()
    print(lm, flush=True)
    out = RESULTS/f'{name}.json'
    rows = json.loads(out.read_text()) if out.exists() else []
    val = common.val_folder()
    train = sorted(get_text_files(val, folders=['train']))
    for seed in seeds:
        if any(r['seed'] == seed for r in rows): continue
        learn, _ = curve_classifier(val, common.vocab(enc.parent.parent), train, common.PROF, enc.parent.parent, str(enc), seed)
        with learn.no_bar(): rows.append(dict(seed=seed, acc=float(learn.validate()[1])))
        print(rows[-1], flush=True); out.write_text(json.dumps(rows, indent=1))
    accs = [r['acc'] for r in rows]
    md = [f'# {title}, then the all-layers classifier (validation block)', '',
          f"Made by `python -m bench.experiments.stage2_more --encoder {name}` (see its docstring).", '',
          f"{_lm_line(name, lm)}; classifier {sum(accs)/len(accs):.4f} ± {(max(accs) - min(accs))/2:.4f} over {len(accs)} seeds "
          f"({', '.join(f'{a:.3f}' for a in accs)}), against 0.850 ± 0.0075 from the run's own encoder."]
    out.with_suffix('.md').write_text('\n'.join(md) + '\n'); print('\n'.join(md))

if __name__ == '__main__':
    import argparse
    p = argparse.ArgumentParser(); p.add_argument('--encoder', choices=list(ENCODERS), default='stage2_more')
    main(p.parse_args().encoder)
