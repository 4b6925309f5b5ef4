"""Plumbing of lessons 00-04, moved out of the lessons so that they end at the ML.

Profiles chosen by environment variables (00), the helpers' checks of their arguments (01, 04), LM batch workers
(02, 03), stage 2's run folder: its record, its timing bookkeeping and a ready-made stage 2 (03), and the insides
of 04's greedy check (TF32 on a GPU) and review widget. Each test names the lesson cell it came from.

Runs at the `tiny` profile after `nbdev-test`, in the same FASTAI_HOME: the stage 2 it reads is the one lesson 03
trained (when it is missing, the `stage2` fixture trains it first, in a minute or two).
"""
import dataclasses, itertools, json, math, os
from pathlib import Path
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
import pytest, torch
import fastcore.test as fc   # fc.test_eq etc.: names pytest would otherwise collect as tests
from fastcore.xtras import modified_env
from fastai.text.all import UNK, set_seed
from ulmfit_nb.data import PROFILES, get_profile, imdb_sample
from ulmfit_nb.tokenization import tokenize_review, train_subword, tokens_per_review, compare_tokenizers, tokenization_speed
from ulmfit_nb.pretrain import lm_workers, token_dls
from ulmfit_nb.weights import save_lm_weights, stage1_weights
from ulmfit_nb.runs import run_dir
from ulmfit_nb.finetune import lm_dls, vocab_coverage, finetune_lm, finetuned_lm, run_arch, run_stage1
from ulmfit_nb.generate import (_EvalRNN, _feed, prompt_ids, next_token_probs, sample_next, generate, generate_ids,
                                decode_ids, detokenize, plot_temperatures, generate_for_widget, review_widget)

TEXT = "I liked this movie because"   # the prompt of lesson 04


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    "One CPU thread, as lesson 04 runs: at `tiny` size every matrix product is small, and threads cost more than they save."
    n = torch.get_num_threads(); torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope='module')
def prof(): return get_profile('tiny')


@pytest.fixture(scope='module')
def stage2(prof):
    "Lesson 03's stage 2 at `tiny`: the sample, the run's record, its LM data and the fine-tuned learner."
    path = imdb_sample(prof)
    res = finetune_lm(path, prof)
    return dict(path=path, res=res, dls=lm_dls(path, prof), lm=finetuned_lm(prof))


# ---------------------------------------------------------------- 00: profiles from the environment
def test_profile_by_name_and_env(monkeypatch):  # 00 b7c99a8f
    monkeypatch.delenv('ULMFIT_PROFILE_OVERRIDES', raising=False)
    fc.test_fail(lambda: get_profile('huge'), contains='choose one of tiny, cpu, gpu')
    monkeypatch.setenv('ULMFIT_PROFILE', 'gpu')
    fc.test_eq(get_profile().name, 'gpu')


def test_profile_overrides_env(monkeypatch):  # 00 5c17d97e
    monkeypatch.setenv('ULMFIT_PROFILE_OVERRIDES', '{"n_train": 10, "clas_epochs": [1, 1, 1, 1]}')
    p = get_profile('gpu')
    fc.test_eq((p.name, p.n_train, p.clas_epochs, p.weights), ('gpu', 10, (1, 1, 1, 1), ('wt103', 'shipped')))
    monkeypatch.setenv('ULMFIT_PROFILE_OVERRIDES', '{"n_trian": 10}')
    fc.test_fail(lambda: get_profile('gpu'), contains="unknown field(s) ['n_trian']")
    monkeypatch.delenv('ULMFIT_PROFILE_OVERRIDES')
    fc.test_eq(get_profile('gpu'), PROFILES['gpu'])


# ---------------------------------------------------------------- 01: the tokenization helpers' checks
def test_tokenization_bad_input(tmp_path):  # 01 da5cc56f, f58b98ed, c5dbdb57, 5ef12c8f
    fc.test_fail(lambda: tokenize_review(None), contains='must be a str')
    fc.test_fail(lambda: tokenize_review(['a list']), contains='must be a str')
    fc.test_fail(lambda: train_subword(['a short review'], 5, tmp_path/'5'), contains='`vocab_sz` must be')
    fc.test_fail(lambda: tokens_per_review([]), contains='non-empty')
    fc.test_fail(lambda: tokens_per_review('one review'), contains='list of review texts')
    fc.test_fail(lambda: compare_tokenizers([1, 2]), contains='must be a str')
    fc.test_fail(lambda: tokenization_speed([]), contains='non-empty')
    fc.test_fail(lambda: tokenization_speed(['a short review'], n_workers=-1), contains='`n_workers` must be')


