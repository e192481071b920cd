"""The MCP server of ``studio serve``: four read-only tools over one workspace (mcp 2.x ``MCPServer``).

Tools (arguments as in :class:`studio.serve.service.ExampleService`):

* ``retrieve_examples(instruction, history, observation, k, mode)`` -- the rag agent's retrieval for one step;
* ``search_examples(query, filters, k, mode)`` -- free-text search, filters on app / kind / status / trajectory;
* ``get_trajectory(id, screenshots, max_steps)`` -- steps with reasons, actions and a11y text; screenshots as
  references or as MCP image content;
* ``get_screenshot(screenshot)`` -- one referenced screenshot as MCP image content.

A bad argument comes back as a tool error (``isError: true``) whose text says what to fix, so a model can
correct its call; argument types are validated by the SDK against each tool's input schema first.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable
from typing import Any

from mcp.types import CallToolResult, ImageContent, TextContent

from studio.serve.service import ExampleService

INSTRUCTIONS = (
    "Examples of desktop tasks done in real applications (Learn-by-Interact Studio). At every step of your task, "
    "call retrieve_examples with the task instruction, your previous steps and the current observation (an "
    "accessibility table or any screen text); put its prompt_text into your prompt as examples of similar "
    "interactions. search_examples finds examples by words; get_trajectory shows a whole recorded run."
)


async def _run(fn: Callable[..., Any], *args: Any) -> Any:
    """Call a service method on a worker thread; studio errors become tool errors the caller reads."""
    import anyio
    from mcp.server.mcpserver.exceptions import ToolError

    from studio.errors import StudioError

    try:
        return await anyio.to_thread.run_sync(functools.partial(fn, *args))
    except StudioError as exc:
        raise ToolError(str(exc)) from exc


def build_mcp(service: ExampleService) -> Any:
    """An ``MCPServer`` whose tools answer from ``service``."""
    from mcp.server.mcpserver import MCPServer

    from studio import __version__

    server = MCPServer(
        name="learn-by-interact-studio", instructions=INSTRUCTIONS, version=__version__, log_level="WARNING"
    )

    @server.tool(
        description=(
            "Examples for one step of a desktop agent (the Learn-by-Interact paper's Algorithm 2): BM25 over the "
            "current observation plus dense search on a query a model writes from instruction, history and "
            "observation. Returns the examples and prompt_text, the text to put in your prompt."
        )
    )
    async def retrieve_examples(
        instruction: str,
        history: list[str | dict[str, str]] | None = None,
        observation: str = "",
        k: int | None = None,
        mode: str | None = None,
    ) -> dict[str, Any]:
        """instruction: the task; history: previous steps ('reason -> action' strings or {reason, action});
        observation: the current a11y table (id, role, name, text, position, size TSV) or any screen text;
        k: examples wanted (default m1 + m2 of the workspace); mode: both | observation | model | instruction
        | none (default: the workspace's)."""
        result: dict[str, Any] = await _run(service.retrieve_examples, instruction, history, observation, k, mode)
        return result

    @server.tool(description="Search the example index by words (task words or screen words), with filters.")
    async def search_examples(
        query: str,
        filters: dict[str, str | list[str]] | None = None,
        k: int = 5,
        mode: str = "both",
    ) -> dict[str, Any]:
        """filters: any of app, kind (instruction | replicate), status, trajectory_id -> a value or a list;
        mode: both (fused) | observation (BM25) | model / instruction (dense)."""
        result: dict[str, Any] = await _run(service.search_examples, query, filters, k, mode)
        return result

    @server.tool(
        description=(
            "A recorded trajectory (by trajectory id or example id): every step's reason, action, error and "
            "accessibility table. screenshots: none | refs (default; fetch with get_screenshot) | inline (sent "
            "as images, at most 20)."
        )
    )
    async def get_trajectory(id: str, screenshots: str = "refs", max_steps: int | None = None) -> CallToolResult:
        result = await _run(service.get_trajectory, id, screenshots, max_steps)
        images = result.pop("_images", [])
        content: list[Any] = [TextContent(type="text", text=json.dumps(result, ensure_ascii=False))]
        for _digest, png in images:
            content.append(
                ImageContent(type="image", data=base64.b64encode(png).decode("ascii"), mime_type="image/png")
            )
        return CallToolResult(content=content, structured_content=result)

    @server.tool(description="One screenshot referenced by a get_trajectory step, as a PNG image.")
    async def get_screenshot(screenshot: str) -> CallToolResult:
        png = await _run(service.get_screenshot, screenshot)
        return CallToolResult(
            content=[ImageContent(type="image", data=base64.b64encode(png).decode("ascii"), mime_type="image/png")]
        )

    return server


def run_stdio(service: ExampleService) -> None:
    """Serve MCP over stdin/stdout until the client closes the pipe."""
    build_mcp(service).run("stdio")


__all__ = ["INSTRUCTIONS", "build_mcp", "run_stdio"]
