"""The package's ready-made stage 2 (`--stage2 shipped`, `get_profile(stage2='shipped')`): the `cpu` profile's
fine-tuned LMs, forward and backward, so a learner can skip lesson 03's long training.

Checks what ships (files, card, storage, size) and that a run starts from it: at the `tiny` profile's data the
shipped LM is adopted into a run folder of its own, fits a classifier, and is the model it says it is.
"""
import json, os
from pathlib import Path
import pytest

os.environ.setdefault('ULMFIT_PROFILE', 'tiny')
from ulmfit_nb.data import get_profile, imdb_sample, PROFILES
from ulmfit_nb.weights import stage2_folder, read_lm_weights, stored_dtype, SHIPPED_STAGE2
from ulmfit_nb.runs import run_dir
from ulmfit_nb.finetune import finetune_lm
from ulmfit_nb.classifier import train_classifier


def test_what_ships():
    src = stage2_folder('shipped')
    assert src == SHIPPED_STAGE2
    cards = json.loads((src/'card.json').read_text())
    vocab = json.loads((src/'vocab.json').read_text())
    assert len(vocab) <= PROFILES['cpu'].max_vocab + 8 and vocab[:2] == ['xxunk', 'xxpad']
    for d in ('fwd', 'bwd'):
        sd, v, arch = read_lm_weights(src, d)
        assert v == vocab and arch == PROFILES['cpu'].arch          # the cpu profile's model, one vocabulary
        assert sd['0.encoder.weight'].shape == (len(vocab), arch['emb_sz'])
        assert stored_dtype(src) == 'int8' and (src/f'lm_{d}.pth').stat().st_size < 8e6  # a few MB each
        c = cards[d]
        assert c['recipe']['profile'] == 'cpu' and c['ppl'] < c['stage1']['ppl_stage1_on_this_text']  # stage 2 helped
    assert (src/'MODEL_CARD.md').exists()


def test_run_from_shipped(tmp_path):
    prof = get_profile('tiny', stage2='shipped')
    assert run_dir(prof).name == 'tiny_stage2_shipped'              # never mixed with a run that fine-tuned its own
    out = tmp_path/'run'
    lm = finetune_lm(imdb_sample(prof), prof, out)
    assert lm['stage2']['source'] == 'shipped' and lm['schedule'] == 'ready-made'
    assert json.loads(Path(lm['vocab']).read_text()) == json.loads((SHIPPED_STAGE2/'vocab.json').read_text())
    res = train_classifier(imdb_sample(prof), prof, out)
    assert 0 <= res['accuracy'] <= 1 and Path(res['model']).exists()
