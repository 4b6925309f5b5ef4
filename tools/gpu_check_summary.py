"""Merge the parts of tools/gpu_check.sh into gpu_check.json + gpu_check.md (rerun after every part).

    python tools/gpu_check_summary.py WORK_DIR OUT_DIR
"""
import json, sys, time
from pathlib import Path


def _load(p):
    try: return json.loads(Path(p).read_text())
    except Exception as e: return dict(error=f'unreadable: {e}') if Path(p).exists() else None


def _f(x, fmt='{:.4f}'):
    return '—' if x is None else fmt.format(x)


def main(work, out):
    work, out = Path(work), Path(out)
    res = dict(written=time.strftime('%Y-%m-%d %H:%M:%S'), env=_load(work/'part_env.json'))
    if (work/'part_a.tsv').exists():
        rows = [l.split('\t') for l in (work/'part_a.tsv').read_text().splitlines() if l.strip()]
        res['a_notebooks'] = [dict(notebook=n, status=s, seconds=float(t)) for n, s, t in rows]
    res['b_run'] = _load(work/'part_b.json')
    res['c_bench'] = _load(work/'part_c.json')
    res['o_online'] = _load(work/'part_o.json')
    res['s_stage2'] = _load(work/'part_s.json') or _load(out/'stage2.json')
    res['t_stage3'] = _load(work/'part_t.json')
    (out/'gpu_check.json').write_text(json.dumps(res, indent=1, default=str))

    env = res['env'] or {}
    md = ['# GPU check (tools/gpu_check.sh)', '',
          f"{res['written']} · {env.get('gpu', 'no GPU')} · torch {env.get('torch')} (CUDA {env.get('cuda')}) · "
          f"Python {env.get('python')} · {env.get('cpus')} CPUs · install {_f(env.get('install_s'), '{:.0f}')} s, "
          f"imports ok: {env.get('imports_ok')}", '']
    if 'a_notebooks' in res:
        a = [r for r in res['a_notebooks'] if not r['notebook'].startswith('(')]  # '(all, …)': the whole run's row
        md += ['## (a) notebooks under `nbdev-test` on CUDA (tiny profile)', '',
               f"{sum(r['status'] == 'pass' for r in a)}/{len(a)} passed, {sum(r['seconds'] for r in a):.0f} s in all.", '',
               '| notebook | result | seconds |', '|---|---|---|']
        md += [f"| {r['notebook']} | {r['status']} | {r['seconds']:.0f} |" for r in a] + ['']
    b = res['b_run']
    if b:
        md += [f"## (b) `ULMFIT_DATA=offline ulmfit run --profile {b.get('profile')}`", '']
        rep = b.get('report')
        if rep:
            sz = rep.get('sizes', {})
            md += ['| | |', '|---|---|',
                   f"| labelled / held-out reviews | {2*sz.get('n_train', 0)} / {2*sz.get('n_test', 0)} |",
                   f"| stage 1 | {rep.get('stage1')} |",
                   f"| held-out accuracy | **{_f(rep.get('evaluation', {}).get('accuracy'))}** |",
                   f"| TF-IDF + LR, same labels | {_f(rep.get('tfidf', {}).get('accuracy'))} |",
                   f"| LM perplexity / accuracy | {_f(rep.get('lm', {}).get('ppl'), '{:.1f}')} / {_f(rep.get('lm', {}).get('accuracy'), '{:.3f}')} |",
                   f"| wall time | {_f(rep.get('wall_time_s'), '{:.0f}')} s |",
                   f"| stage-2 tokens/s (unfrozen epochs, validation included) | {_lm_speed(rep.get('lm', {}))} |",
                   f"| stage times (s) | {', '.join(f'{k} {v:.0f}' for k, v in (rep.get('stage_times_s') or {}).items())} |", '']
            md += _reload(b, 'b')
        else:
            md += [f"No report: rc {b.get('rc')}{' (timed out)' if b.get('timed_out') else ''} after "
                   f"{b.get('command_s', 0):.0f} s; see log_b.txt.", '']
            st = b.get('stages') or {}
            if st: md += [f"Stages it finished: {', '.join(st)}.", '']
            if isinstance(st.get('lm_fwd'), dict):
                lm = st['lm_fwd']
                md += [f"Stage 2: perplexity {_f(lm.get('ppl_stage1'), '{:.1f}')} → {_f(lm.get('ppl'), '{:.1f}')}, "
                       f"{lm.get('train_tokens', 0):,} train tokens, tokens/s {_lm_speed(lm)}, {_f(lm.get('wall_time_s'), '{:.0f}')} s.", '']
    o = res['o_online']
    if o:
        n = o.get('counts', {})
        md += ['## (o) the online path on CUDA (`tests/test_online.py`: simulated downloads, toy `gpu` profile)', '',
               f"{n.get('passed', 0)} passed, {n.get('failed', 0)} failed, {n.get('error', 0) + n.get('errors', 0)} errors"
               f"{' (timed out)' if o.get('timed_out') else ''} in {o.get('seconds', 0):.0f} s (rc {o.get('rc')})."
               + (f" Failed: {', '.join(o['failed'])}; see log_o.txt." if o.get('failed') else ''), '']
    c = res['c_bench']
    if c:
        md += ['## (c) stage-2 / classifier throughput, random stand-in weights', '']
        if c.get('error'): md += [f"error: {c['error']}", '']
        if c.get('lm'):
            md += ['| model | precision | vocab | bs × bptt | tokens/s | ms/step | peak GiB |', '|---|---|---|---|---|---|---|']
            md += [f"| LM {r.get('arch', r.get('error'))} | {r.get('precision')} | {r.get('vocab')} | {r.get('bs')}×{r.get('bptt')} | {r.get('tokens_per_s', '—')} | "
                   f"{_f(r.get('ms_per_step'), '{:.1f}')} | {_f(r.get('peak_gib'), '{:.1f}')} |" for r in c['lm']] + ['']
        if c.get('clas'):
            md += ['| classifier | precision | bs × review tokens | reviews/s (fwd+bwd) | reviews/s (fwd only) |', '|---|---|---|---|---|']
            md += [f"| {r.get('arch', r.get('error'))} | {r.get('precision')} | {r.get('bs')}×{r.get('review_tokens')} | {r.get('train_reviews_per_s', '—')} | "
                   f"{r.get('eval_reviews_per_s', '—')} |" for r in c['clas']] + ['']
        if c.get('tokenization'): md += [f"Tokenization (fastai + spaCy): {c['tokenization']}", '']
        for p in c.get('projections', []):
            md += [f"**Projection, {p['name']}: {p['total_min']:.0f} min** — " + '; '.join(
                f"{k} {v:.1f} min" for k, v in p['parts_min'].items()), '', f"Basis: {p['basis']}", '']
    st = res['s_stage2']
    if st:
        md += ['## (s) stage 2 on every offline review text (bench/gpu_stage2.py)', '',
               f"texts {st.get('texts')}; train tokens {st.get('train_tokens')}; vocab {st.get('vocab_sz')}; "
               f"tokenize {st.get('tokenize_s')} s; epochs {st.get('lm_epochs')} (fit: {st.get('epochs_that_fit')})", '']
        for d in ('fwd', 'bwd'):
            r = st.get(d)
            if isinstance(r, dict):
                md += [f"- {d}: perplexity {_f(r.get('ppl'), '{:.1f}')}, accuracy {_f(r.get('accuracy'), '{:.3f}')}, "
                       f"{_f(r.get('wall_time_s'), '{:.0f}')} s, {r.get('tar_mb')} MB, "
                       f"unfrozen epochs {r.get('unfrozen_tokens_per_s') or '—'} tokens/s (2026-11-27, no workers: about 70,000)"]
            elif r: md += [f"- {d}: {r}"]
        if st.get('error'): md += [f"error: {st['error']}"]
        md += ['']
    t = res['t_stage3']
    if t:
        md += [f"## (t) `ulmfit run --profile {t.get('profile')} --stage2` from (s)'s stage 2", '']
        rep = t.get('report')
        if rep:
            lm, g = rep.get('lm', {}), rep.get('gradual', {})
            md += ['| | |', '|---|---|',
                   f"| stage-2 perplexity on the run's text (stage 1 → ready-made) | {_f(lm.get('ppl_stage1'), '{:.1f}')} → {_f(lm.get('ppl'), '{:.1f}')} |",
                   f"| held-out accuracy, the profile's classifier | **{_f(rep.get('evaluation', {}).get('accuracy'))}** |",
                   f"| gradual unfreezing beside it | {_f(g.get('accuracy'))} |",
                   f"| TF-IDF + LR, same labels | {_f(rep.get('tfidf', {}).get('accuracy'))} |",
                   f"| wall time | {_f(rep.get('wall_time_s'), '{:.0f}')} s |", '']
            md += _reload(t, 't')
        else:
            md += [f"No report: {t.get('error') or 'rc %s' % t.get('rc')}; see log_t.txt.", '']
    (out/'gpu_check.md').write_text('\n'.join(md) + '\n')


def _reload(part:dict, name:str) -> list:
    "The line saying whether the part's run folder, made on CUDA, reloaded with the GPU hidden."
    cr = part.get('cpu_reload')
    if not cr: return []
    return [f"The run's files reloaded with the GPU hidden (`CUDA_VISIBLE_DEVICES= ulmfit predict`): "
            + (f"{len(cr['predictions'])} predictions" if cr['rc'] == 0 and cr['predictions'] else
               f"**failed** (rc {cr['rc']}; see log_{name}_cpu.txt)"), '']

def _lm_speed(lm:dict) -> str:
    "Stage 2's unfrozen tokens/s as `finetune_lm` recorded it, with what it counted."
    s, n = (lm.get('tokens_per_s') or {}).get('unfrozen'), lm.get('epochs', [0, 0])[1]
    return (f"{s:,} ({n} epoch{'s' if n > 1 else ''} of {lm['tokens_per_epoch']:,} tokens in {lm['fit_s']['unfrozen']:.0f} s)"
            if s else '—')

if __name__ == '__main__': main(*sys.argv[1:3])
