"""Lesson 09's helpers on tables of your own: a 4-label CSV run end to end at `tiny` (labels, their order and count
from the data, one probability column per label), and every broken table of issue 32 part 5 (a missing column,
empty texts, one label, a label with one row, non-UTF-8 bytes, a label column of decimals, ...) refused in one line
before any folder is written. Run folders go to pytest's temporary folders; data folders to `<fastai data>/csv_data`.

Usage: pytest -q tests/test_your_data.py"""
import json, os, random
from pathlib import Path
import pandas as pd
import pytest

os.environ.setdefault('ULMFIT_PROFILE', 'tiny')
import fastcore.test as fc  # fc.test_eq etc.: imported bare, pytest would collect them as tests
from fastai.text.all import fastai_path, get_text_files
from ulmfit_nb.data import get_profile
from ulmfit_nb.classifier import load_classifier
from ulmfit_nb.evaluate import predict_texts, read_texts
from ulmfit_nb import evaluate  # its test_files, imported bare, would be collected as a test
from ulmfit_nb.yourdata import run_csv
from cli_here import ulmfit_here
from ulmfit_nb.tables import csv_folder, csv_record, folder_labels, lm_view, read_unlabelled, check_size

PROF = get_profile('tiny')
LABELS = ['sport', 'cooking', 'music', 'politics']   # not in sorted order: the model's order is fastai's (sorted)
WORDS = dict(sport='goal match team coach league score striker season referee stadium',
             cooking='oven recipe butter flour simmer garlic pan sauce bake onion',
             music='guitar chorus album drummer melody concert song lyrics band tempo',
             politics='vote senate election minister party campaign policy law debate parliament')
COMMON = 'the a and of it was this that with very really quite some'.split()


def make_csv(path:Path, n:int=40, seed:int=0) -> Path:
    "A 4-label CSV: `n` rows a label, 25-word texts mixing the label's words with common ones."
    rng, rows = random.Random(seed), []
    for i in range(n):
        for l in LABELS:
            rows.append(dict(id=len(rows), text=' '.join(rng.choice(WORDS[l].split() + COMMON) for _ in range(25)), label=l))
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def entries() -> set:
    "What is in the data-folder and run-folder parents now (to check that a refused table leaves nothing)."
    return {p.name for d in ('csv_data', 'ulmfit_runs') if (fastai_path('data')/d).exists() for p in (fastai_path('data')/d).iterdir()}


@pytest.fixture(scope='module')
def good(tmp_path_factory) -> Path: return make_csv(tmp_path_factory.mktemp('csv')/'topics.csv')


def test_multiclass_end_to_end(good, tmp_path):
    "Four labels: stage 2, stage 3, held-out scores and TF-IDF; predictions have one probability column per label, in fastai's order."
    out = tmp_path/'run'
    rep = run_csv(good, profile=PROF, out=out, log=lambda *a: None)
    labels = sorted(LABELS)
    fc.test_eq(rep['evaluation']['labels'], labels)
    fc.test_eq(len(rep['evaluation']['confusion']), 4); fc.test_eq(len(rep['evaluation']['confusion'][0]), 4)
    path = Path(rep['folder'])/'clas'
    fc.test_eq(sum(map(sum, rep['evaluation']['confusion'])), len(evaluate.test_files(path)))
    fc.test_eq(folder_labels(path), labels); fc.test_eq(json.loads((out/'labels.json').read_text()), labels)  # `ulmfit predict` reads it
    assert (out/'report.md').exists() and 'cooking' in (out/'report.md').read_text()
    assert not set(read_texts(evaluate.test_files(path))) & set(read_texts(get_text_files(lm_view(path))))  # no held-out text in stage 2
    learn = load_classifier(PROF, out, path=path)
    fc.test_eq(list(learn.dls.vocab[1]), labels)
    preds = predict_texts(learn, ['the striker and the coach', 'simmer the garlic in butter'], progress=False)
    fc.test_eq([c for c in preds.columns if c.startswith('p_')], [f'p_{l}' for l in labels])
    fc.test_close(preds[[f'p_{l}' for l in labels]].sum(axis=1).values, [1., 1.], eps=1e-5)
    assert set(preds.label) <= set(labels)
    # a rerun reads every stage back; another table into the same folder is refused
    fc.test_eq(run_csv(good, profile=PROF, out=out, log=lambda *a: None)['evaluation'], rep['evaluation'])
    other, before = make_csv(tmp_path/'other.csv', seed=1), entries()
    fc.test_fail(lambda: run_csv(other, profile=PROF, out=out, log=lambda *a: None), contains='holds a run on other data')
    fc.test_eq(entries() - before, set())                     # refused before its data folder was written


def test_valid_col_and_unlabelled(good, tmp_path):
    "Your own held-out rows, an unlabelled file and empty label cells: the held-out texts stay out of stage 2."
    df = pd.read_csv(good)
    df['held'] = df.id % 5 == 0
    df.loc[df.id % 7 == 1, 'label'] = None                       # unlabelled rows, for stage 2 only
    df.loc[df.held & df.label.isna(), 'held'] = False
    (tmp_path/'more.txt').write_text('the referee and the drummer\n\n' + df.text[0] + '\n', encoding='utf-8')  # one is held out
    df.to_csv(tmp_path/'t.csv', index=False)
    path = csv_folder(tmp_path/'t.csv', valid_col='held', unlabelled=tmp_path/'more.txt')
    s = csv_record(path)['sizes']
    fc.test_eq(s['test'], int(df.held.sum())); fc.test_eq(s['train'], int((~df.held & df.label.notna()).sum()))
    fc.test_eq(s['unsup'], int(df.label.isna().sum()) + 1)      # the held-out text among the extra ones is dropped
    held = set(read_texts(evaluate.test_files(path)))
    assert df.text[0] in held and not held & set(read_texts(get_text_files(lm_view(path))))
    fc.test_eq(read_unlabelled(['one', 'two']), ['one', 'two'])


