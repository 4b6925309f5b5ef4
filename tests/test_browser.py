"""The lessons in a real JupyterLab, driven by headless Chromium as a person would use them.

Starts `jupyter lab` from this venv on a free loopback port with a token, at the `tiny` profile, over a copy of
`nbs/` (so autosave can never write outputs into the sources) and a private `FASTAI_HOME`. That home starts as a
copy of `$ULMFIT_WARM_FASTAI_HOME`, else of `$FASTAI_HOME`, when one exists (CI's is filled by `nbdev-test`
just before), so the notebooks find trained models instead of training them again. Runs are copied, the data
(only ever read) hard-linked, so nothing the notebooks write reaches the original.

Browser and driver come from the registries: Debian's `chromium` and PyPI's `playwright`, which launches that
binary (`playwright install` downloads a browser and is never needed). Without Chromium the suite is skipped,
except under `CI=true`, where a missing browser or driver is a failure.

Screenshots go to `$ULMFIT_ARTIFACTS`, else `.dev/browser/` in the repo (ignored by git). A notebook's "run all"
may take `$ULMFIT_BROWSER_TIMEOUT` seconds (default 300; about 20-90 s each on 2 idle cores).
"""
import json, os, secrets, shutil, sys, tempfile, time
from pathlib import Path
import pytest
from serving import free_port, serving

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
IN_CI = os.environ.get('CI', '').lower() == 'true'
ARTIFACTS = Path(os.environ.get('ULMFIT_ARTIFACTS') or ROOT/'.dev'/'browser')
TEXT = "I liked this movie because"   # the prompt 04_generation starts its widget with
RUN_TIMEOUT = int(os.environ.get('ULMFIT_BROWSER_TIMEOUT', 300))  # seconds for one notebook's "run all" (tiny)

try: from playwright.sync_api import sync_playwright, expect
except ImportError: sync_playwright = None

if CHROMIUM is None or sync_playwright is None:
    why = ("Chromium is not installed (apt-get install -y chromium)" if CHROMIUM is None else
           "the playwright package is missing (pip install -e '.[dev]')")
    if IN_CI: pytest.fail(f"CI=true but {why}: the browser suite must run in CI", pytrace=False)
    if CHROMIUM is None: pytest.skip(f"browser suite skipped: {why}", allow_module_level=True)
    pytest.fail(f"Chromium is installed but {why}", pytrace=False)


def _link_or_copy(src, dst):
    "Hard-link the data, which is only ever read (25k small files: a copy takes 10+ s); copy runs, which get written."
    if 'ulmfit_runs' not in Path(src).parts:
        try: return os.link(src, dst)
        except OSError: pass
    return shutil.copy2(src, dst)


def _settings(d: Path):
    "JupyterLab settings for a test: every cell in the DOM, no autosave, no news or update checks."
    for plugin, value in {'notebook-extension/tracker': {'windowingMode': 'none'},
                          'docmanager-extension/plugin': {'autosave': False},
                          'apputils-extension/notification': {'fetchNews': 'false', 'checkForUpdates': False}}.items():
        f = d/'@jupyterlab'/f'{plugin}.jupyterlab-settings'
        f.parent.mkdir(parents=True, exist_ok=True); f.write_text(json.dumps(value))


@pytest.fixture(scope='module')
def lab():
    "A running JupyterLab over a copy of `nbs/`: (base URL, token)."
    tmp = Path(tempfile.mkdtemp(prefix='ulmfit_lab_'))
    shutil.copytree(ROOT/'nbs', tmp/'nbs', ignore=shutil.ignore_patterns('.ipynb_checkpoints'))
    home = tmp/'fastai_home'
    warm = os.environ.get('ULMFIT_WARM_FASTAI_HOME') or os.environ.get('FASTAI_HOME')
    if warm and Path(warm).is_dir():
        shutil.copytree(warm, home, symlinks=True, ignore=shutil.ignore_patterns('*.lock'), copy_function=_link_or_copy)
    else: home.mkdir()
    _settings(tmp/'settings')
    port, token = free_port(), secrets.token_hex(16)
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, 'ULMFIT_PROFILE': 'tiny', 'FASTAI_HOME': str(home), 'PATH': bindir + os.pathsep + os.environ['PATH'],
           'JUPYTER_RUNTIME_DIR': str(tmp/'runtime'), 'MPLBACKEND': 'module://matplotlib_inline.backend_inline'}
    for k in ('IN_TEST', 'JPY_SESSION_NAME'): env.pop(k, None)
    base = f'http://127.0.0.1:{port}'
    cmd = [sys.executable, '-m', 'jupyterlab', '--no-browser', '--ip=127.0.0.1', f'--port={port}',
           '--ServerApp.port_retries=0', f'--IdentityProvider.token={token}', '--allow-root',
           f'--ServerApp.root_dir={tmp}', '--LabApp.expose_app_in_browser=True',
           f'--LabApp.user_settings_dir={tmp/"settings"}', f'--LabApp.workspaces_dir={tmp/"ws"}']
    try:
        with serving(cmd, f'{base}/api/status?token={token}', tmp/'jupyter.log', 'jupyter lab', wait=120, cwd=tmp, env=env):
            yield base, token
    finally: shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope='module')
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=['--no-sandbox'], headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={'width': 1400, 'height': 1000})
    pg = ctx.new_page()
    yield pg
    ctx.close()


