"""Fixtures of the network tests (the shared ones are in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from lanlab import Lan, make_lan


@pytest.fixture
def lan(netns_factory: Callable[..., Any], tmp_path: Path) -> Iterator[Lan]:
    """A LAN behind a router namespace (see lanlab.py); its servers stopped afterwards."""
    lab = make_lan(netns_factory, tmp_path)
    try:
        yield lab
    finally:
        lab.stop_all()