def bad_tables(tmp:Path, good:Path) -> list:
    "(name, file, keyword arguments, what the message names): each a table `run_csv` must refuse."
    df = pd.read_csv(good)
    def w(name, frame=None, raw=None):
        f = tmp/f'{name}.csv'
        if raw is not None: f.write_bytes(raw)
        else: frame.to_csv(f, index=False)
        return f
    one = pd.concat([df, pd.DataFrame(dict(id=[999], text=['a lone row about chess'], label=['chess']))])
    return [('missing column', w('nolabel', df.drop(columns='label')), {}, "no label column 'label'"),
            ('missing text column', good, dict(text_col='body'), "no text column 'body'"),
            ('empty texts', w('empty', df.assign(text=df.text.where(df.id % 9 != 3, '   '))), {}, 'empty text in'),
            ('single class', w('single', df.assign(label='sport')), {}, "one label only ('sport')"),
            ('class with one example', w('one', one), {}, "Label 'chess': a single row"),
            ('non-UTF-8 bytes', w('latin1', raw=good.read_bytes().replace(b'goal', 'caf\xe9'.encode('latin-1'), 1)), {}, 'not UTF-8'),
            ('label column of floats', w('floats', df.assign(label=(df.id % 4) / 2)), {}, 'decimal numbers'),
            ('label not a folder name', w('slash', df.assign(label=df.label.replace('music', 'rock/pop'))), {}, "can't name a folder"),
            ('labels differing in case', w('case', df.assign(label=df.label.replace('music', 'Sport'))), {}, 'differ only in case'),
            ('bad valid column', w('valid', df.assign(v='maybe')), dict(valid_col='v'), "must be True or False"),
            ('valid column holding nothing out', w('none', df.assign(v=False)), dict(valid_col='v'), 'holds out no row'),
            ('a label all held out', w('allheld', df.assign(v=df.label == 'music')), dict(valid_col='v'), "'music' has no training row"),
            ('no rows', w('norows', raw=b'text,label\n'), {}, 'has no rows'),
            ('not a file', tmp/'absent.csv', {}, 'is not a file'),
            ('unlabelled file not UTF-8', good, dict(unlabelled=w('unl', raw=b'caf\xe9 au lait\n')), 'not UTF-8'),
            ('too small for a batch', w('small', df[df.id < 12]), {}, 'fewer than one batch')]


def test_bad_tables(good, tmp_path):
    "Each broken table: a `ValueError` in one line naming the problem, and no data or run folder left behind."
    before = entries()
    for name, f, kw, says in bad_tables(tmp_path, good):
        out = tmp_path/f'run_{name.replace(" ", "_")}'
        with pytest.raises(ValueError) as e: run_csv(f, profile=PROF, out=out, log=lambda *a: None, **kw)
        msg = str(e.value)
        assert says in msg, (name, msg)
        assert '\n' not in msg and len(msg) < 300, (name, msg)
        assert not out.exists(), name
        fc.test_eq(entries() - before, set())


def test_check_size_needs_text():
    "Too few words for stage 2 at the profile: one line, before a run folder exists."
    fc.test_fail(lambda: check_size(dict(train=100, lm_words=10), PROF), contains='add unlabelled texts')


def test_cli_bad_tables_exit_2(good, tmp_path):
    "`ulmfit run --csv` on each broken table: exit status 2, one line on stderr, no folder; `--full` is refused too."
    flags = dict(text_col='--text-col', valid_col='--valid-col', unlabelled='--unlabelled')
    cases = bad_tables(tmp_path, good) + [('--full with --csv', good, dict(full=True), '--full')]
    before = entries()
    for name, f, kw, says in cases:
        out = tmp_path/f'cli_{name.replace(" ", "_")}'
        args = ['run', '--csv', str(f), '--profile', 'tiny', '--out', str(out)]
        for k, v in kw.items(): args += ['--full'] if k == 'full' else [flags[k], str(v)]
        r = ulmfit_here(*args)
        fc.test_eq(r.returncode, 2)
        lines = r.stderr.strip().splitlines()
        fc.test_eq(len(lines), 1); assert says in lines[0] and lines[0].startswith('ulmfit run: error:'), (name, lines)
        assert not out.exists(), name
    fc.test_eq(entries() - before, set())


def test_curve_sizes_one_row_a_label(tmp_path):
    "A table with one training row per label still gets a label curve: one point, every row."
    from ulmfit_nb.tables import csv_folder
    from ulmfit_nb.yourdata import csv_curve_sizes
    fruit = pd.DataFrame(dict(text=['tart', 'sweet', 'soft', 'crisp', 'juicy', 'ripe'], label=['apple', 'cherry', 'banana'] * 2,
                              held=[False] * 3 + [True] * 3))
    fc.test_eq(csv_curve_sizes(csv_folder(fruit, valid_col='held', dest=tmp_path/'fruit')), [3])
