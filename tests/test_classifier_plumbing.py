"""Stage 3's plumbing, moved out of lesson 05: encoder files that are missing, truncated or of another model, a run
that recorded no `seq_len`, an unknown schedule, run-folder names, fits that resume instead of training twice; and
fastai's `fine_tune` as a third schedule. At the `tiny` profile, on the stage 2 that nbdev-test builds for the
lessons (cached; built here in a few minutes otherwise); whatever a test writes goes into pytest's temporary folders.

Usage: pytest -q tests/test_classifier_plumbing.py"""
import json, os, shutil
from pathlib import Path
import pytest, torch

os.environ.setdefault('ULMFIT_PROFILE', 'tiny')
from fastai.text.all import get_model, set_seed, ShortEpochCallback
import fastcore.test as ft  # ft.test_eq etc.: imported bare, pytest would collect them as tests
from ulmfit_nb.data import get_profile, imdb_sample
from ulmfit_nb.finetune import finetune_lm, run_arch
from ulmfit_nb.runs import run_dir
from ulmfit_nb.classifier import (SCHEDULES, clas_dls, clas_learner, load_encoder_file, fit_classifier, clas_recipe,
                                  clas_name, all_layers, fastai_fine_tune, FINE_TUNE_LR, trainable_groups, train_classifier,
                                  load_classifier)

PROF = get_profile('tiny')
SHORT_FIT = get_profile('tiny', clas_epochs=(1, 1))  # the fine_tune schedule's tests: 1 frozen + 1 unfrozen epoch
SHORT = [ShortEpochCallback(PROF.demo_frac, short_valid=False)] if PROF.demo_frac < 1 else []


@pytest.fixture(scope='module')
def stage2():
    "The tiny run's (data folder, stage-2 result, classifier data loaders)."
    path = imdb_sample(PROF)
    lm_res = finetune_lm(path, PROF)
    return path, lm_res, clas_dls(path, json.loads(Path(lm_res['vocab']).read_text()), PROF)


def fresh(dls, folder):
    "A classifier on the fine-tuned encoder whose checkpoints go to `folder`."
    learn = clas_learner(dls, 'finetuned', PROF)
    learn.path = folder
    (folder/'models').mkdir(exist_ok=True)
    return learn


def enc_weight(learn): return get_model(learn.model)[0].module.encoder.weight.detach().cpu()


# ---------------------------------------------------------------- encoder files (05, cell 9677380f)
def test_bad_encoder_files(stage2, tmp_path):
    "A truncated, a mismatched and a missing encoder file each end in one clear line."
    path, lm_res, dls = stage2
    learn = clas_learner(dls, 'finetuned', PROF)
    enc_sd = torch.load(lm_res['encoder'], map_location='cpu', weights_only=True)
    bad = tmp_path/'enc.pth'; bad.write_bytes(Path(lm_res['encoder']).read_bytes()[:500])
    ft.test_fail(lambda: load_encoder_file(learn, bad), contains='corrupt or truncated')
    torch.save({k: v for k, v in enc_sd.items() if k != 'encoder.weight'}, bad)
    ft.test_fail(lambda: load_encoder_file(learn, bad), contains='cannot be loaded into this classifier')
    ft.test_fail(lambda: load_encoder_file(learn, tmp_path/'none.pth'), contains='missing')


def test_run_without_seq_len(stage2, tmp_path):
    "A run that did not record its chunk length trained at fastai's default, 72."
    path, lm_res, dls = stage2
    (tmp_path/'config_fwd.json').write_text(json.dumps(dict(arch=run_arch(run_dir(PROF)))))
    ft.test_eq(get_model(clas_learner(dls, None, PROF, out=tmp_path).model)[0].bptt, 72)


# ---------------------------------------------------------------- schedules, names, resumed fits (05, cell db519d4e)
def test_schedules_and_names(stage2):
    "An unknown schedule fails before training; each schedule has its recipe and run-folder name."
    path, lm_res, dls = stage2
    learn = clas_learner(dls, 'finetuned', PROF)
    ft.test_fail(lambda: fit_classifier(learn, PROF, schedule='sometimes'), contains='Unknown stage-3 schedule')
    ft.test_eq(clas_recipe(PROF, 'all'), f'every layer from the first step, one cycle, lr {PROF.clas_all_lr:g}, {sum(PROF.clas_epochs)} epochs')
    assert clas_recipe(PROF, 'gradual') != clas_recipe(PROF, 'all')
    ft.test_eq(clas_name(PROF), 'clas_fwd'); ft.test_eq(clas_name(PROF, backwards=True), 'clas_bwd')
    other = next(s for s in SCHEDULES if s != PROF.clas_schedule)
    ft.test_eq(clas_name(PROF, other), f'clas_fwd_{other}')


