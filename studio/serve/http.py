"""``studio serve --http``: MCP over streamable HTTP at ``/mcp`` plus a plain JSON API at ``/api``, one port.

Every request needs ``Authorization: Bearer <token>`` (compared in constant time); anything else gets ``401``
with a JSON body saying how to authenticate. The plain API, for agents without an MCP client:

=====================================  ================================================================
``GET  /api/info``                     workspace name, index size, retrieval settings
``POST /api/retrieve_examples``        JSON body: ``instruction``, ``history``, ``observation``, ``k``, ``mode``
``POST /api/search_examples``          JSON body: ``query``, ``filters``, ``k``, ``mode``
``POST /api/get_trajectory``           JSON body: ``id``, ``screenshots`` (none|refs|inline), ``max_steps``;
                                       inline screenshots come back base64-encoded in ``images``
``GET  /api/screenshots/<sha256>``     one screenshot as ``image/png``
=====================================  ================================================================

Bad input answers ``400`` (``{"error": "..."}`` naming the argument and the fix), an unknown path ``404``, a
workspace without a retrieval index ``409``, a failed model call ``502``.
"""

from __future__ import annotations

import base64
import hmac
import json
import socket
import sys
from typing import TYPE_CHECKING, Any

from studio.serve.service import ExampleService, call

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

MAX_BODY = 1_000_000
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _json_response(obj: Any, status: int = 200) -> Response:
    from starlette.responses import Response

    body = json.dumps(obj, ensure_ascii=False).encode("utf-8")
    return Response(body, status_code=status, media_type="application/json")


def _error_status(exc: BaseException) -> int:
    from studio.errors import ModelError, RequestError, StudioError, WorkspaceError

    if isinstance(exc, RequestError):
        return 400
    if isinstance(exc, WorkspaceError):
        return 409
    if isinstance(exc, ModelError):
        return 502
    if isinstance(exc, StudioError):
        return 400
    return 500


class BearerAuth:
    """ASGI middleware: HTTP requests without the right bearer token get 401; lifespan events pass."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self._token = token.encode("utf-8")

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        auth = dict(scope.get("headers") or []).get(b"authorization", b"")
        scheme, _, given = auth.partition(b" ")
        if scheme.lower() != b"bearer" or not hmac.compare_digest(given.strip(), self._token):
            body = json.dumps(
                {
                    "error": "missing or wrong bearer token: send 'Authorization: Bearer <token>' with "
                    "the token `studio serve` printed (or set in STUDIO_SERVE_TOKEN)"
                }
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def build_app(service: ExampleService, token: str, *, host: str = "127.0.0.1") -> Any:
    """The ASGI app: ``/mcp`` (streamable HTTP MCP) and ``/api/...`` (plain JSON), behind :class:`BearerAuth`."""
    import anyio
    from starlette.responses import Response

    from studio.errors import StudioError
    from studio.serve.mcp_server import build_mcp

    if not token:
        raise ValueError("build_app needs a non-empty token")
    mcp = build_mcp(service)

    async def run(op: str, args: dict[str, Any]) -> Response:
        try:
            result = await anyio.to_thread.run_sync(lambda: call(service, op, args))
        except StudioError as exc:
            return _json_response({"error": str(exc)}, _error_status(exc))
        if isinstance(result, dict) and "_images" in result:
            result = dict(result)
            result["images"] = [
                {"screenshot": d, "png_base64": base64.b64encode(png).decode("ascii")}
                for d, png in result.pop("_images")
            ]
        return _json_response(result)

    async def info(request: Request) -> Response:
        return await run("info", {})

    async def operation(request: Request) -> Response:
        op = request.path_params["op"]
        body = await request.body()
        if len(body) > MAX_BODY:
            return _json_response({"error": f"request body is {len(body)} bytes; send at most {MAX_BODY}"}, 413)
        try:
            args = json.loads(body or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return _json_response({"error": f"request body is not JSON ({exc}); send a JSON object of arguments"}, 400)
        if not isinstance(args, dict):
            return _json_response({"error": "request body must be a JSON object of arguments"}, 400)
        if op not in ("retrieve_examples", "search_examples", "get_trajectory"):
            return _json_response(
                {
                    "error": f"no operation {op!r}; POST to /api/retrieve_examples, "
                    "/api/search_examples or /api/get_trajectory"
                },
                404,
            )
        return await run(op, args)

    async def screenshot(request: Request) -> Response:
        try:
            png = await anyio.to_thread.run_sync(service.get_screenshot, request.path_params["digest"])
        except StudioError as exc:
            return _json_response({"error": str(exc)}, _error_status(exc))
        return Response(png, media_type="image/png")

    # Registered with the SDK (its routes sit beside /mcp in one Starlette app); called, not used as decorators,
    # so the handlers keep their types.
    mcp.custom_route("/api/info", methods=["GET"])(info)
    mcp.custom_route("/api/{op}", methods=["POST"])(operation)
    mcp.custom_route("/api/screenshots/{digest}", methods=["GET"])(screenshot)
    app = mcp.streamable_http_app(host=host)
    return BearerAuth(app, token)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0: any free port); the caller reads the port from it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def run_http(
    service: ExampleService, token: str, *, host: str = "127.0.0.1", port: int = 8765, announce: Any = None
) -> None:
    """Serve until interrupted. ``announce(url)`` is called once the port is bound (default: print to stderr)."""
    import uvicorn

    sock = bind(host, port)
    actual = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{actual}"
    app = build_app(service, token, host=host)
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    (announce or (lambda u: print(f"serving on {u}/mcp (MCP) and {u}/api (JSON)", file=sys.stderr, flush=True)))(url)
    server.run(sockets=[sock])


__all__ = ["LOOPBACK", "BearerAuth", "bind", "build_app", "run_http"]
