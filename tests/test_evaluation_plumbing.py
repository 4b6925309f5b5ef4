"""Plumbing and robustness checks of lessons 06 (evaluation) and 06a (few labels), moved out of the lessons so
they end at the ML: weight files holding pickled objects, bad input to `predict_texts`, label draws that cannot be
made, cached curve points and self-training results, a pool with nothing to label.

Runs at the `tiny` profile, on the run folder the notebooks left (`nbdev-test` first, in the same FASTAI_HOME;
whatever is missing is trained here, at `tiny` in seconds to a few minutes).

    pytest -q tests/test_evaluation_plumbing.py
"""
from pathlib import Path
import pytest, torch
from fastai.text.all import get_text_files
import fastcore.test as fc   # fc.test_eq etc.: bare names pytest would collect as tests
from ulmfit_nb.data import get_profile, imdb_sample
from ulmfit_nb.runs import run_dir, stage_result, save_result
from ulmfit_nb.classifier import load_classifier
from ulmfit_nb.evaluate import predict_texts
from ulmfit_nb.few_labels import label_subset, label_curve, curve_point, curve_recipe, curve_sizes, self_train

PROF = get_profile('tiny')


@pytest.fixture(scope='module')
def path(): return imdb_sample(PROF)


@pytest.fixture(scope='module')
def learn(path): return load_classifier(PROF, path=path)


# ---------------------------------------------------------------- 06: loading and predicting
def test_load_refuses_pickled_objects(learn, tmp_path):
    "`learn.load(..., weights_only=True)` reads tensors and plain containers only: a file holding another object fails."
    old = learn.path, learn.model_dir
    learn.path, learn.model_dir = tmp_path, 'models'
    try:
        (tmp_path/'models').mkdir()
        torch.save(dict(model=learn.model.state_dict(), note=Path('not a tensor')), tmp_path/'models'/'odd.pth')
        fc.test_fail(lambda: learn.load('odd', with_opt=False, weights_only=True), contains='Weights only load failed')
    finally: learn.path, learn.model_dir = old


def test_predict_texts_bad_input(learn):
    "One clear error for no texts, an empty one or a non-string; reviews longer than any chunk and emoji are fine."
    fc.test_fail(lambda: predict_texts(learn, []), contains='No texts')
    fc.test_fail(lambda: predict_texts(learn, ['fine', '  ']), contains='Text 1 is empty')
    fc.test_fail(lambda: predict_texts(learn, [None]), contains='not a string')
    long = predict_texts(learn, ['great acting and a moving story . ' * 2000, 'Loved it 😍🎬'])  # longer than any seq_len
    fc.test_eq(len(long), 2)


# ---------------------------------------------------------------- 06a: label draws, cached points, self-training
def test_label_subset_too_many(path):
    files = get_text_files(path, folders=['train'])
    fc.test_fail(lambda: label_subset(files, len(files) + 2), contains="Can't draw")


def test_curve_points_cached_by_recipe(path):
    "The curve's points are reused; a point cached under another recipe (an older schedule) is trained again."
    curve = label_curve(path, PROF)
    fc.test_eq(label_curve(path, PROF).accuracy.values, curve.accuracy.values)
    sizes = curve_sizes(len(get_text_files(path, folders=['train'])))
    name = f'curve_scratch_{sizes[0]}_seed0'
    old = stage_result(run_dir(PROF), name)
    fc.test_eq(old['recipe'], curve_recipe(PROF, 'scratch'))
    save_result(run_dir(PROF), name, dict(old, recipe='gradual unfreezing, the old way', accuracy=-1.))
    new = curve_point(path, PROF, None, 'scratch', sizes[0], 0)
    fc.test_eq(new['recipe'], old['recipe']); fc.test_eq(stage_result(run_dir(PROF), name)['recipe'], old['recipe'])
    if not torch.cuda.is_available(): fc.test_eq(new['accuracy'], old['accuracy'])  # seeded: the same point again
    assert 0 <= new['accuracy'] <= 1


def test_self_train_cached_by_teachers(path, learn):
    "A self-training result comes back from the run folder unchanged, unless other teachers made it."
    teachers = [learn] + ([load_classifier(PROF, backwards=True, path=path)] if stage_result(run_dir(PROF), 'clas_bwd') else [])
    st = self_train(path, teachers, PROF)  # lesson 06a's result, or made now
    fc.test_eq(self_train(path, teachers, PROF), st)
    # a result made by other teachers is trained again (the same teacher twice counts as two)
    fc.test_eq([self_train(path, teachers[:1] * k, PROF, seed=1)['teachers'] for k in (1, 2)], [1, 2])


def test_self_train_empty_pool(learn, tmp_path):
    "Nothing to label: one clear line."
    for s in ('train/pos', 'test/pos'): (tmp_path/s).mkdir(parents=True)
    fc.test_fail(lambda: self_train(tmp_path, [learn], PROF, out=tmp_path/'run'), contains='holds no reviews')
