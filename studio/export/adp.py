"""Agent Data Protocol (ADP) trajectories: one JSON object per example.

Follows the ADP standardized schema 1.2.0 (``schema/`` of neulab/agent-data-protocol, arXiv 2510.24702): a
``Trajectory`` ``{"schema_version", "id", "content", "details"}`` whose ``content`` is, for a desktop example,

* a ``text_observation`` (source ``user``): the task instruction;
* per step: a ``text_observation`` (source ``environment``) with the a11y table and/or an ``image_observation``
  (source ``environment``, ``content`` = the screenshot's path relative to the export directory), then one
  ``api_action`` per typed action: ``function`` is the pyautogui function name (``click``, ``doubleClick``,
  ``rightClick``, ``moveTo``, ``dragTo``, ``scroll``, ``hscroll``, ``write``, ``press``, ``hotkey``, ``keyDown``,
  ``keyUp``, ``mouseDown``, ``mouseUp``, ``wait``; ``terminate`` with ``status`` success/failure for DONE/FAIL),
  ``kwargs`` its named arguments in the export's coordinate convention, and ``description`` the step's REASON
  (on the step's first action) -- the shape ADP's own AgentNet converter gives pyautogui trajectories.

``details`` holds strings only: dataset name, app, example kind, trajectory id, screen size and conventions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

ADP_SCHEMA_VERSION = "1.2.0"


def _api(function: str, kwargs: dict[str, Any], description: str | None) -> dict[str, Any]:
    return {"class_": "api_action", "function": function, "kwargs": kwargs, "description": description}


def api_actions(action: Any) -> list[tuple[str, dict[str, Any]]]:
    """``(function, kwargs)`` pairs of one (coordinate-mapped) typed action."""
    from envs.actions import (
        Click,
        ClickElement,
        Done,
        Drag,
        Fail,
        Hotkey,
        Key,
        KeyDown,
        KeyUp,
        MouseDown,
        MouseUp,
        Move,
        Scroll,
        TypeText,
        Wait,
    )

    a = action
    xy: dict[str, Any] = {}
    if isinstance(a, Click | MouseDown | MouseUp | Scroll) and a.x is not None:
        xy = {"x": a.x, "y": a.y}
    if isinstance(a, Click):
        name = {
            (1, "left"): "click",
            (2, "left"): "doubleClick",
            (1, "right"): "rightClick",
            (3, "left"): "tripleClick",
            (1, "middle"): "middleClick",
        }.get((a.clicks, a.button))
        if name:
            return [(name, xy)]
        return [("click", {**xy, "clicks": a.clicks, "button": a.button})]
    if isinstance(a, Move):
        return [("moveRel", {"xOffset": a.x, "yOffset": a.y})] if a.relative else [("moveTo", {"x": a.x, "y": a.y})]
    if isinstance(a, MouseDown | MouseUp):
        return [("mouseDown" if isinstance(a, MouseDown) else "mouseUp", {**xy, "button": a.button})]
    if isinstance(a, Drag):
        if a.relative:
            return [("dragRel", {"xOffset": a.x2, "yOffset": a.y2, "button": a.button})]
        start = [("moveTo", {"x": a.x1, "y": a.y1})] if a.x1 is not None else []
        return [*start, ("dragTo", {"x": a.x2, "y": a.y2, "button": a.button})]
    if isinstance(a, Scroll):
        return [("hscroll" if a.horizontal else "scroll", {"clicks": a.clicks, **xy})]
    if isinstance(a, TypeText):
        return [("write", {"message": a.text})]
    if isinstance(a, Key):
        return [("press", {"key": a.key} if a.presses == 1 else {"key": a.key, "presses": a.presses})]
    if isinstance(a, KeyDown | KeyUp):
        return [("keyDown" if isinstance(a, KeyDown) else "keyUp", {"key": a.key})]
    if isinstance(a, Hotkey):
        return [("hotkey", {"keys": list(a.keys)})]
    if isinstance(a, ClickElement):
        return [("click_element", {"element_id": a.element_id, "button": a.button, "clicks": a.clicks})]
    if isinstance(a, Wait):
        return [("wait", {"seconds": a.seconds})]
    if isinstance(a, Done | Fail):
        return [("terminate", {"status": "success" if isinstance(a, Done) else "failure"})]
    return [(type(a).__name__, {})]  # pragma: no cover - every action type is listed above


def adp_record(sel: Any, span: Sequence[Any], opts: Any, render: Any) -> tuple[dict[str, Any], list[str]]:
    """The ADP ``Trajectory`` of one example and its screenshot digests (image items hold the digest until the
    writer replaces it with the image's path).

    ``render`` is the export's step renderer (``studio.export.rows.StepRenderer``): redaction and coordinates.
    """
    from studio.export.conventions import ActionWriter, step_actions

    clean = render.clean
    content: list[dict[str, Any]] = [
        {"class_": "text_observation", "content": clean(sel.instruction), "source": "user"}
    ]
    images: list[str] = []
    for step in span:
        if opts.observation in ("a11y", "both"):
            text = render.table(clean(step.observation_text), step)
            content.append({"class_": "text_observation", "content": text, "source": "environment"})
        if opts.images and step.screenshot:
            images.append(step.screenshot)
            content.append({"class_": "image_observation", "content": step.screenshot, "source": "environment"})
        reason: str | None = clean(" ".join((step.reason or "").split())) or None
        actions = step_actions(step.action_code, step.actions, step.observation_text)
        writer = ActionWriter(render.conv, *render.size(step)) if actions else None
        for a in actions:
            for function, kwargs in api_actions(writer.mapped(a) if writer else a):
                if function == "write":
                    kwargs = {"message": clean(kwargs["message"])}
                content.append(_api(function, kwargs, reason))
                reason = None
    ex = sel.example
    width, height = render.size(span[0])
    details = {
        "dataset": opts.name,
        "source": "learn-by-interact-studio",
        "app": ex.app,
        "kind": ex.kind,
        "trajectory_id": ex.trajectory_id,
        "split": sel.split,
        "screen": f"{width}x{height}",
        **{k: str(v) for k, v in opts.conventions().items() if k != "smart_resize"},
    }
    record = {"schema_version": ADP_SCHEMA_VERSION, "id": ex.id, "content": content, "details": details}
    return record, images
