"""``python -m descend ...``: the command line (see :mod:`descend.cli`)."""

from .cli import main

raise SystemExit(main())