# ---------------------------------------------------------------- helpers that read the page
CELLS_JS = """() => {
  const w = window.jupyterapp.shell.currentWidget, out = [];
  for (const c of w.content.model.cells) {
    if (c.type !== 'code') continue;
    const outs = c.outputs.toJSON();
    out.push({exec: c.executionCount, src: c.sharedModel.getSource().slice(0, 80),
              errors: outs.filter(o => o.output_type === 'error').map(o => `${o.ename}: ${o.evalue}`),
              images: outs.filter(o => o.data && o.data['image/png']).length});
  }
  return out;
}"""
ERRORS_JS = """() => [...document.querySelectorAll('.jp-Notebook .jp-OutputArea-output')]   // widget outputs too
  .filter(e => e.getAttribute('data-mime-type') === 'application/vnd.jupyter.error'
            || e.innerText.includes('Traceback (most recent call last)') || e.innerText.includes('Error displaying widget'))
  .map(e => e.innerText.slice(0, 1500))"""


def _artifact(page, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    f = ARTIFACTS/name; page.screenshot(path=str(f), full_page=True)
    print(f"screenshot: {f}")
    return f


def run_notebook(page, lab, name):
    "Open `nbs/name.ipynb`, run all cells, wait for the kernel to be idle; return the cells' summary."
    base, token = lab
    # a workspace of its own, so no tab of an earlier test is restored next to it
    page.goto(f'{base}/lab/workspaces/{name}-{secrets.token_hex(4)}/tree/nbs/{name}.ipynb?token={token}')
    page.wait_for_selector('.jp-NotebookPanel .jp-Cell', timeout=60_000)
    page.wait_for_function("""() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
        const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
        return k && k.status === 'idle'; }""", timeout=60_000)
    start = time.time()
    page.evaluate("""() => { window.__runDone = null;
        window.jupyterapp.commands.execute('notebook:run-all-cells').then(
            r => window.__runDone = {ok: r}, e => window.__runDone = {err: String(e)}); }""")
    try:
        page.wait_for_function('() => window.__runDone', timeout=RUN_TIMEOUT*1000, polling=500)
        page.wait_for_function("""() => { const w = window.jupyterapp.shell.currentWidget;
            return w.sessionContext.session.kernel.status === 'idle'
                && ![...w.node.querySelectorAll('.jp-InputPrompt')].some(p => p.textContent.includes('*')); }""",
            timeout=60_000, polling=250)
    except Exception as e:
        _artifact(page, f'{name}-timeout.png')
        running = page.evaluate("""() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')]
            .filter(c => (c.querySelector('.jp-InputPrompt') || {}).textContent.includes('*'))
            .map(c => c.querySelector('.jp-InputArea-editor').innerText.slice(0, 300))""")
        pytest.fail(f"{name}: cells still running after {time.time()-start:.0f} s ({type(e).__name__}); "
                    f"the first: {running[:1]}")
    print(f"{name}: all cells ran in {time.time()-start:.0f} s")
    return page.evaluate(CELLS_JS)


def check_no_errors(page, cells, name):
    errs = [f"cell {i} ({c['src']!r}): {e}" for i, c in enumerate(cells) for e in c['errors']]
    errs += page.evaluate(ERRORS_JS)
    not_run = [c['src'] for c in cells if c['exec'] is None]
    if errs or not_run: _artifact(page, f'{name}-errors.png')
    assert not errs, f"{name}: error output in the notebook:\n" + '\n---\n'.join(errs)
    assert not not_run, f"{name}: cells that never ran (did an earlier one fail?): {not_run}"


def check_images(page, cells, name, at_least):
    "Every image output of the notebook is an <img> the browser decoded."
    n_model = sum(c['images'] for c in cells)
    assert n_model >= at_least, f"{name}: {n_model} image outputs, expected at least {at_least}"
    n_shown = page.evaluate("""() => [...document.querySelectorAll('.jp-Notebook .jp-RenderedImage img')]
        .filter(i => i.complete && i.naturalWidth > 0 && i.getBoundingClientRect().width > 0).length""")
    assert n_shown >= n_model, f"{name}: {n_model} image outputs but {n_shown} rendered images"


def shutdown(page):
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")


# ---------------------------------------------------------------- the tests
def test_generation_widget(page, lab):
    t0 = time.time()
    cells = run_notebook(page, lab, '04_generation')
    check_no_errors(page, cells, '04_generation')
    check_images(page, cells, '04_generation', at_least=1)
    box = page.locator('.jp-Notebook .widget-interact')
    try: expect(box).to_have_count(1, timeout=30_000)
    except AssertionError:
        _artifact(page, '04_generation-no-widget.png')
        shown = page.locator('.jp-Notebook .jp-OutputArea-output').all_inner_texts()
        pytest.fail(f"the review widget did not render; outputs shown: {[s[:200] for s in shown if s.strip()][-5:]}")
    box.scroll_into_view_if_needed()
    temp = box.locator('.widget-slider', has=page.locator('.widget-label', has_text='temperature'))
    expect(temp).to_have_count(1)
    readout = temp.locator('.widget-readout')
    review = box.locator('.widget-output')
    expect(review).to_contain_text(TEXT, timeout=30_000)
    labels = box.locator('.widget-label').evaluate_all(
        "ls => ls.filter(l => l.scrollWidth > l.clientWidth + 1).map(l => l.textContent)")
    assert not labels, f"descriptions cut off: {labels}"
    first = review.inner_text().strip()
    assert ' .' not in first and ' ,' not in first, f"the review is shown as tokens: {first!r}"
    t_start = readout.inner_text()

    def settled(expected=None, differs_from=None, timeout=30):
        "The review once it stops changing (and, if given, equals `expected` / differs from `differs_from`)."
        end, last, since = time.time() + timeout, None, time.time()
        while time.time() < end:
            txt = review.inner_text().strip()
            if txt != last: last, since = txt, time.time()
            ok = (expected is None or txt == expected) and (differs_from is None or txt != differs_from)
            if ok and time.time() - since > 1.0: return txt
            page.wait_for_timeout(200)
        return last

    # as the notebook left it: move the temperature with the keyboard, the way a person would
    handle = temp.locator('.noUi-handle')
    handle.focus()
    for _ in range(4): page.keyboard.press('ArrowRight'); page.wait_for_timeout(100)
    expect(readout).not_to_have_text(t_start, timeout=10_000)
    moved = settled(differs_from=first)
    shot = ARTIFACTS/'04_generation-widget-after-slider.png'
    ARTIFACTS.mkdir(parents=True, exist_ok=True); box.screenshot(path=str(shot))
    print(f"temperature {t_start} -> {readout.inner_text()}; widget screenshot: {shot}")
    check_no_errors(page, page.evaluate(CELLS_JS), '04_generation')   # e.g. an exception in the widget's callback
    assert moved != first, (f"moving the temperature slider from {t_start} to {readout.inner_text()} did not change "
                            f"the review shown: {first!r}")
    assert moved.startswith(TEXT), moved

    # back to the same settings and seed: the same review
    handle.focus()
    for _ in range(4): page.keyboard.press('ArrowLeft'); page.wait_for_timeout(100)
    expect(readout).to_have_text(t_start, timeout=10_000)
    assert settled(expected=first) == first, "the same settings and seed did not give the same review back"

    # an empty prompt: a message in the page, not a traceback
    prompt = box.get_by_role('textbox', name='prompt')
    prompt.fill(''); prompt.press('Enter')
    expect(review).to_contain_text('⚠', timeout=30_000)
    assert '⚠ prompt is empty' in page.evaluate('() => document.body.innerText')
    prompt.fill(TEXT); prompt.press('Enter')
    assert settled(expected=first) == first

    check_no_errors(page, page.evaluate(CELLS_JS), '04_generation')
    shutdown(page)
    print(f"04_generation in the browser: {time.time()-t0:.0f} s")


@pytest.mark.parametrize('name, plots', [('index', 0), ('05_classifier', 1)])
def test_lesson_runs(page, lab, name, plots):
    t0 = time.time()
    cells = run_notebook(page, lab, name)
    check_no_errors(page, cells, name)
    check_images(page, cells, name, at_least=plots)
    shutdown(page)
    print(f"{name} in the browser: {time.time()-t0:.0f} s")
