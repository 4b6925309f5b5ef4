"""A server for a browser test: start it, wait until it answers, stop it afterwards.

Shared by `tests/test_browser.py` (JupyterLab) and `tests/test_demo_browser.py` (the demo's `app.py`)."""
import contextlib, socket, subprocess, time, urllib.request
from pathlib import Path
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


@contextlib.contextmanager
def serving(cmd, # the server's command line
            url:str, # answers once the server is up
            log:Path, # the server's output goes here
            what:str, # its name in a failure
            wait:float=120, # seconds to wait for `url`
            **kw): # passed to `subprocess.Popen` (cwd, env)
    "Run `cmd` until `url` answers and yield the process; fail with the end of its log if it exits or never answers; stop it afterwards."
    with open(log, 'w') as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, **kw)
        try:
            end = time.time() + wait
            while proc.poll() is None and time.time() < end:
                try: urllib.request.urlopen(url, timeout=2); break
                except OSError: time.sleep(0.5)
            else:
                why = 'exited' if proc.poll() is not None else f'did not answer in {wait:.0f} s'
                pytest.fail(f"{what} {why}: {Path(log).read_text()[-3000:]}", pytrace=False)
            yield proc
        finally:
            proc.terminate()
            try: proc.wait(20)
            except subprocess.TimeoutExpired: proc.kill(); proc.wait()
