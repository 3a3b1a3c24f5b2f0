"""``python -m fsa`` = the ``fsa`` command."""
from .cli import main

raise SystemExit(main())
