"""Why does a review's predicted probability change with the other reviews in its batch?

Question: lesson 06 finds batched and one-by-one predictions close but not equal. Padding is not the cause by
itself: fastai pads a shorter review of a classifier batch in front, in whole chunks of `bptt` tokens
(`pad_chunk(pad_first=True)`), with only the remainder after the text, and the pooling masks pads. Two shortcuts in
fastai 2.8.12's `fastai/text/models/core.py` are suspected instead:

- `SentenceEncoder.forward` runs the LSTM, per chunk, on the first `real_bs = (input[:, i] != pad).sum()` rows only,
  taking the rows with a real token at the chunk's first position to be the first rows of a batch sorted longest
  first. A review whose text ends just before the last chunk is not counted there, while a shorter one, pushed into
  that chunk by its front padding, has text in it: the count falls short and the *shortest* rows are left out,
  their outputs in that chunk zeros (`_pad_tensor`).
- `masked_concat_pool` takes the pads among the last `bptt` positions to follow the text when it picks each review's
  last step; front pads in that window (a review shorter than a chunk beside much longer ones) move it onto a pad.

The script reads every batch of the `cpu` sample's 2,000 held-out reviews, as `get_preds` makes them at bs 32 and 64,
and counts the reviews each shortcut touches (no model needed). Then it trains a classifier (the shipped stage-1
encoder, every layer, `--epochs` epochs at lr 5e-3 on the sample's 1,000 labels) and, for every batch where a
shortcut applies and two control batches where none does, compares each review's probability in its batch with
its probability alone (bs 1: no padding, the reference), with fastai as it is, with `real_bs` counting the rows
whose text has begun by the chunk, and with the last step taken at each review's last real token as well. It also
builds a three-review batch by hand in which the shortest review is cut off completely.

    python -m bench.experiments.batch_dependence [--epochs 1] [--threads 1]

Results: bench/experiments/results/batch_dependence.{json,md}. Needs only the `cpu` sample (`imdb_sample('cpu')`, which
`ulmfit run --profile cpu` makes), no trained run. `--profile tiny` checks the script in a few minutes.
"""
import argparse, json, time
import numpy as np, torch
from fastai.text.all import *
from fastai.text.models.core import SentenceEncoder, _pad_tensor
import fastai.text.models.core as core
from ulmfit_nb.data import get_profile, imdb_sample
from ulmfit_nb.weights import Stage1, SHIPPED
from ulmfit_nb.classifier import clas_config, load_stage1_encoder
from ulmfit_nb.few_labels import NoValidation

from bench.experiments import RESULTS
stock_forward, stock_pool = SentenceEncoder.forward, core.masked_concat_pool

def begun_forward(self, input):
    "`SentenceEncoder.forward` with `real_bs` = the rows whose text has begun by the chunk (not: has a token at its start)."
    bs, sl = input.size()
    self.reset()
    mask = input == self.pad_idx
    begun = (~mask).long().cumsum(1) > 0  # True from a row's first real token on
    outs, masks = [], []
    for i in range(0, sl, self.bptt):
        chunk = slice(i, min(i + self.bptt, sl))
        real_bs = int(begun[:, chunk].any(1).sum())
        assert begun[:real_bs, chunk].any(1).all(), "rows are not sorted longest first"
        o = self.module(input[:real_bs, chunk])
        if self.max_len is None or sl - i <= self.max_len: outs.append(o); masks.append(mask[:, chunk])
    return torch.cat([_pad_tensor(o, bs) for o in outs], dim=1), torch.cat(masks, dim=1)

def last_token_pool(output, mask, bptt):
    "`masked_concat_pool` whose last-step feature is each row's last real token."
    last = output.shape[1] - 1 - (~mask).long().flip(1).argmax(1)
    return torch.cat([output[torch.arange(len(output)), last], stock_pool(output, mask, bptt)[:, output.shape[2]:]], 1)

ARMS = {'stock': (stock_forward, stock_pool), 'begun': (begun_forward, stock_pool), 'begun_last': (begun_forward, last_token_pool)}
NAMES = dict(stock='fastai 2.8.12', begun='`real_bs` fixed', begun_last='`real_bs` and last step fixed')

def use(arm:str):
    "Make `SentenceEncoder` and the head's pooling behave as `arm`."
    SentenceEncoder.forward, core.masked_concat_pool = ARMS[arm]

def cut_rows(xb, bptt:int, pad:int=1) -> set:
    "Rows of padded batch `xb` that stock `real_bs` leaves out of a chunk in which they have real tokens."
    cut = set()
    for i in range(0, xb.shape[1], bptt):
        real_bs, has_text = int((xb[:, i] != pad).sum()), (xb[:, i:i+bptt] != pad).any(1)
        cut |= {r for r in range(real_bs, len(xb)) if has_text[r]}
    return cut

