"""One way into a run (`ulmfit_nb.runs.resolve_run`): the two drifts the entry points had before it.

1. `clas_learner` took `Path(out) if out else run_dir(prof)`, so an `out` it was given skipped `run_dir`'s
   writable check: an unwritable folder failed only when the first checkpoint was saved.
2. `load_stage1_encoder` fell back to the stage 1 of the *active* profile, not the one the learner's run used.
"""
import json
import pandas as pd, pytest, torch
import fastcore.test as fc
from fastai.text.all import TextDataLoaders, get_model, defaults
from ulmfit_nb.runs import resolve_run, direction, Run
from ulmfit_nb.weights import SHIPPED, Stage1
import ulmfit_nb.weights as weights
from ulmfit_nb.classifier import clas_learner, load_stage1_encoder

SPECIALS = defaults.text_spec_tok

def tiny_dls(words=('the', 'movie', 'great', 'awful')):
    df = pd.DataFrame(dict(text=['the movie great', 'the movie awful'] * 2, label=['pos', 'neg'] * 2,
                           is_valid=[False, False, True, True]))
    vocab = ['xxunk', 'xxpad', *[t for t in SPECIALS if t not in ('xxunk', 'xxpad')], *words]
    return TextDataLoaders.from_df(df, text_col='text', label_col='label', valid_col='is_valid', text_vocab=vocab, bs=2)

def test_resolve_run_is_one_checked_pair(tmp_path):
    run = resolve_run('tiny', tmp_path/'run')
    fc.test_eq((run.prof.name, run.out), ('tiny', tmp_path/'run'))
    prof, out = run
    fc.test_eq(out.is_dir(), True)
    fc.test_eq(run.data(tmp_path), tmp_path)
    fc.test_eq([direction(False), direction(True)], ['fwd', 'bwd'])

def test_clas_learner_checks_a_given_out(tmp_path):
    "Drift 1: a given, unwritable `out` is refused at once with run_dir's one-line message."
    (tmp_path/'a_file').write_text('')
    with pytest.raises(PermissionError, match='not writable'):
        clas_learner(tiny_dls(), encoder=None, profile='tiny', out=tmp_path/'a_file'/'run')

def test_load_stage1_encoder_uses_the_runs_stage1(tmp_path, monkeypatch):
    "Drift 2: with the active profile preferring WikiText-103, a run that started from the shipped stage 1 loads that."
    s1 = Stage1('shipped', SHIPPED, 'fwd')
    (tmp_path/'config_fwd.json').write_text(json.dumps(dict(arch=s1.arch, stage1=dict(kind='shipped', path=str(SHIPPED)))))
    monkeypatch.setenv('ULMFIT_PROFILE', 'gpu')                        # prefers ('wt103', 'shipped')
    fake = tmp_path/'wt103-fwd'; fake.mkdir()                          # "available", but not loadable
    monkeypatch.setattr(weights, '_wt103', lambda d, timeout: fake)
    fc.test_eq(weights.stage1_weights().kind, 'wt103')                 # what the active profile would pick
    learn = clas_learner(tiny_dls(), encoder=None, profile='tiny', out=tmp_path)
    load_stage1_encoder(learn)
    emb = get_model(learn.model)[0].module.encoder.weight.detach().cpu()
    fc.test_close(emb, s1.lm_state_dict(learn.dls.vocab[0])['0.encoder.weight'])
    fc.test_eq(learn.opt.param_lists[0][0].requires_grad, False)       # frozen after loading
