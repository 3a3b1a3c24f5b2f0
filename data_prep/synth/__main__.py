"""``python -m data_prep.synth``: see :func:`data_prep.synth.main`."""
from .driver import main

raise SystemExit(main())
