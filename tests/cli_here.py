"""`ulmfit ARGS` in the test's own process: fastai is imported once, where a subprocess would pay ~6 s for it.

Shared by tests/test_reliability.py, tests/test_share.py and tests/test_your_data.py."""
import contextlib, io, subprocess
from ulmfit_nb.cli import main


def ulmfit_here(*args) -> subprocess.CompletedProcess:
    "Run `ulmfit ARGS` in-process: its exit status, stdout and stderr, as `subprocess.run` would give them."
    out, err, code = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try: main([str(a) for a in args])
        except SystemExit as e: code = e.code
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())
