"""``python -m fsa.bench`` = ``fsa bench``."""
from . import main

raise SystemExit(main())
