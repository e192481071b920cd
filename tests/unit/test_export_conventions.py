"""Export conventions: coordinates (pixels, 0-1, 0-1000, smart_resize'd pixels), action syntaxes (pyautogui,
computer_13, UI-TARS, Smol2Operator), presets, placeholder checks, and the ms-swift and ADP formats -- each checked
against its consumer's parser or documented schema, and byte-stable on re-export."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Literal

import pytest

from envs.actions import Click, Done, Drag, Fail, Hotkey, Key, Move, Scroll, TypeText, Wait
from studio.errors import ConfigError
from studio.export.conventions import (
    PRESETS,
    ActionWriter,
    Convention,
    convert_table,
    element_centres,
    resolve,
    smart_resize,
)
from tests.unit.test_export_formats import PNG_MAGIC, _hashes, jsonl, load_json_dataset, run
from tests.unit.test_export_rows import build_export_workspace


@pytest.fixture(scope="module")
def export_ws(tmp_path_factory: Any) -> Path:
    path = tmp_path_factory.mktemp("exportconv") / "ws"
    build_export_workspace(path)
    return path


# ------------------------------------------------------------------------------------------- smart_resize


def _reference_smart_resize(height: int, width: int, factor: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """The documented algorithm, written out independently (Qwen2-VL image processor, qwen-vl-utils)."""
    h = max(factor, round(height / factor) * factor)
    w = max(factor, round(width / factor) * factor)
    if h * w > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h = max(factor, math.floor(height / beta / factor) * factor)
        w = max(factor, math.floor(width / beta / factor) * factor)
    elif h * w < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h = math.ceil(height * beta / factor) * factor
        w = math.ceil(width * beta / factor) * factor
    return h, w


@pytest.mark.parametrize("size", [(800, 1280), (1080, 1920), (1440, 2560), (40, 64), (3000, 100), (768, 1366)])
@pytest.mark.parametrize("max_pixels", [28 * 28 * 1280, 12845056, 1003520 // 4])
def test_smart_resize_matches_the_documented_algorithm(size: tuple[int, int], max_pixels: int) -> None:
    h, w = smart_resize(*size, max_pixels=max_pixels)
    assert (h, w) == _reference_smart_resize(*size, 28, 56 * 56, max_pixels)
    assert h % 28 == 0 and w % 28 == 0 and h * w <= max(max_pixels, 28 * 28)


def test_smart_resize_agrees_with_transformers_when_installed() -> None:
    """transformers' own Qwen2-VL image processor (the PIL variant imports without torchvision)."""
    pytest.importorskip("transformers")
    try:
        import transformers.models.qwen2_vl.image_processing_pil_qwen2_vl as mod
    except ImportError:
        mod = pytest.importorskip("transformers.models.qwen2_vl.image_processing_qwen2_vl")
    for size in [(800, 1280), (1080, 1920), (1440, 2560), (40, 64), (768, 1366)]:
        for max_pixels in (28 * 28 * 1280, 12845056):
            assert smart_resize(*size, max_pixels=max_pixels) == mod.smart_resize(
                *size, factor=28, min_pixels=56 * 56, max_pixels=max_pixels
            )


def test_smart_resize_refuses_extreme_ratios_and_empty_images() -> None:
    with pytest.raises(ConfigError, match="aspect ratio"):
        smart_resize(10, 5000)
    with pytest.raises(ConfigError, match="empty"):
        smart_resize(0, 100)


# ------------------------------------------------------------------------------------------- coordinates + syntax


def test_points_in_every_convention() -> None:
    w, h = 1280, 800
    assert Convention("pixels").point_mapper(w, h)(640, 400) == (640, 400)
    assert Convention("0-1").point_mapper(w, h)(640, 200) == (0.5, 0.25)
    assert Convention("0-1000").point_mapper(w, h)(640, 200) == (500, 250)
    assert Convention("0-1000").point_mapper(w, h)(1279, 799) == (999, 999)  # [0, 1000)
    rh, rw = smart_resize(800, 1280, max_pixels=28 * 28 * 1280)
    assert (rw, rh) == (1260, 784)
    x, y = Convention("resized", max_pixels=28 * 28 * 1280).point_mapper(w, h)(640, 400)
    assert (x, y) == (630, 392)


