"""The path most learners take — fastai's IMDb download and WikiText-103 weights at the `gpu` profile — simulated offline.

A temporary FASTAI_HOME holds what the downloads unpack to (toy-sized, see `online_sim.py`); every non-loopback
connection fails and is logged, so any download attempt is caught. Then the pipeline and the lessons run at a toy copy
of the `gpu` profile, and the run reloads with the wt103 folders deleted."""
import json, os, shutil, subprocess, sys, tarfile, urllib.error
from pathlib import Path
import pytest, torch
from ulmfit_nb import data, offline_imdb, pretrain, weights, cli
from ulmfit_nb.pretrain import CheckpointError
from online_sim import TOY, build_home, write_guard

ROOT = Path(__file__).resolve().parents[1]
TOY_GPU = dict(max_vocab=2000, bs=16, lm_epochs=[1, 1],
               clas_epochs=[1, 1, 1, 2], demo_frac=1.0,
               max_words=100, lr_find_it=25)  # seq_len and the sample sizes (None: every review) stay the gpu profile's

@pytest.fixture(scope='module')
def home(tmp_path_factory):
    d = tmp_path_factory.mktemp('online')
    fh = build_home(d/'fastai_home')
    guard = write_guard(d/'guard')
    env = dict(os.environ, FASTAI_HOME=str(fh), ULMFIT_PROFILE='gpu', ULMFIT_PROFILE_OVERRIDES=json.dumps(TOY_GPU),
               PYTHONPATH=os.pathsep.join([str(guard), os.environ.get('PYTHONPATH', '')]).rstrip(os.pathsep),
               NET_GUARD_LOG=str(d/'net.log'), ULMFIT_DATA='auto')
    env.pop('ULMFIT_OUT', None)
    return dict(fh=fh, env=env, log=d/'net.log', out=fh/'data'/'ulmfit_runs'/'gpu')

def _run(cmd, env, timeout=1200):
    r = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f'{cmd} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}'
    return r

def _no_network(home):
    log = home['log'].read_text() if home['log'].exists() else ''
    assert not log, f'something tried the network:\n{log}'

def test_guard_blocks_network(home):
    r = subprocess.run([sys.executable, '-c', 'import socket; socket.create_connection(("192.0.2.1", 443), timeout=2)'],
                       env=home['env'], capture_output=True, text=True)
    assert r.returncode != 0 and 'network disabled by the test' in r.stderr
    home['log'].unlink()

def test_pipeline_uses_the_downloads(home):
    r = _run(['ulmfit', 'run', '--full'], home['env'])
    _no_network(home)
    out, fh = home['out'], home['fh']
    rep = json.loads((out/'report.json').read_text())
    assert rep['stage1'] == 'wt103' and Path(rep['data']) == fh/'data'/'imdb'
    assert rep['sizes'] == dict(n_train=45, n_test=45, n_unsup=60)  # None: every review there is, as at `gpu`
    for d in ('fwd', 'bwd'):
        cfg = json.loads((out/f'config_{d}.json').read_text())
        assert cfg['arch'] == TOY and cfg['seq_len'] == 80
        assert cfg['stage1'] == dict(kind='wt103', path=str(fh/'models'/f'wt103-{d}'))
    # the ablation's stage-1 row is a classifier on the wt103 encoder, at its size
    sd = torch.load(out/'models'/'clas_stage1.pth', map_location='cpu', weights_only=True)
    assert sd['0.module.rnns.0.weight_hh_l0_raw'].shape == (4*TOY['n_hid'], TOY['n_hid'])
    assert {r['model'].split()[-1] for r in rep['ablation']} >= {'scratch', 'stage1', 'finetuned'}
    # --full's linear probes read the wt103 encoders at their size, and the report says what limits the classifier
    n_feat = 3*TOY['n_hid']*(TOY['n_layers'] - 1) + 3*TOY['emb_sz']
    assert [r['n_features'] for r in rep['probe']['rows']] == [n_feat]*3, rep['probe']
    assert cli.versus_tfidf(rep)['verdict'] in (out/'report.md').read_text()
    assert 'stage 1: wt103 weights from' in r.stdout

def test_lessons_at_gpu_with_the_downloads(home):
    # one nbdev-test process (fastai imported once); 08: one GPU or none, so two CPU processes at `tiny` size
    nbs = ['index', '00_data', '01_tokenization', '03_lm_finetuning', '05_classifier', '06_evaluation', '08_distributed']
    r = _run(['nbdev-test', '--n-workers', '0', '--do-print', '--file-re', f"^({'|'.join(nbs)})\\.ipynb$", 'nbs'], home['env'])
    done = sorted(Path(l.split()[-1]).stem for l in r.stdout.splitlines() if l.startswith('- Completed'))
    assert done == sorted(nbs), r.stdout
    _no_network(home)

