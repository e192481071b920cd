"""Suite-wide settings: offscreen Qt, offline models, no network lookups."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # a Ray started by a test listens on 127.0.0.1 only

import pytest  # noqa: E402  (the environment above must be set before anything imports Qt or litellm)

#: pytest-timeout's limit for integration tests without their own ``@pytest.mark.timeout``: they start real
#: sandboxes and run real models, and must hold when another process keeps both cores busy (a loaded machine
#: runs them several times slower). Unit tests keep the 300 s of pyproject.toml. Speed belongs in benchmarks/.
INTEGRATION_TIMEOUT = 1800


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Integration tests get :data:`INTEGRATION_TIMEOUT`; ``STUDIO_TEST_TIMEOUT_SCALE`` (e.g. ``2``) scales every
    timeout, explicit ones included, for slower machines."""
    scale = float(os.environ.get("STUDIO_TEST_TIMEOUT_SCALE", "1") or 1)
    default = float(config.getini("timeout") or 0)
    for item in items:
        marker = item.get_closest_marker("timeout")
        if marker is not None and marker.args:
            limit = float(marker.args[0])
        elif item.get_closest_marker("integration") is not None:
            limit = INTEGRATION_TIMEOUT
        else:
            limit = default
        if limit and (marker is None or scale != 1):
            item.add_marker(pytest.mark.timeout(limit * scale))