# ---------------------------------------------------------------- 02, 03: LM batch workers
def test_lm_workers_env():  # 02 6e7be781
    docs, vocab = [torch.arange(200)]*4, [str(i) for i in range(200)]
    dls = token_dls(docs, docs, vocab, bs=4, seq_len=8)
    fc.test_eq((dls.train.fake_l.num_workers, dls.valid.fake_l.num_workers), (lm_workers(),)*2)
    with modified_env(ULMFIT_LM_WORKERS='3'): fc.test_eq(lm_workers(), 3)  # to measure, or to rehearse workers on a CPU
    with modified_env(ULMFIT_LM_WORKERS='two'): fc.test_fail(lm_workers, contains='whole number')


def test_lm_batch_workers(stage2):  # 03 10c7c257
    dls_lm = stage2['dls']
    fc.test_eq(dls_lm.train.fake_l.num_workers, lm_workers())
    if not (torch.cuda.is_available() or os.environ.get('ULMFIT_LM_WORKERS')): fc.test_eq(lm_workers(), 0)
    def first_batches(dl, n=6):
        set_seed(3); return torch.cat([x for x, _ in itertools.islice(dl, n)])
    two = dls_lm.train.new(num_workers=2); fc.test_eq(two.fake_l.num_workers, 2)
    fc.test_eq(first_batches(two), first_batches(dls_lm.train.new(num_workers=0)))  # same batches, same order


# ---------------------------------------------------------------- 03: stage 2's run folder
def test_vocab_coverage_needs_two():  # 03 12aa8381
    fc.test_fail(lambda: vocab_coverage(['the', 'film'], None), contains='needs two vocabularies')


def test_stage2_record(stage2, prof):  # 03 8e848d60 (timing bookkeeping), 36ac538e (run folder)
    res, dls_lm = stage2['res'], stage2['dls']
    fc.test_eq(res['tokens_per_epoch'], len(dls_lm.train)*prof.bs*prof.seq_len)  # for the report's tokens/s
    assert set(res['fit_s']) <= {'frozen', 'unfrozen'} and all(s > 0 for s in res['fit_s'].values()), res['fit_s']
    fc.test_eq(set(res['tokens_per_s']), set(res['fit_s']))
    if 'unfrozen' in res['fit_s']:
        fc.test_eq(res['tokens_per_s']['unfrozen'],
                   round(res['tokens_per_epoch']*prof.lm_epochs[1]/res['fit_s']['unfrozen']))
    s1 = stage1_weights(prefer=prof.weights)                # what `lm_learner` started stage 2 from
    fc.test_eq(run_arch(run_dir(prof)), s1.arch)            # the size saved models are rebuilt at
    fc.test_eq(run_stage1(run_dir(prof)).path, s1.path)     # and the stage 1 it came from
    fc.test_eq(finetune_lm(stage2['path'], prof), res)      # a finished stage is not trained again


def test_ready_made_stage2(stage2, prof, tmp_path):  # 03 0af6b9e6
    "The fine-tuned LM saved as a stage-2 folder and taken up by a fresh run folder scores what it scored."
    lm, res, path = stage2['lm'], stage2['res'], stage2['path']
    src, other = tmp_path/'stage2', tmp_path/'run'
    save_lm_weights(lm.model, lm.dls.vocab, run_arch(run_dir(prof)), src, card=dict(stage1=dict(kind=res['stage1'])))
    ready = dataclasses.replace(prof, stage2=str(src))
    r = finetune_lm(path, ready, other)
    fc.test_close(r['ppl'], res['ppl'], eps=res['ppl']*0.01)
    fc.test_close(r['ppl_stage1'], res['ppl_stage1'], eps=res['ppl_stage1']*0.01)   # stage 1 measures as before
    fc.test_eq(json.loads((other/'vocab_fwd.json').read_text()), list(lm.dls.vocab))
    assert (other/'models'/'lm_fwd_enc.pth').exists()
    fc.test_eq(finetuned_lm(ready, other).dls.vocab, lm.dls.vocab)   # reloads with the weights' own vocabulary
    fc.test_fail(lambda: finetune_lm(path, prof, other), contains='already holds a stage 2 from')
    fc.test_fail(lambda: finetune_lm(path, ready, run_dir(prof)), contains='fine-tuned in it')
    not_stage2 = dataclasses.replace(prof, stage2=str(tmp_path))
    fc.test_fail(lambda: finetune_lm(path, not_stage2, other), contains='not a stage-2 weights folder')


