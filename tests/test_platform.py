"""The package where learners run it: native Windows (no POSIX-only modules at import), the torch that CI tests,
a clean `ulmfit` start, an install that gives the lessons what they use, and a rendered course that reads offline."""
import re, subprocess, sys
from pathlib import Path
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

try: import tomllib
except ImportError: tomllib = pytest.importorskip('tomli')  # Python 3.10

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT/'pyproject.toml').read_text())['project']
POSIX_ONLY = ('fcntl', 'resource', 'termios', 'pwd', 'grp')  # stdlib modules that native Windows does not have


def _reqs(names):
    return {canonicalize_name(Requirement(r).name): Requirement(r) for r in names}


def test_imports_without_posix_modules():
    "Every module of the package imports with the POSIX-only modules unavailable, as on native Windows."
    code = (f"import sys\nfor m in {POSIX_ONLY!r}: sys.modules[m] = None  # `import fcntl` now raises ImportError\n"
            "import importlib, pkgutil, ulmfit_nb\n"
            "names = [m.name for m in pkgutil.iter_modules(ulmfit_nb.__path__)]\n"
            "for n in names: importlib.import_module('ulmfit_nb.' + n)\n"
            "print(len(names))")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert int(r.stdout.split()[-1]) >= 15  # all of ulmfit_nb/*.py, not an empty package


def test_torch_bound_matches_ci():
    "pyproject's torch range admits the torch CI installs, and ends at the next minor version (the untested ones)."
    ci = (ROOT/'.ci'/'run').read_text()
    torch_ci = Version(re.search(r'\btorch==([\w.+]+)', ci).group(1))
    torch_req = _reqs(PROJECT['dependencies'])['torch']
    assert torch_req.specifier.contains(torch_ci), (str(torch_req), torch_ci)
    upper = [s.version for s in torch_req.specifier if s.operator == '<']
    assert upper == [f'{torch_ci.major}.{torch_ci.minor + 1}'], f"{torch_req}: bound it just above CI's {torch_ci}"
    vision_ci = Version(re.search(r'\btorchvision==([\w.+]+)', ci).group(1))
    assert vision_ci.minor == torch_ci.minor + 15, (torch_ci, vision_ci)  # torchvision 0.29 goes with torch 2.14


def test_course_extra():
    "`pip install -e '.[course]'` brings what the lessons use; the test tools stay in `dev`, which includes the course."
    extras = PROJECT['optional-dependencies']
    course, dev = _reqs(extras['course']), _reqs(extras['dev'])
    core = _reqs(PROJECT['dependencies'])
    assert {'jupyterlab', 'ipykernel', 'accelerate', 'latex2mathml'} <= set(course), course
    assert {'ipywidgets', 'filelock'} <= set(core)
    assert not {'pytest', 'playwright', 'nbdev', 'execnb'} & (set(course) | set(core))
    assert {'course', 'demo'} <= dev['ulmfit-nb'].extras, dev
    assert 'gradio' in _reqs(extras['demo']) and 'gradio' not in set(course) | set(core)  # an optional extra


def test_ulmfit_starts_without_future_warning():
    "`ulmfit --help` prints no FutureWarning: the package hides torch's `torch.jit.script` deprecation before fastai loads."
    script = Path(sys.executable).parent/('ulmfit.exe' if sys.platform == 'win32' else 'ulmfit')
    cmd = [str(script)] if script.exists() else [sys.executable, '-c', 'from ulmfit_nb.cli import main; main()']
    r = subprocess.run(cmd + ['--help'], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and 'usage: ulmfit' in r.stdout, r.stderr[-3000:]
    assert 'FutureWarning' not in r.stderr, r.stderr[-3000:]


def test_only_that_warning_is_hidden():
    "The filter is narrow: another FutureWarning still shows after `import ulmfit_nb`."
    code = "import warnings, ulmfit_nb; warnings.warn('something else', FutureWarning)"
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
    assert 'FutureWarning: something else' in r.stderr, r.stderr


def test_rendered_math_needs_no_cdn():
    "tools/render_course.py writes `$...$` as MathML and loads no MathJax (nbconvert's default comes from a CDN)."
    nbformat = pytest.importorskip('nbformat'); pytest.importorskip('latex2mathml')
    sys.path.insert(0, str(ROOT/'tools'))
    try: import render_course
    finally: sys.path.remove(str(ROOT/'tools'))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        'A temperature $T<1$ sharpens; entropy $$H(p) = -\\sum_i p_i \\log p_i$$ and `$HOME` stays code.')])
    body, _ = render_course.OfflineHTMLExporter().from_notebook_node(nb)
    assert body.count('<math ') == 2 and 'display="block"' in body
    assert 'mathjax' not in body.lower()
    assert '<code>$HOME</code>' in body
