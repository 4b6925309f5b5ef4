"""Benchmarks of the course's CPU path, measured side by side in one run.

Question: how fast does each step of the course run on this CPU (spaCy tokenization, LM training at the profiles'
model sizes and where its time goes, per-item and batched inference, ULMFiT against TF-IDF end to end), and how
much of the machine's matmul throughput does the LM use?

    python bench/run.py --size full            # the numbers in README (a few minutes on 2 cores)
    python bench/run.py --size tiny --out X    # what CI runs, only to prove the script works

Writes a JSON file and a Markdown table. Machine-dependent numbers are also given as ratios (to the machine's
own fp32 matmul throughput, or batched vs per-item), which are steadier on a noisy machine than seconds.
"""
import argparse, json, os, platform, random, resource, sys, time
from pathlib import Path
import torch, torch.nn.functional as F
from fastai.text.all import AWD_LSTM, get_language_model, defaults, get_text_files
from ulmfit_nb.data import get_profile, imdb_path
from ulmfit_nb.weights import lm_config
from ulmfit_nb.tokenization import tokenization_speed
from ulmfit_nb.runs import run_dir
from ulmfit_nb.evaluate import inference_speed, tfidf_baseline
from ulmfit_nb import cli

SIZES = dict(tiny=dict(reviews=60, steps=3, n=256, predict=5, batched=40),
             full=dict(reviews=1000, steps=8, n=2048, predict=30, batched=1000))


def matmul_gflops(n, reps=5):
    "The machine's fp32 matrix-multiply throughput (GFLOP/s) with torch's threads."
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    t = time.perf_counter()
    for _ in range(reps): a @ b
    return 2 * n**3 * reps / (time.perf_counter() - t) / 1e9


def lm_matmul_params(model, vocab, emb_sz):
    "Weights that take part in matrix products per token: LSTM gates, and the decoder (tied to the embedding)."
    return sum(p.numel() for n, p in model.named_parameters() if p.dim() == 2 and 'encoder' not in n) + vocab * emb_sz


def lm_step(arch, vocab, bs, seq_len):
    "An AWD-LSTM LM and a function doing one training step (forward, backward, Adam) on random tokens."
    torch.manual_seed(0)
    m = get_language_model(AWD_LSTM, vocab, config=lm_config(**arch), drop_mult=0.5)
    opt = torch.optim.Adam(m.parameters(), 1e-3)
    x, y = torch.randint(0, vocab, (bs, seq_len)), torch.randint(0, vocab, (bs, seq_len))
    def step():
        m.reset(); loss = F.cross_entropy(m(x)[0].view(-1, vocab), y.view(-1))
        opt.zero_grad(); loss.backward(); opt.step()
    return m, step


def lm_train_speed(arch, vocab=10_000, bs=32, seq_len=72, steps=8):
    "Tokens/s of a full AWD-LSTM LM training step (forward, backward, Adam) on random tokens."
    m, step = lm_step(arch, vocab, bs, seq_len)
    for _ in range(2): step()
    t = time.perf_counter()
    for _ in range(steps): step()
    tok_s = bs * seq_len * steps / (time.perf_counter() - t)
    flop_per_tok = 6 * lm_matmul_params(m, vocab, arch['emb_sz'])  # forward 2 FLOPs a weight, backward 4
    return dict(arch=f"{arch['emb_sz']}/{arch['n_hid']}/{arch['n_layers']}", vocab=vocab, bs=bs,
                tokens_per_s=round(tok_s), gflops=round(tok_s * flop_per_tok / 1e9, 1))


HOTSPOTS = (('LSTM kernels', ('rnn', 'lstm')), ('matrix products (decoder)', ('aten::mm', 'aten::addmm')),
            ('softmax + loss', ('softmax', 'nll_loss', 'fill_')), ('dropout masks', ('bernoulli', 'dropout')))


