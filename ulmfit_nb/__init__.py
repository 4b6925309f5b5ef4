__version__ = "0.1.0"

import warnings
# Importing fastai 2.8 runs `torch.jit.script` on a few activations, and torch >= 2.10 answers with a FutureWarning
# ("`torch.jit.script` is deprecated") that a learner can do nothing about. Importing this package first hides
# exactly that warning (every other warning still shows): lessons and the `ulmfit` command import it before fastai.
warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)
