"""Shared set-up for the tests."""

from __future__ import annotations

import pytest

from nnexp.edge.config import register


@pytest.fixture(autouse=True, scope="session")
def _nnexp_schema():
    """nnexp's config names its schema in Hydra's ConfigStore; the command registers it
    when it starts, and tests that compose the config themselves need it too."""
    register()