def test_action_syntaxes() -> None:
    pg = ActionWriter(Convention("0-1000", "pyautogui"), 1000, 500)
    assert pg.render([Click(100, 250)]) == "pyautogui.click(100, 500)"
    assert pg.render([Drag(0, 0, 500, 250)]) == "pyautogui.moveTo(0, 0); pyautogui.dragTo(500, 500, duration=0.2)"
    assert pg.render([Move(10, 5, relative=True)]) == "pyautogui.moveRel(10, 10)"

    c13 = ActionWriter(Convention("pixels", "computer_13"), 1280, 800)
    assert json.loads(c13.render([Click(5, 6)])) == {
        "action_type": "CLICK",
        "parameters": {"button": "left", "x": 5, "y": 6},
    }
    assert json.loads(c13.render([Click(5, 6, clicks=2), Hotkey(("ctrl", "s"))])) == [
        {"action_type": "DOUBLE_CLICK", "parameters": {"x": 5, "y": 6}},
        {"action_type": "HOTKEY", "parameters": {"keys": ["ctrl", "s"]}},
    ]
    assert json.loads(c13.render([Done()])) == {"action_type": "DONE"}

    ui = ActionWriter(Convention("0-1000", "uitars"), 1000, 1000)
    assert ui.render([Click(412, 230)]) == "click(start_box='(412,230)')"
    assert ui.render([Click(1, 2, button="right")]) == "right_single(start_box='(1,2)')"
    assert ui.render([Drag(1, 2, 3, 4)]) == "drag(start_box='(1,2)', end_box='(3,4)')"
    assert ui.render([Hotkey(("ctrl", "c")), TypeText("hi\n")]) == "hotkey(key='ctrl c')\n\ntype(content='hi\\n')"
    assert ui.render([Scroll(-3, 10, 20)]) == "scroll(start_box='(10,20)', direction='down')"
    assert ui.render([Done()]) == "finished()" and ui.render([Fail()]) == "call_user()"
    assert ui.render([Wait(1)]) == "wait()" and ui.render([Key("enter")]) == "hotkey(key='enter')"

    smol = ActionWriter(Convention("0-1", "smol"), 1000, 500)
    assert smol.render([Click(250, 250)]) == "click(x=0.25, y=0.5)"
    assert smol.render([Hotkey(("ctrl", "s"))]) == "press(keys=['ctrl', 's'])"
    assert smol.render([Scroll(2)]) == "scroll(direction='up', amount=2)"
    assert smol.render([Done()]) == "final_answer('DONE')"


def test_rendered_actions_parse_back_with_the_consumers_parsers() -> None:
    """pyautogui and computer_13 output goes through OSWorld's action space parser (ours, an allowlist)."""
    from envs.action_parser import parse_action_text

    actions = [Click(10, 20), Click(5, 6, button="right"), TypeText("a'b\"c"), Hotkey(("ctrl", "s")), Scroll(-2)]
    for syntax in ("pyautogui", "computer_13"):
        text = ActionWriter(Convention("pixels", syntax), 1280, 800).render(actions)
        assert parse_action_text(text) == actions, syntax


def test_a11y_table_positions_follow_the_convention() -> None:
    table = "id\trole\tname\ttext\tposition\tsize\n3\tpush button\tOK\t\t(640, 400)\t(128, 80)"
    assert element_centres(table) == {3: (704, 440)}
    assert convert_table(table, Convention("0-1000"), 1280, 800).splitlines()[1].endswith("(500, 500)\t(100, 100)")
    assert convert_table(table, Convention("0-1"), 1280, 800).splitlines()[1].endswith("(0.5, 0.5)\t(0.1, 0.1)")
    assert convert_table(table, Convention("pixels"), 1280, 800) == table


def test_presets_and_overrides() -> None:
    assert resolve(None, None, "qwen2.5-vl", None, None) == Convention("resized", "pyautogui")
    assert resolve(None, None, "ui-tars", None, None) == Convention("0-1000", "uitars")
    assert resolve("pixels", None, "ui-tars", None, None).coords == "pixels"  # explicit option wins
    assert resolve(None, None, "ui-tars-1.5", None, None).min_pixels == 100 * 28 * 28
    assert {"qwen2.5-vl", "qwen2-vl", "internvl", "ui-tars", "smol2operator"} <= set(PRESETS)
    for bad, msg in (
        ({"preset": "gpt"}, "--preset 'gpt'"),
        ({"coords": "inches"}, "--coords 'inches'"),
        ({"action_syntax": "xdotool"}, "--action-syntax 'xdotool'"),
    ):
        args: dict[str, Any] = {"coords": None, "syntax": None, "preset": None, "max_pixels": None, "min_pixels": None}
        args.update({"syntax" if k == "action_syntax" else k: v for k, v in bad.items()})
        with pytest.raises(ConfigError, match=msg):
            resolve(**args)


# ------------------------------------------------------------------------------------------- exported rows


def test_default_export_is_unchanged_by_the_conventions(export_ws: Path, tmp_path: Path) -> None:
    a = run(export_ws, tmp_path / "a", format="sharegpt", observation="both")
    b = run(export_ws, tmp_path / "b", format="sharegpt", observation="both", preset="osworld")
    assert a.total_rows == b.total_rows
    for split in a.rows:
        assert (tmp_path / "a" / f"{split}.jsonl").read_bytes() == (tmp_path / "b" / f"{split}.jsonl").read_bytes()