def misread_last(xb, bptt:int, pad:int=1) -> set:
    "Rows of padded batch `xb` whose last-step feature stock `masked_concat_pool` reads at a pad."
    mask = xb == pad
    stock = xb.shape[1] - mask[:, -bptt:].long().sum(1) - 1
    true = xb.shape[1] - 1 - (~mask).long().flip(1).argmax(1)
    return set(torch.nonzero(stock != true).flatten().tolist())

def p_pos(model, xb, arm:str='stock') -> np.ndarray:
    "Probability of the second label for each row of `xb`, with `arm`'s shortcuts."
    use(arm)
    try:
        with torch.no_grad(): return torch.softmax(model(xb)[0].float(), -1)[:, 1].numpy()
    finally: use('stock')

def main(epochs:int=1, profile:str='cpu', threads:int=1):
    torch.set_num_threads(threads)
    prof = get_profile(profile)
    path = imdb_sample(prof)
    s1 = Stage1('shipped', SHIPPED, 'fwd')
    dls = TextDataLoaders.from_folder(path, valid='test', bs=prof.bs, seq_len=prof.seq_len, max_vocab=prof.max_vocab,
                                      num_workers=0)
    bptt, ds = prof.seq_len, dls.valid_ds
    n_tok = np.array([len(x) for x, _ in ds]); targs = np.array([int(y) for _, y in ds])
    res = dict(profile=prof.name, epochs=epochs, bptt=bptt, n_reviews=len(ds), batches={}, arms={})
    # 1. which reviews the shortcuts touch, read from the batches get_preds makes (no model)
    batches = {}
    for bs in (32, 64):
        dl = dls.valid.new(bs=bs); order, k, bad = list(dl.get_idxs()), 0, []
        for xb, _ in dl:
            idx = order[k:k + len(xb)]; k += len(xb)
            c, m = cut_rows(xb, bptt), misread_last(xb, bptt)
            bad.append((xb, idx, {idx[r] for r in c}, {idx[r] for r in m}))
        touched = [b for b in bad if b[2] or b[3]]
        controls = [b for b in bad[len(bad)//2:] if not (b[2] or b[3])][:2]  # two ordinary batches from the middle
        batches[bs] = touched + controls
        res['batches'][bs] = dict(n_batches=len(bad), touched_batches=len(touched),
                                  cut=sum(len(b[2]) for b in bad), last_misread=sum(len(b[3]) for b in bad),
                                  cut_max_tokens=int(max((n_tok[i] for b in bad for i in b[2]), default=0)),
                                  cut_min_tokens=int(min((n_tok[i] for b in bad for i in b[2]), default=0)))
    # 2. a classifier to measure with
    learn = text_classifier_learner(dls, AWD_LSTM, seq_len=bptt, config=clas_config(s1.arch), drop_mult=prof.drop_mult,
                                    pretrained=False, metrics=accuracy)
    load_stage1_encoder(learn, s1); learn.unfreeze()
    start = time.time(); set_seed(0)
    with learn.no_bar(), learn.no_logging(), learn.added_cbs(NoValidation()): learn.fit_one_cycle(epochs, 5e-3)
    res['train_s'] = round(time.time() - start)
    model = learn.model.eval()
    # 3. each review of those batches alone, then in its batch with each arm's shortcuts
    alone = {}
    for bs, bb in batches.items():
        for xb, idx, cut, mis in bb:
            for i in idx:
                if i not in alone: alone[i] = float(p_pos(model, ds[i][0][None])[0])
            ref = np.array([alone[i] for i in idx])
            for arm in ARMS:
                p = p_pos(model, xb, arm); d = np.abs(p - ref); a = res['arms'].setdefault(f'{arm}_bs{bs}', dict(
                    reviews=0, moved=0, moved_in_controls=0, flipped=0, accuracy_change=0., max_abs_diff=0.))
                is_control = not (cut or mis)
                a['reviews'] += len(idx); a['moved'] += int((d > 1e-4).sum())
                a['moved_in_controls'] += int((d > 1e-4).sum()) if is_control else 0
                a['flipped'] += int(((p > .5) != (ref > .5)).sum())
                a['accuracy_change'] += float((((p > .5) == targs[idx]).astype(int) - ((ref > .5) == targs[idx]).astype(int)).sum()) / len(ds)
                a['max_abs_diff'] = max(a['max_abs_diff'], float(d.max()))
                if arm == 'stock':
                    a.setdefault('moved_not_cut', 0); a['moved_not_cut'] += int(sum(d[j] > 1e-4 and i not in cut | mis for j, i in enumerate(idx)))
                    a.setdefault('cut_diffs', []); a['cut_diffs'] += [round(float(d[j]), 4) for j, i in enumerate(idx) if i in cut]
    res['over_max_len'] = [dict(tokens=int(n_tok[i]), alone=alone[i]) for i in alone if n_tok[i] > model[0].max_len]
    # 4. one batch by hand: a long review, one ending just before the last chunk, a short one pushed into that chunk
    x = max((x for x, _ in ds), key=len)[:bptt + 10]
    xb = torch.stack([o[0] for o in pad_input_chunk([(x,), (x[:bptt - 5],), (x[:8],)], seq_len=bptt)])
    other = torch.stack([o[0] for o in pad_input_chunk([(x,), (x[:bptt - 5],), (x[20:28],)], seq_len=bptt)])
    head = model[1].layers
    with torch.no_grad(): zeros = float(torch.softmax(head(torch.zeros(1, head[0][0].num_features)), -1)[0, 1])
    res['by_hand'] = dict(lengths=[bptt + 10, bptt - 5, 8], short_alone=float(p_pos(model, x[None, :8])[0]),
                          short_in_batch=float(p_pos(model, xb)[2]), other_short_alone=float(p_pos(model, x[None, 20:28])[0]),
                          other_short_in_batch=float(p_pos(model, other)[2]), head_on_zeros=zeros,
                          short_in_batch_begun=float(p_pos(model, xb, 'begun')[2]),
                          short_in_batch_begun_last=float(p_pos(model, xb, 'begun_last')[2]))
    if prof.name == 'cpu':
        (RESULTS/'batch_dependence.json').write_text(json.dumps(res, indent=1) + '\n'); write_md(res)
    print(json.dumps(res, indent=1))

def write_md(r):
    b, a, h = r['batches'], r['arms'], r['by_hand']
    rows = '\n'.join(f"| {NAMES[k.rsplit('_bs', 1)[0]]} | {k.rsplit('_bs', 1)[1]} | {v['reviews']} | {v['moved']} | "
                     f"{v['moved_in_controls']} | {v['flipped']} | {v['accuracy_change']:+.4f} | {v['max_abs_diff']:.2g} |"
                     for k, v in a.items())
    cuts = '; '.join(f"bs {bs}: {v['cut']} reviews cut off in {v['touched_batches']} of {v['n_batches']} batches "
                     f"({v['cut_min_tokens']} to {v['cut_max_tokens']} tokens long), {v['last_misread']} with the last step "
                     f"read at a pad" for bs, v in b.items())
    (RESULTS/'batch_dependence.md').write_text(f"""# Why batched predictions move: fastai's `SentenceEncoder.real_bs`

Made by `python -m bench.experiments.batch_dependence --epochs {r['epochs']}` (its docstring says what each step does).

**Which reviews the shortcuts touch** ({r['n_reviews']} held-out reviews of the `cpu` sample, read from the batches
`get_preds` makes, bptt {r['bptt']}): {cuts}. Only the first, longest batches are touched: elsewhere the sorted
reviews of a batch differ in length by less than a chunk.

**What it does to a classifier**: the shipped stage-1 encoder, every layer trained {r['epochs']} epoch(s) on the
sample's 1,000 labels ({r['train_s']} s). Each review of the touched batches and of two ordinary control batches is
scored in its batch and alone (bs 1, no padding: the reference).

| model code | bs | reviews scored | moved > 1e-4 from alone | of them in control batches | labels flipped | accuracy change on all {r['n_reviews']} | largest change |
|---|---|---|---|---|---|---|---|
{rows}

With fastai as it is, reviews moved without being cut: bs 32 {a['stock_bs32']['moved_not_cut']}, bs 64
{a['stock_bs64']['moved_not_cut']}. Reviews longer than `max_len` (their pooling window can shift by a chunk with
the batch's length): {len(r['over_max_len'])} among those scored.

**By hand**, reviews of {h['lengths']} tokens in one batch (the middle one ends before the last chunk, the short one
lies wholly inside it): the short one scores {h['short_alone']:.4f} alone and {h['short_in_batch']:.4f} in the batch;
another 8-token review scores {h['other_short_alone']:.4f} alone and {h['other_short_in_batch']:.4f} in its place; the
head on an all-zero feature vector gives {h['head_on_zeros']:.4f}. With `real_bs` fixed the short review scores
{h['short_in_batch_begun']:.4f} in the batch (its last step is still read at a front pad), with the last step fixed
too {h['short_in_batch_begun_last']:.4f}.
""")

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--epochs', type=int, default=1)
    ap.add_argument('--profile', default='cpu', help="the sample to use ('tiny': a quick check of the script)")
    ap.add_argument('--threads', type=int, default=1, help='torch threads (1 is fastest on a busy 2-core machine)')
    main(**vars(ap.parse_args()))