# ---------------------------------------------------------------- 04: generation's checks of its arguments
def test_generation_bad_arguments(stage2):  # 04 aad5b002, 7be6a6d0, d1382096, c791ae6c, 30a6d161
    learn = stage2['lm']
    fc.test_fail(lambda: next_token_probs(learn, TEXT, temperature=0), contains='temperature must be')
    q = torch.tensor([0.5, 0.2, 0.15, 0.1, 0.05])
    fc.test_fail(lambda: sample_next(q, top_k=0), contains='top_k')
    fc.test_fail(lambda: sample_next(q, top_p=0.), contains='top_p')
    fc.test_fail(lambda: sample_next(q, top_p=1.01), contains='top_p')
    for kw, msg in [(dict(prompt='   '), 'prompt is empty'), (dict(prompt=['a', 'film']), 'not list'),
                    (dict(temperature=0.), 'temperature must be'), (dict(n_words=0), 'n_words must be'),
                    (dict(top_k=0), 'top_k must be'), (dict(top_p=1.2), 'top_p must be')]:  # one case per argument
        fc.test_fail(lambda: generate(learn, **{'prompt': TEXT, **kw}), contains=msg)
    fc.test_fail(lambda: plot_temperatures(learn, TEXT, []), contains='temps is empty')
    fc.test_fail(lambda: plot_temperatures(learn, TEXT, k=0), contains='k must be')
    fc.test_eq(generate_for_widget(learn, '  ', 0.8, 15), '⚠ prompt is empty: give at least one word to start from')
    assert generate_for_widget(learn, TEXT, temperature=0.).startswith('⚠ temperature must be')
    assert generate_for_widget(learn, TEXT, top_p=0.).startswith('⚠ top_p must be')


# ---------------------------------------------------------------- 04: greedy with the RNN state == re-reading, TF32 included
def greedy_refeed(learn, prompt, n):
    "Greedy tokens the slow way (the whole sequence from a fresh state at each step), and the logits of each step."
    out, unk, step_logits = prompt_ids(learn, prompt).tolist(), learn.dls.vocab.index(UNK), []
    for _ in range(n):
        with _EvalRNN(learn.model) as m: logits = _feed(m, torch.tensor(out))
        logits[unk] = -math.inf
        out.append(int(logits.argmax())); step_logits.append(logits)
    return out, step_logits

def check_same_greedy(fast, slow, step_logits, tol=0., vocab=None):
    "`fast` == `slow`, except that they may part at a step where `fast`'s token scores within `tol` of the best."
    n0 = len(slow) - len(step_logits)
    fc.test_eq(fast[:n0], slow[:n0]); fc.test_eq(len(fast), len(slow))
    for i, (a, b) in enumerate(zip(fast[n0:], slow[n0:])):
        if a == b: continue
        gap = float(step_logits[i][b] - step_logits[i][a])
        name = (lambda t: repr(vocab[t])) if vocab else repr
        if gap > tol: raise AssertionError(f"step {i}: generate_ids took {name(a)}, re-reading gives {name(b)}, "
                                           f"whose logit is {gap:.3g} higher (tolerance {tol})")
        return i          # a near-tie: from here on the two texts may differ
    return None


def test_check_same_greedy_on_made_up_logits():  # 04 2a4605e3
    "A near-tie is let through (and ends the comparison), a clear difference is not."
    near = [torch.tensor([0., 2., 1.99, -math.inf]), torch.tensor([3., 0., 0., 0.])]
    fc.test_eq(check_same_greedy([7, 2, 0], [7, 1, 0], near, tol=0.05), 0)
    fc.test_fail(lambda: check_same_greedy([7, 2, 0], [7, 1, 0], near, tol=0.), contains='re-reading gives')
    fc.test_fail(lambda: check_same_greedy([7, 1, 1], [7, 1, 0], near, tol=0.05), contains='re-reading gives')