def test_step_rows_in_ui_tars_convention(export_ws: Path, tmp_path: Path) -> None:
    run(export_ws, tmp_path / "u", format="sharegpt", observation="a11y", preset="ui-tars")
    rows = [
        r
        for s in ("train", "validation", "test")
        if (tmp_path / "u" / f"{s}.jsonl").exists()
        for r in jsonl(tmp_path / "u" / f"{s}.jsonl")
    ]
    by_id = {r["id"]: r for r in rows}
    second = by_id["ex-acc-0-0002"]  # the acc example covers steps 1..2 of trajectory 0 (screen 64x40)
    human, gpt = (c["value"] for c in second["conversations"])
    # pyautogui.click(12, 20) on a 64x40 screen -> (188, 500) in [0, 1000)
    assert gpt == "Thought: step 2 of run 0\nAction: click(start_box='(188,500)')"
    assert "Coordinates are relative, from 0 to 1000" in human and "Coordinates are screen pixels" not in human
    assert "## Action Space" in human and "ACTION: <one line of Python" not in human
    assert "click(start_box='(172,500)')" in human  # the previous step in the history, same convention
    assert "\t(156, 250)\t(625, 749)" in human  # element (10, 10) 40x30 in 0-1000 (bottom edge: 999)


def test_qwen25vl_resized_coordinates_and_card(export_ws: Path, tmp_path: Path) -> None:
    summary = run(
        export_ws,
        tmp_path / "q",
        format="llamafactory",
        observation="screenshot",
        preset="qwen2.5-vl",
        max_pixels=28 * 28 * 4,
    )
    assert smart_resize(40, 64, max_pixels=28 * 28 * 4) == (56, 84)  # below min_pixels (56*56): scaled up
    info = json.loads((tmp_path / "q" / "dataset_info.json").read_text())
    train = jsonl(tmp_path / "q" / info["studio_train"]["file_name"])
    target = next(r for r in train if r["messages"][1]["content"].startswith("REASON: step 1 of run"))
    # click(11, 20) on 64x40 -> round(11 * 84 / 64), round(20 * 56 / 40) = (14, 28)
    assert target["messages"][1]["content"].endswith("ACTION: pyautogui.click(14, 28)")
    assert "Screen size: 84x56 pixels (the screenshot as you see it)" in target["messages"][0]["content"]
    card = (tmp_path / "q" / "README.md").read_text()
    assert '"coords": "resized"' in card and '"max_pixels": 3136' in card and "qwen2.5-vl" in card
    assert summary.total_rows == sum(len(jsonl(tmp_path / "q" / e["file_name"])) for e in info.values())


def test_example_rows_in_computer13_and_smol(export_ws: Path, tmp_path: Path) -> None:
    run(export_ws, tmp_path / "c", format="trl", granularity="example", preset="computer-13")
    row = jsonl(tmp_path / "c" / "train.jsonl")[0]
    answer = row["messages"][1]["content"]
    actions = [json.loads(line.split("ACTION: ", 1)[1]) for line in answer.splitlines() if "ACTION: " in line]
    assert actions and all(a["action_type"] == "CLICK" for a in actions)
    assert "computer_13 JSON action" in row["messages"][0]["content"]
    run(export_ws, tmp_path / "s", format="openai", granularity="step", preset="smol2operator")
    row = jsonl(tmp_path / "s" / "train.jsonl")[0]
    assert row["messages"][1]["content"].startswith("<think>step ")
    assert "<code>\nclick(x=0." in row["messages"][1]["content"]


def test_placeholders_match_images_even_with_literal_tokens_in_text(tmp_path: Path) -> None:
    """A window title holding '<image>' must not become an extra placeholder (LLaMA-Factory would refuse)."""
    from studio.workspace import Workspace

    path = tmp_path / "ws"
    build_export_workspace(path)
    with Workspace.open(path) as ws:
        from studio.workspace import Example, Review, Step

        ws.add_step(
            Step(
                trajectory_id="traj05",
                index=4,
                width=64,
                height=40,
                reason="look at <image> tag",
                observation_text="id\trole\tname\ttext\tposition\tsize\n1\tlabel\t<image>\t\t(1, 1)\t(2, 2)",
                action_code="pyautogui.click(1, 1)",
            ),
            screenshot=_png(),
        )
        ws.add_examples(
            [Example(id="ex-img", trajectory_id="traj05", start=4, end=5, instruction="Use <image>", app="mousepad")]
        )
        ws.add_review(Review(example_id="ex-img", decision="accept"))
    for fmt in ("llamafactory", "sharegpt", "ms-swift"):
        out = tmp_path / fmt
        run(path, out, format=fmt, observation="both", status=("all",))
        for f in out.glob("*.jsonl"):
            for row in jsonl(f):
                turns = row.get("messages") or row.get("conversations")
                texts = [t.get("content", t.get("value")) for t in turns]
                assert sum(t.count("<image>") for t in texts) == len(row.get("images", [])), (fmt, row)
                if "ex-img" in json.dumps(row) or "Use <image" in json.dumps(row):
                    assert "Use <image\u200b>" in texts[0]


