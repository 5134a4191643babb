"""``python -m macvlan``: the command line (see :mod:`macvlan.cli`)."""

from __future__ import annotations

from macvlan.cli import main

raise SystemExit(main())
