"""Rewrite the fp16 weights of a `save_lm_weights` folder as int8 with one scale per row (what `save_lm_weights`
writes since 2026-11-28), a quarter of float32 instead of a half; the model card is rendered again.

    python tools/int8_weights.py FOLDER [--note TEXT]     # e.g. ulmfit_nb/assets/stage1

`--note` is kept in each direction's card.json as `stored` and shown in MODEL_CARD.md.
"""
import argparse, json
from pathlib import Path
from fastai.text.all import AWD_LSTM, get_language_model
from ulmfit_nb.weights import read_lm_weights, save_lm_weights, load_lm_weights, lm_config
from ulmfit_nb.corpus import write_model_card
from ulmfit_nb.cli import write_lm_card

def main():
    p = argparse.ArgumentParser(); p.add_argument('folder', type=Path); p.add_argument('--note')
    a = p.parse_args()
    cards_f = a.folder/'card.json'
    for d in ('fwd', 'bwd'):
        if not (a.folder/f'lm_{d}.pth').exists(): continue
        sd, vocab, arch = read_lm_weights(a.folder, d)
        model = load_lm_weights(get_language_model(AWD_LSTM, len(vocab), config=lm_config(**arch)), sd, vocab, vocab)
        before = (a.folder/f'lm_{d}.pth').stat().st_size
        save_lm_weights(model, vocab, arch, a.folder, d)
        err = max(float((v - sd[k]).abs().max()) for k, v in read_lm_weights(a.folder, d)[0].items())
        print(f"{d}: {before/2**20:.1f} -> {(a.folder/f'lm_{d}.pth').stat().st_size/2**20:.1f} MiB, largest change {err:.2g}")
    if cards_f.exists():
        cards = json.loads(cards_f.read_text())
        if a.note:
            for c in cards.values(): c['stored'] = a.note
            cards_f.write_text(json.dumps(cards, indent=1))
        print((write_model_card if 'corpus' in next(iter(cards.values())) else write_lm_card)(a.folder))

if __name__ == '__main__': main()
