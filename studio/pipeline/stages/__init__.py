"""Synthesis stages: documents -> sections (docs), self-instruct tasks, backward construction, committee."""
