"""Estimated wall time of each lesson at the `gpu` profile on one H100, from measured rates and counted work.

Question: how long would each lesson take at the `gpu` profile, given the rates the GPU check measured?

    python bench/gpu/lesson_times.py            # prints the table; writes bench/gpu/lesson_times.md

Nothing here is a measurement of a lesson. The rates are the GPU check's (bench/gpu/gpu_check.json, part c: an H100,
fp16, fastai's full AWD-LSTM 400/1152/3 with 60,000 words, i.e. the online path with WikiText-103 weights) plus two
CPU rates measured on this project's 2-core machine (serial spaCy tokenization, TF-IDF). The work is what each
notebook runs at `gpu` for the first time, counted from the notebooks on 2026-11-27 (fastai's IMDb: 25,000
labelled, 25,000 held-out and 50,000 unlabelled reviews, about 292 tokens each; steps already cached by an earlier
notebook cost nothing). Batches made in the training process can hold the LM below the measured rate
(`lm_dls` uses worker processes on CUDA against that; the next GPU check measures it), so the LM rows are a floor.
"""
import json
from pathlib import Path

HERE = Path(__file__).parent
c = json.loads((HERE/'gpu_check.json').read_text())['c_bench']
lm = next(r for r in c['lm'] if r['arch'] == '400/1152/3' and r['precision'] == 'fp16')
clas = next(r for r in c['clas'] if r['precision'] == 'fp16')
RATES = dict(
    lm_tokens=lm['tokens_per_s'],                        # LM training, tokens/s
    lm_valid_tokens=3 * lm['tokens_per_s'],              # forward only: about a third of a training step
    clas_train=clas['train_reviews_per_s'],              # classifier training, reviews/s
    clas_score=clas['eval_reviews_per_s'],               # validate / get_preds / pooled features, reviews/s
    tok_parallel=c['tokenization']['reviews_per_s'],     # fastai's folder tokenization, 16 workers, reviews/s
    tok_serial=300,                                      # spaCy in one process (01 measured 250-400 on 2 cores)
    tfidf=90,                                            # s per TF-IDF baseline over 100k texts (8 s for 9k on 2 cores)
)
STEP = 64 * 80   # tokens of one LM batch at `gpu`
VALID = 2.9e6    # tokens of one LM validation pass (10% of 29M)
# work each lesson runs at `gpu` the first time: LM steps and validation passes, classifier reviews trained and
# scored, spaCy tokenizations, TF-IDF baselines, and seconds of other work (download, copies, fits on the CPU)
WORK = {
    '00_data':          dict(other=150),                                        # IMDb download + 100k copies
    '01_tokenization':  dict(tok_parallel=2_000, tok_serial=6_000, other=20),   # a 2,000-review slice; SentencePiece
    '02_pretraining':   dict(other=30),                                         # 8 epochs of ~12 steps, small vocab
    '03_lm_finetuning': dict(lm_steps=57_100, lm_valid=18, tok_parallel=100_000),
    '04_generation':    dict(other=60),                                         # ~1,000 sampled tokens, one at a time
    '05_classifier':    dict(clas_train=138_000, clas_score=450_000),
    '06_evaluation':    dict(lm_steps=56_500, lm_valid=13, clas_train=374_400, clas_score=1_056_000,
                             tok_serial=50_000, tok_parallel=50_000, tfidf=2, other=120),  # backward LM, 3 classifiers
    '06a_few_labels':   dict(clas_train=490_000, clas_score=975_000, tfidf=5, other=120),  # 42-point curve, self-training
                                                                                # (the teachers read cached tokens)
    '07_cli':           dict(clas_score=51_000, tok_serial=51_000, tok_parallel=51_000, tfidf=2),
    '08_distributed':   dict(other=60),                                         # one GPU: two CPU ranks at `tiny`
}

def seconds(w:dict) -> dict:
    "Seconds per kind of work for one lesson's counts `w`."
    return dict(lm=w.get('lm_steps', 0) * STEP / RATES['lm_tokens'] + w.get('lm_valid', 0) * VALID / RATES['lm_valid_tokens'],
                classifier=w.get('clas_train', 0) / RATES['clas_train'] + w.get('clas_score', 0) / RATES['clas_score'],
                tokenization=w.get('tok_parallel', 0) / RATES['tok_parallel'] + w.get('tok_serial', 0) / RATES['tok_serial'],
                other=w.get('tfidf', 0) * RATES['tfidf'] + w.get('other', 0))

def table() -> str:
    rows = ['| lesson | estimate at `gpu` (one H100) | LM | classifier | tokenization | other |', '|---|---|---|---|---|---|']
    total = 0
    for nb, w in WORK.items():
        s = seconds(w); t = sum(s.values()); total += t
        rows.append(f"| `{nb}` | {t/60:.0f} min | " + ' | '.join(f'{v/60:.1f}' for v in s.values()) + ' |')
    rows.append(f'| all lessons | {total/60:.0f} min | | | | |')
    return '\n'.join(rows)

if __name__ == '__main__':
    md = ['# Lesson times at the `gpu` profile: estimates', '', __doc__.split('\n\n', 1)[1].strip(), '',
          'Rates: ' + ', '.join(f'{k} {v:,.0f}' for k, v in RATES.items()) + '.', '', table(), '']
    (HERE/'lesson_times.md').write_text('\n'.join(md))
    print(table())