def lm_hotspots(arch, vocab=10_000, bs=32, seq_len=72, steps=3):
    "Share of an LM training step's CPU time per kind of op (torch.profiler), and GFLOP/s of the matmul-heavy ones."
    from torch.profiler import profile, ProfilerActivity
    m, step = lm_step(arch, vocab, bs, seq_len)
    step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps): step()
    ev = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in ev)
    share = {k: 0. for k, _ in HOTSPOTS} | {'other (optimizer, embedding, copies)': 0.}
    for e in ev:
        k = next((k for k, pats in HOTSPOTS if any(p in e.key for p in pats)), 'other (optimizer, embedding, copies)')
        share[k] += e.self_cpu_time_total / total
    n_tok = bs * seq_len * steps
    lstm_flop = 6 * sum(p.numel() for n, p in m.named_parameters() if p.dim() == 2 and 'rnns' in n)
    s = total / 1e6  # profiler times are in microseconds
    return dict(arch=f"{arch['emb_sz']}/{arch['n_hid']}/{arch['n_layers']}", share={k: round(v, 3) for k, v in share.items()},
                lstm_gflops=round(n_tok * lstm_flop / (share['LSTM kernels'] * s) / 1e9, 1),
                decoder_gflops=round(n_tok * 6 * vocab * arch['emb_sz'] / (share['matrix products (decoder)'] * s) / 1e9, 1))


def inference_breakdown(learn, texts, bs=64):
    "Where batched inference time goes: making the batches (tokenize, numericalize, pad) vs the model itself."
    start = time.perf_counter()
    batches = list(learn.dls.test_dl(texts, bs=bs))
    data_s = time.perf_counter() - start
    learn.model.eval()
    start = time.perf_counter()
    with torch.no_grad():
        for b in batches: learn.model.reset(); learn.model(b[0])
    model_s = time.perf_counter() - start
    return dict(data_s=round(data_s, 2), model_s=round(model_s, 2), data_share=round(data_s / (data_s + model_s), 2),
                model_only_per_s=round(len(texts) / model_s, 1))