def test_greedy_state_equals_refeed(stage2):  # 04 6e7bec1a, 1e638562
    learn = stage2['lm']
    vocab, n_prompt = learn.dls.vocab, len(prompt_ids(learn, TEXT))
    greedy = generate_ids(learn, TEXT, 15, top_k=1)
    slow, step_logits = greedy_refeed(learn, TEXT, 15)
    on_gpu = next(learn.model.parameters()).is_cuda
    # CPU: exact. GPU: 1% of the largest logit, far above TF32's rounding (2**-11 of each value) yet below real margins
    tol = 0.01 * max(float(l[l.isfinite()].abs().max()) for l in step_logits) if on_gpu else 0.
    parted = check_same_greedy(greedy, slow, step_logits, tol, vocab)
    if not on_gpu: fc.test_eq(greedy, slow)
    # the check could have failed: put the runner-up where the model was most sure, and it must object
    margin = lambda l: float(l.topk(2).values[0] - l.topk(2).values[1])
    if parted != 0:  # (on a GPU a near-tie at the very first step leaves no shared step to spoil)
        s = max(range(parted if parted is not None else 15), key=lambda s: margin(step_logits[s]))
        assert margin(step_logits[s]) > tol
        bad = greedy.copy(); bad[n_prompt + s] = int(step_logits[s].topk(2).indices[1])
        fc.test_fail(lambda: check_same_greedy(bad, slow, step_logits, tol, vocab), contains='re-reading gives')


# ---------------------------------------------------------------- 04: the review widget's controls
def test_review_widget(stage2):  # 04 3134d961, ca1429c3
    learn = stage2['lm']
    w = review_widget(learn, TEXT)     # the widget as a learner meets it
    shown = dict(w.kwargs)
    t = review_widget(learn, TEXT)     # a second copy to turn the knobs of
    prompt_box, temp, n_box, seed_box, k_box, p_box = t.children[:6]
    fc.test_eq([c.description for c in t.children[:6]],
               ['prompt', 'temperature', 'n_words', 'seed', 'top_k (0=off)', 'top_p'])
    assert all(c.continuous_update is False for c in (prompt_box, temp, n_box, k_box, p_box))
    assert all(c.style.description_width == '110px' for c in t.children[:6])
    first = t.result
    fc.test_eq(first, generate_for_widget(learn, TEXT, 0.8, 30, seed=0))
    assert first.startswith('I liked this movie because'), first   # shown as text, not tokens
    prompt_box.value = ''              # an empty prompt in the text box: a message, not a crash
    assert t.result.startswith('⚠ prompt is empty')
    prompt_box.value = TEXT
    fc.test_eq(t.result, first)           # same controls, same seed: same review
    temp.value = 0.4*3                 # 1.2000000000000002 in floats
    assert t.result != first           # temperature changes the review (with top-k off)
    fc.test_eq(plt.gcf().axes[0].get_title(), 'next token at T=1.2')   # and the plot's title reads as the slider does
    plt.close('all')
    temp.value = 0.8
    fc.test_eq(t.result, first)
    n_box.value = 15; k_box.value = 1  # 15 tokens, top_k=1: greedy
    fc.test_eq(t.result, detokenize(decode_ids(learn, generate_ids(learn, TEXT, 15, top_k=1))))
    fc.test_eq(w.kwargs, shown)           # the first widget was not touched
    fc.test_eq(shown, dict(prompt=TEXT, temperature=0.8, n_words=30, seed=0, top_k=0, top_p=1.0))
    fc.test_eq(w.result, first)
    plt.close('all')


def test_moved_edge_cases(tmp_path):
    "Edge cases that once sat in lessons 00, 03, 05 and 09: each raises its one line, or falls back as documented."
    import random
    from ulmfit_nb.data import _count, _pick, _copy_review
    from ulmfit_nb.finetune import run_config, _stage2_source
    from ulmfit_nb.runs import resolve_run
    from ulmfit_nb.classifier import clas_recipe
    from ulmfit_nb.yourdata import _stage1
    fc.test_fail(lambda: _count(list('abc'), 4), contains='only 3 are there')                  # 00: asking for more than there is
    f = tmp_path/'r.txt'; f.write_text('One  fine\nfilm, truly.'); _copy_review(f, tmp_path/'cut.txt', 2)
    fc.test_eq((tmp_path/'cut.txt').read_text(), 'One fine')                                    # 00: max_words cuts whole words
    fc.test_eq(run_config(tmp_path), {})                                                         # 03: a folder with no run yet
    fc.test_eq(run_arch(tmp_path), stage1_weights(prefer=('shipped',)).arch)
    fc.test_eq(_stage2_source(resolve_run('tiny', tmp_path/'run'), 'lm_fwd'), (None, None))
    fc.test_fail(lambda: clas_recipe('tiny', 'slowly'), contains='Unknown stage-3 schedule')    # 05
    tiny = get_profile('tiny')
    fc.test_fail(lambda: _stage1('shipped', get_profile(tiny, stage2='shipped')), contains='exclude each other')  # 09