def test_all_layers_resumes(stage2, tmp_path):
    "A named fit is read back, not trained twice."
    path, lm_res, dls = stage2
    l = fresh(dls, tmp_path)
    with l.added_cbs(SHORT): r1 = all_layers(l, PROF, name='x', measure=False)
    ft.test_eq((r1[0]['epochs'], r1[0]['lr'], all(r1[0]['trainable'])), (sum(PROF.clas_epochs), PROF.clas_all_lr, True))
    l2 = fresh(dls, tmp_path); ft.test_eq(all_layers(l2, PROF, name='x'), r1)
    ft.test_close(enc_weight(l2), enc_weight(l))  # l2 not fitted yet: still on the CPU


# ---------------------------------------------------------------- fastai's fine_tune as a schedule
def test_fine_tune_schedule(stage2, tmp_path):
    "Two fits: the head alone at FINE_TUNE_LR, then every group from FINE_TUNE_LR/200 to FINE_TUNE_LR/2; read back when named."
    path, lm_res, dls = stage2
    l = fresh(dls, tmp_path)
    n = len(trainable_groups(l))
    rows = fit_classifier(l, SHORT_FIT, name='ft', schedule='fine_tune')
    ft.test_eq([r['trainable'] for r in rows], [[False]*(n-1) + [True], [True]*n])
    ft.test_eq([(r['epochs'], r['lr']) for r in rows], [(SHORT_FIT.clas_epochs[0], FINE_TUNE_LR), (sum(SHORT_FIT.clas_epochs[1:]), FINE_TUNE_LR/2)])
    lrs = [h['lr'] for h in l.opt.hypers]
    ft.test_close(lrs[0] / lrs[-1], 1/100)
    l2 = fresh(dls, tmp_path); ft.test_eq(fit_classifier(l2, SHORT_FIT, name='ft', schedule='fine_tune'), rows)
    ft.test_close(enc_weight(l2), enc_weight(l))


def test_fine_tune_is_fastais(stage2):
    "Unnamed, the schedule makes the same fits as `learn.fine_tune(sum(clas_epochs) - 1, FINE_TUNE_LR)`: same weights."
    path, lm_res, _ = stage2
    vocab = json.loads(Path(lm_res['vocab']).read_text())
    def trained(fit):
        set_seed(0)
        learn = clas_learner(clas_dls(path, vocab, SHORT_FIT), 'finetuned', SHORT_FIT)
        with learn.no_bar(), learn.no_logging(): fit(learn)
        return learn
    a = trained(lambda l: l.fine_tune(sum(SHORT_FIT.clas_epochs) - 1, FINE_TUNE_LR))
    b = trained(lambda l: fastai_fine_tune(l, SHORT_FIT, measure=False))
    ft.test_close(a.recorder.lrs, b.recorder.lrs)
    for pa, pb in zip(a.model.parameters(), b.model.parameters()): ft.test_close(pa, pb, eps=1e-5)


def test_train_classifier_fine_tune(stage2, tmp_path):
    "`train_classifier` trains the fine_tune schedule under its own name and `load_classifier` reads it back."
    path, lm_res, dls = stage2
    out = tmp_path/'run'
    shutil.copytree(run_dir(SHORT_FIT), out, ignore=shutil.ignore_patterns('*.lock', 'clas_*', 'curve_*', 'self_train_*'))
    res = train_classifier(path, SHORT_FIT, out, schedule='fine_tune')
    ft.test_eq((res['schedule'], len(res['stages']), res['recipe']), ('fine_tune', 2, clas_recipe(SHORT_FIT, 'fine_tune')))
    ft.test_eq(Path(res['model']).name, f"{clas_name(SHORT_FIT, 'fine_tune')}.pth")
    ft.test_close(float(load_classifier(SHORT_FIT, out, path=path, schedule='fine_tune').validate()[1]), res['accuracy'], eps=1e-6)
