"""Evaluation: the suite runner, its agents and the report."""
