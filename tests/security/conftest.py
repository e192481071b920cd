"""Fixtures of the escape tests (helpers live in ``_support.py``)."""

from _support import canaries, pytest_collection_modifyitems, sb  # noqa: F401 - fixtures and hook