def test_reloads_without_wt103_or_network(home):
    for d in ('fwd', 'bwd'): shutil.rmtree(home['fh']/'models'/f'wt103-{d}')
    r = _run(['ulmfit', 'predict', 'A wonderful, moving film.', '--json'], home['env'])
    assert json.loads(r.stdout)['label'] in ('neg', 'pos')
    _run(['ulmfit', 'generate', 'This movie', '--words', '5', '--seed', '0'], home['env'])
    code = ('from fastai.text.all import get_model\n'
            'from ulmfit_nb.classifier import load_classifier\nfrom ulmfit_nb.finetune import finetuned_lm\n'
            'from ulmfit_nb.cli import saved_classifier\nfrom ulmfit_nb.runs import run_dir\n'
            'c = load_classifier(); lm = finetuned_lm(); s = saved_classifier(run_dir())\n'
            'assert get_model(s.model)[0].bptt == 80, get_model(s.model)[0].bptt\n'
            'assert lm.model[0].rnns[0].weight_hh_l0_raw.shape[1] == %d\n' % TOY['n_hid'])
    _run([sys.executable, '-c', code], home['env'])
    _no_network(home)

# --- download failures: fall back with one line, or a one-line error with --data fastai -------------------------

FAILURES = [urllib.error.HTTPError('https://s3.amazonaws.com/fast-ai-nlp/imdb.tgz', 503, 'Service Unavailable', {}, None),
            tarfile.ReadError('unexpected end of data'), ConnectionResetError(104, 'Connection reset by peer'),
            Exception('Downloaded file is corrupt or not latest version')]

@pytest.fixture
def failing_download(monkeypatch, tmp_path):
    monkeypatch.setenv('FASTAI_HOME', str(tmp_path/'fh'))
    from fastai.data.external import fastai_cfg
    fastai_cfg.cache_clear()
    monkeypatch.setattr(offline_imdb, '_reachable', lambda *a, **k: True)
    monkeypatch.setattr(weights, '_reachable', lambda *a, **k: True)
    monkeypatch.setattr(offline_imdb, 'build_offline_imdb', lambda *a, **k: tmp_path/'offline')
    def fail(err):
        def untar(*a, **k): raise err
        monkeypatch.setattr(offline_imdb, 'untar_data', untar)
    yield fail
    fastai_cfg.cache_clear()

@pytest.mark.parametrize('err', FAILURES, ids=lambda e: type(e).__name__)
def test_failed_download_falls_back(failing_download, err, tmp_path, capsys):
    failing_download(err)
    assert data.imdb_path('auto') == tmp_path/'offline'
    msg = capsys.readouterr().err.strip()
    assert len(msg.splitlines()) == 1 and 'failed' in msg and 'offline copy' in msg, msg
    with pytest.raises(data.DownloadError) as e: data.imdb_path('fastai')
    assert len(str(e.value).splitlines()) == 1 and type(err).__name__ in str(e.value)
    s1 = pretrain.stage1_weights(prefer=('wt103', 'shipped'))
    assert s1.kind == 'shipped' and 'shipped stage-1 weights instead' in capsys.readouterr().err

def test_cli_data_fastai_fails_in_one_line(failing_download, tmp_path, capsys):
    failing_download(FAILURES[0])
    with pytest.raises(SystemExit) as e: cli.main(['run', '--profile', 'tiny', '--data', 'fastai', '--out', str(tmp_path/'run')])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith('ulmfit run: error: Downloading IMDb') and 'Traceback' not in err

def test_wt103_pickle_that_runs_code(tmp_path):
    import pickle
    class Evil:
        def __reduce__(self): return (os.system, (f'touch {tmp_path}/pwned',))
    w = tmp_path/'wt103-fwd'; w.mkdir()
    torch.save({'0.encoder.weight': torch.zeros(3, 4)}, w/'lstm_fwd.pth'); (w/'itos_wt103.pkl').write_bytes(pickle.dumps(Evil()))
    with pytest.raises(CheckpointError) as e: pretrain.Stage1('wt103', w).vocab
    assert 'refuses to load the object' in str(e.value) and len(str(e.value).splitlines()) == 1
    assert not (tmp_path/'pwned').exists()
    torch.save({'x': Evil()}, w/'lstm_fwd.pth')  # weights that are not just tensors
    with pytest.raises(CheckpointError, match='corrupt or holds more than weights'): pretrain.read_wt103(w)
    assert not (tmp_path/'pwned').exists()