def _png() -> bytes:
    from tests.unit.test_export_rows import png

    return png((1, 2, 3))


# ------------------------------------------------------------------------------------------- ms-swift, ADP


def test_ms_swift_rows_match_its_standard_format(export_ws: Path, tmp_path: Path) -> None:
    """ms-swift's standard format (docs: Customization/Custom-dataset): messages with system/user/assistant
    roles, ``<image>`` tags in the text, ``images`` paths; checked field by field and loaded with ``datasets``
    (ms-swift reads JSONL with ``datasets.load_dataset('json')``)."""
    out = tmp_path / "m"
    summary = run(export_ws, out, format="ms-swift", observation="both", preset="qwen2-vl")
    ds = load_json_dataset({s: str(out / f"{s}.jsonl") for s in summary.rows})
    assert sum(len(ds[s]) for s in ds) == summary.total_rows
    for split in ds:
        for row in ds[split]:
            assert set(row) == {"messages", "images"}
            assert [m["role"] for m in row["messages"]] == ["user", "assistant"]
            assert row["messages"][0]["content"].count("<image>") == len(row["images"]) == 1
            assert (out / row["images"][0]).read_bytes()[:8] == PNG_MAGIC
            assert "Coordinates are relative, from 0 to 1000" in row["messages"][0]["content"]


def adp_models() -> Any:
    """The ADP standardized schema 1.2.0 as pydantic models (neulab/agent-data-protocol ``schema/``, the fields
    this exporter uses; ``extra="forbid"`` like the originals)."""
    from pydantic import BaseModel, ConfigDict, Field

    class Strict(BaseModel):
        model_config = ConfigDict(extra="forbid")

    class TextObservation(Strict):
        class_: Literal["text_observation"] = Field(alias="class_")
        content: str
        name: str | None = None
        source: Literal["user", "agent", "environment"]

    class ImageObservation(Strict):
        class_: Literal["image_observation"] = Field(alias="class_")
        content: str
        annotations: list[dict[str, Any]] | None = None
        source: Literal["user", "agent", "environment"]

    class ApiAction(Strict):
        class_: Literal["api_action"] = Field(alias="class_")
        function: str
        kwargs: dict[str, Any]
        description: str | None = None
        reasoning_content: str | None = None

    class Trajectory(Strict):
        schema_version: Literal["1.2.0", "1.1.0", "1.0.0"]
        id: str
        content: list[TextObservation | ImageObservation | ApiAction]
        details: dict[str, Any]

    return Trajectory


def test_adp_trajectories_validate_against_the_schema(export_ws: Path, tmp_path: Path) -> None:
    trajectory = adp_models()
    out = tmp_path / "adp"
    summary = run(export_ws, out, format="adp", observation="both", preset="smol2operator")
    assert summary.total_rows == summary.examples  # one trajectory per example, whatever the granularity
    seen = 0
    for split in summary.rows:
        for obj in jsonl(out / f"{split}.jsonl"):
            t = trajectory.model_validate(obj)
            seen += 1
            kinds = [c.class_ for c in t.content]
            assert kinds[0] == "text_observation" and t.content[0].source == "user"
            assert "api_action" in kinds and "image_observation" in kinds
            for c in t.content:
                if c.class_ == "image_observation":
                    assert (out / c.content).read_bytes()[:8] == PNG_MAGIC
                if c.class_ == "api_action" and c.function == "click":
                    assert 0 <= c.kwargs["x"] <= 1 and 0 <= c.kwargs["y"] <= 1  # smol2operator: 0-1
            assert all(isinstance(v, str) for v in t.details.values())
    assert seen == summary.total_rows
    ds = load_json_dataset({s: str(out / f"{s}.jsonl") for s in summary.rows})
    assert sum(len(ds[s]) for s in ds) == seen


@pytest.mark.parametrize("fmt", ["ms-swift", "adp"])
@pytest.mark.parametrize("preset", [None, "ui-tars-1.5"])
def test_new_formats_and_conventions_are_byte_stable(
    export_ws: Path, tmp_path: Path, fmt: str, preset: str | None
) -> None:
    kw = {"format": fmt, "observation": "both", "status": ("all",), "preset": preset}
    run(export_ws, tmp_path / "a", **kw)
    run(export_ws, tmp_path / "b", **kw)
    a, b = _hashes(tmp_path / "a"), _hashes(tmp_path / "b")
    assert a == b and len(a) >= 3
