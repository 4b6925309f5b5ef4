"""Held-out check of results/ulmfit_all.md's finding at 1,000 labels.

Question: does the schedule chosen on the validation block hold on the run's 2,000 held-out reviews? The cpu run's
ULMFiT classifier trained with every layer from the first step (one cycle, lr 5e-3, the profile's 5 epochs) instead
of gradual unfreezing, scored on the run's held-out reviews, 2 seeds. Chosen on the validation block first; this
only reports.

    python -m bench.experiments.heldout_all_layers

Prints one line per seed and writes bench/experiments/results/heldout_all_layers.json.
"""
import json, time
from fastai.text.all import *
from bench.experiments import RESULTS, common
from ulmfit_nb.few_labels import curve_classifier

if __name__ == '__main__':
    rows, files = [], sorted(get_text_files(common.SAMPLE, folders=['train']))
    for seed in (0, 1):
        t = time.time()
        learn, epochs = curve_classifier(common.SAMPLE, common.vocab(), files, common.PROF, common.CPU_OUT, 'finetuned', seed,
                                         gradual=False, lr=5e-3)
        with learn.no_bar(): acc = float(learn.validate()[1])
        rows.append(dict(seed=seed, labels=len(files), held_out=len(learn.dls.valid_ds), epochs=list(epochs), acc=acc,
                         s=round(time.time() - t)))
        print(rows[-1], flush=True)
    (RESULTS/'heldout_all_layers.json').write_text(json.dumps(rows, indent=1))
