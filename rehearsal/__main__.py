"""Entry point of `python -m rehearsal` (see rehearsal.engine.cli)."""

from rehearsal.engine.cli import main

raise SystemExit(main())