def end_to_end(runs):
    "Accuracy and wall time of the forward ULMFiT pipeline (data, stage 2, stage 3, evaluation) vs TF-IDF, per run."
    rows = []
    for r in runs:
        rep = json.loads((Path(r) / 'report.json').read_text())
        rows.append(dict(run=str(r), profile=rep['profile']['name'], labels=2 * rep['profile']['n_train'],
                         ulmfit_accuracy=rep['evaluation']['accuracy'], ulmfit_wall_s=round(sum(rep['stage_times_s'].values())),
                         tfidf_accuracy=rep['tfidf']['accuracy'], tfidf_wall_s=round(rep['tfidf']['seconds'], 1)))
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--size', choices=list(SIZES), default='full')
    p.add_argument('--out', type=Path, default=Path(__file__).parent / 'results.json')
    p.add_argument('--runs', nargs='*', type=Path, help='run folders whose report.json to summarise '
                   '(default: the tiny and cpu runs under the fastai data folder, when present)')
    a = p.parse_args(argv)
    sz, res = SIZES[a.size], dict(size=a.size, machine=dict(cpus=os.cpu_count(), threads=torch.get_num_threads(),
                                                             processor=platform.processor() or platform.machine()))
    start = time.time()
    res['matmul_gflops'] = round(matmul_gflops(sz['n']), 1)
    print('fp32 matmul GFLOP/s:', res['matmul_gflops'], flush=True)

    files = sorted(get_text_files(imdb_path(), folders=['train']))
    texts = [f.read_text(encoding='utf-8') for f in random.Random(0).sample(files, sz['reviews'])]
    tokenization_speed(texts[:10], n_workers=0)  # warm up spaCy
    res['tokenization'] = {f'{n}_workers': tokenization_speed(texts, n_workers=n) for n in (0, defaults.cpus)}
    print('tokenization:', {k: round(v['reviews_per_s']) for k, v in res['tokenization'].items()}, flush=True)

    archs = dict(tiny=get_profile('tiny').arch, cpu=get_profile('cpu').arch, fastai_default=dict(emb_sz=400, n_hid=1152, n_layers=3))
    res['lm_training'] = {k: lm_train_speed(v, steps=sz['steps'] if k != 'fastai_default' else max(2, sz['steps'] // 4))
                          for k, v in archs.items()}
    for k, v in res['lm_training'].items():
        v['of_matmul_peak'] = round(v['gflops'] / res['matmul_gflops'], 2)
        print('LM training', k, v, flush=True)

    run = run_dir('tiny')
    cli.run_pipeline('tiny', run, log=lambda *x: None)
    learn = cli.saved_classifier(run)
    test = sorted(get_text_files(imdb_path(), folders=['test']))
    tt = [f.read_text(encoding='utf-8') for f in random.Random(1).sample(test, sz['batched'])]
    res['inference'] = inference_speed(learn, tt, n_predict=sz['predict'])
    res['inference'] |= inference_breakdown(learn, tt)
    print('inference:', {k: round(v, 2) for k, v in res['inference'].items()}, flush=True)
    res['lm_hotspots'] = lm_hotspots(archs['cpu'], steps=sz['steps'])
    print('LM hot spots:', res['lm_hotspots'], flush=True)

    runs = a.runs if a.runs is not None else [p for p in (run_dir('tiny'), run_dir('cpu', os.environ.get('ULMFIT_CPU_RUN')))
                                                if (p / 'report.json').exists()]
    res['end_to_end'] = end_to_end(runs)
    res['peak_memory_mb'] = round(max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                                      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024)
    res['wall_s'] = round(time.time() - start)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(res, indent=1))
    a.out.with_suffix('.md').write_text(markdown(res))
    print(markdown(res))
    return res


def markdown(r):
    tk = r['tokenization']
    lines = [f"Benchmarks (`python bench/run.py --size {r['size']}`), {r['machine']['cpus']} CPUs, "
             f"fp32 matmul {r['matmul_gflops']} GFLOP/s.", '', '| what | value | ratio |', '|---|---|---|']
    s = tk['0_workers']
    pll = [v for k, v in tk.items() if k != '0_workers'][0]
    lines.append(f"| spaCy tokenization, serial | {s['reviews_per_s']:.0f} reviews/s | |")
    lines.append(f"| spaCy tokenization, {pll['n_workers']} workers | {pll['reviews_per_s']:.0f} reviews/s | "
                 f"{pll['reviews_per_s'] / s['reviews_per_s']:.2f}× serial |")
    for k, v in r['lm_training'].items():
        lines.append(f"| LM training, {k} AWD-LSTM ({v['arch']}, vocab {v['vocab']}, bs {v['bs']}) | "
                     f"{v['tokens_per_s']} tokens/s, {v['gflops']} GFLOP/s | {v['of_matmul_peak']:.0%} of matmul |")
    i = r['inference']
    lines.append(f"| classifier inference, per-item `predict` | {i['predict_per_s']:.1f} reviews/s | |")
    lines.append(f"| classifier inference, batched `get_preds` | {i['batched_per_s']:.1f} reviews/s | {i['speedup']:.0f}× per-item |")
    lines.append(f"| batched inference split | making batches {i['data_share']:.0%}, model {1 - i['data_share']:.0%} | "
                 f"model alone {i['model_only_per_s']:.0f} reviews/s = {i['model_only_per_s'] / i['predict_per_s']:.0f}× per-item |")
    h = r['lm_hotspots']
    lines.append(f"| LM training step ({h['arch']}), where the time goes | " +
                 ', '.join(f"{k} {v:.0%}" for k, v in h['share'].items()) +
                 f" | LSTM {h['lstm_gflops']}, decoder {h['decoder_gflops']} GFLOP/s |")
    for e in r['end_to_end']:
        lines.append(f"| end to end, {e['profile']} profile, {e['labels']} labels | ULMFiT {e['ulmfit_accuracy']:.3f} in "
                     f"{e['ulmfit_wall_s']} s; TF-IDF+LR {e['tfidf_accuracy']:.3f} in {e['tfidf_wall_s']} s | |")
    lines.append(f"| peak memory (RSS) | {r['peak_memory_mb']} MB | |")
    return '\n'.join(lines) + '\n'


if __name__ == '__main__':
    main()
