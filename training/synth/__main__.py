"""``python -m training.synth``: the same as ``python -m training synth``."""

import sys

from .generate import main

sys.exit(main())
