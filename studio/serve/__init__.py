"""``studio serve``: a workspace's examples for any agent, over MCP (stdio or streamable HTTP) and plain HTTP JSON.

Modules: :mod:`~studio.serve.service` (the operations and their input checks, no transport),
:mod:`~studio.serve.mcp_server` (the MCP tools), :mod:`~studio.serve.http` (``/mcp`` + ``/api`` behind a bearer
token). The workspace is opened read-only and never written.

API::

    from studio.serve import ExampleService
    svc = ExampleService("ws")
    svc.retrieve_examples("Save the file as notes.txt", history=[], observation=a11y_table, k=5)
    svc.search_examples("save as dialog", filters={"app": "mousepad"})
    svc.get_trajectory(trajectory_or_example_id, screenshots="refs")
"""

from __future__ import annotations

from studio.serve.service import ExampleService

__all__ = ["ExampleService"]
