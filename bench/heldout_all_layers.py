"""Held-out check of bench/levers/ulmfit_all.md's finding at 1,000 labels: the cpu run's ULMFiT classifier trained
with every layer from the first step (one cycle, lr 5e-3, the profile's 5 epochs) instead of gradual unfreezing,
scored on the run's 2,000 held-out reviews, 2 seeds. Chosen on the validation block first; this only reports.
Usage: python bench/heldout_all_layers.py; prints one line per seed and writes bench/levers/heldout_all_layers.json."""
import json, sys, time
from pathlib import Path
from fastai.text.all import *
sys.path.insert(0, str(Path(__file__).parent))
import levers
from ulmfit_nb.few_labels import curve_classifier

if __name__ == '__main__':
    rows, files = [], sorted(get_text_files(levers.SAMPLE, folders=['train']))
    for seed in (0, 1):
        t = time.time()
        learn, epochs = curve_classifier(levers.SAMPLE, levers.vocab(), files, levers.PROF, levers.CPU_OUT, 'finetuned', seed,
                                         gradual=False, lr=5e-3)
        with learn.no_bar(): acc = float(learn.validate()[1])
        rows.append(dict(seed=seed, labels=len(files), held_out=len(learn.dls.valid_ds), epochs=list(epochs), acc=acc,
                         s=round(time.time() - t)))
        print(rows[-1], flush=True)
    (Path(__file__).parent/'levers'/'heldout_all_layers.json').write_text(json.dumps(rows, indent=1))
