"""Lesson 09a's demo page in a real browser, as a person would use it.

Exports the `tiny` run's classifier into a temporary folder and starts that folder's own `app.py` (the file a
hosted Space would run) on a free loopback port, with Gradio's analytics off. Headless Chromium then types a review,
presses Classify, and reads the top label and its probability off the page (they must be what `predict_exported`
gives for the same text) and the coloured words; an empty review and a 1 MB one must each get a message on the page,
and the page must still answer a review after them.

Browser and driver as in `tests/test_browser.py`: Debian's `chromium` and PyPI's `playwright` (never
`playwright install`). Without Chromium, or without Gradio (the `demo` extra), the suite is skipped, except under
`CI=true`, where either missing is a failure. Screenshots go to `$ULMFIT_ARTIFACTS`, else `.dev/browser/`.

    pytest -q tests/test_demo_browser.py
"""
import os, shutil, sys, time
from pathlib import Path
import pytest

os.environ.setdefault('ULMFIT_PROFILE', 'tiny')
ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
IN_CI = os.environ.get('CI', '').lower() == 'true'
ARTIFACTS = Path(os.environ.get('ULMFIT_ARTIFACTS') or ROOT/'.dev'/'browser')
REVIEW = "A wonderful film with a moving story and fine acting."

try: from playwright.sync_api import sync_playwright, expect
except ImportError: sync_playwright = None
try: import gradio
except ImportError: gradio = None

if CHROMIUM is None or sync_playwright is None or gradio is None:
    why = ("Chromium is not installed (apt-get install -y chromium)" if CHROMIUM is None else
           "the playwright package is missing (pip install -e '.[dev]')" if sync_playwright is None else
           "Gradio is missing (pip install -e '.[demo]')")
    if IN_CI: pytest.fail(f"CI=true but {why}: the demo's browser test must run in CI", pytrace=False)
    pytest.skip(f"demo browser test skipped: {why}", allow_module_level=True)

from ulmfit_nb.data import get_profile, imdb_sample
from ulmfit_nb.runs import run_dir
from ulmfit_nb.classifier import load_classifier
from ulmfit_nb.share import export_classifier, predict_exported
from serving import free_port, serving

PROF = get_profile('tiny')


@pytest.fixture(scope='module')
def folder(tmp_path_factory):
    "The tiny run's classifier, exported."
    load_classifier(PROF, path=imdb_sample(PROF))
    return export_classifier(run_dir(PROF), tmp_path_factory.mktemp('demo')/'clas')


@pytest.fixture(scope='module')
def app(folder):
    "`python app.py` in the export folder, on a free loopback port: (URL, process)."
    port = free_port()
    env = {**os.environ, 'GRADIO_SERVER_NAME': '127.0.0.1', 'GRADIO_SERVER_PORT': str(port), 'GRADIO_ANALYTICS_ENABLED': 'False'}
    url = f'http://127.0.0.1:{port}/'
    with serving([sys.executable, 'app.py'], url, folder.parent/'app.log', 'the demo app', wait=120, cwd=folder, env=env) as proc:
        yield url, proc


@pytest.fixture(scope='module')
def page():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=['--no-sandbox'], headless=True)
        pg = b.new_page(viewport={'width': 1300, 'height': 1000})
        yield pg
        b.close()


def _shot(page, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS/name), full_page=True)
    print(f"screenshot: {ARTIFACTS/name}")


def ask(page, text, expect_status, timeout=60):
    "Put `text` in the review box, press Classify, wait until the status line contains `expect_status`."
    page.fill('#review textarea', text)
    page.click('#classify')
    try: expect(page.locator('#status')).to_contain_text(expect_status, timeout=timeout*1000)
    except AssertionError:
        _shot(page, 'demo-no-answer.png')
        raise AssertionError(f"no {expect_status!r} on the page after {timeout} s; it shows: {page.inner_text('body')[:1500]!r}") from None


def test_demo_page(page, app, folder):
    t0 = time.time()
    url, proc = app
    page.goto(url)
    page.wait_for_selector('#review textarea', timeout=60_000)
    ask(page, REVIEW, 'Green words pushed toward')
    top = page.inner_text('#prediction [data-testid="label-output-value"]').strip()
    shown = page.inner_text(f'#prediction [data-testid="{top}-confidence-set"] .confidence').strip()
    want = predict_exported(folder, [REVIEW]).iloc[0]
    assert top == want['label'], (top, want)
    assert shown.endswith('%') and abs(float(shown[:-1]) - 100*want['probability']) <= 1, (shown, want['probability'])
    words = page.locator('#words span.attr')
    toks = words.all_inner_texts()
    assert len(toks) >= 8 and 'wonderful' in toks, toks
    colours = words.evaluate_all("s => s.map(e => getComputedStyle(e).backgroundColor)")
    assert any(c not in ('rgba(0, 0, 0, 0)', 'transparent') for c in colours), colours   # some words are highlighted
    assert top in page.inner_text('#status')
    _shot(page, 'demo-answer.png')

    ask(page, '   ', 'The review is empty')
    assert page.locator('#words span.attr').count() == 0
    big = ('A long review that goes on. ' * 40_000)[:2**20]
    ask(page, big, f'{2**20:,} characters')
    assert proc.poll() is None, "the app died"
    ask(page, REVIEW, 'Green words pushed toward')                      # it still answers
    assert page.inner_text('#prediction [data-testid="label-output-value"]').strip() == top
    print(f"demo page in the browser: {time.time() - t0:.0f} s")
