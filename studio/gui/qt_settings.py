"""Settings: the model per role (litellm model string, api_base, the API-key variable's NAME), sandbox size and
apps, written to the workspace's ``studio.toml`` through :mod:`studio.config` (validated before saving).

API keys are read from the environment only: the view shows which variable each role needs and whether it is
set, and never writes a key anywhere.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from studio.gui.qt_common import BaseView, plain_label

ROLES = ("task_writer", "actor", "backward_writer", "judges", "query_writer")


def key_env_for(model: str, api_key_env: str | None) -> str | None:
    """The environment variable a model needs (None for the local model / keyless servers)."""
    if api_key_env:
        return api_key_env
    provider = model.split("/", 1)[0] if "/" in model else ""
    if provider in ("local", "", "ollama", "hosted_vllm"):
        return None
    return {
        "openai": "OPENAI_API_KEY",
        "anthropic": "ANTHROPIC_API_KEY",
        "gemini": "GEMINI_API_KEY",
        "mistral": "MISTRAL_API_KEY",
        "groq": "GROQ_API_KEY",
        "together_ai": "TOGETHERAI_API_KEY",
        "openrouter": "OPENROUTER_API_KEY",
        "deepseek": "DEEPSEEK_API_KEY",
        "azure": "AZURE_API_KEY",
        "cohere": "COHERE_API_KEY",
    }.get(provider, f"{provider.upper()}_API_KEY")


def config_to_toml(cfg: Any) -> str:
    """Serialize a StudioConfig to TOML (small writer: tables, arrays of tables, scalars, lists)."""
    data = cfg.model_dump(exclude_none=True)
    lines: list[str] = []

    def scalar(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, list):
            return "[" + ", ".join(scalar(x) for x in v) + "]"
        s = str(v).replace("\\", "\\\\").replace('"', '\\"')
        return f'"{s}"'

    def table(prefix: str, d: dict[str, Any], header: str | None) -> None:
        simple = {k: v for k, v in d.items() if not isinstance(v, dict) and not _is_table_list(v)}
        if header is not None:
            lines.append("")
            lines.append(header)
        for k, v in simple.items():
            lines.append(f"{k} = {scalar(v)}")
        for k, v in d.items():
            name = f"{prefix}.{k}" if prefix else k
            if isinstance(v, dict):
                table(name, v, f"[{name}]")
            elif _is_table_list(v):
                for item in v:
                    table(name, item, f"[[{name}]]")

    lines.append("# Learn-by-Interact Studio workspace configuration (written by the GUI's Settings view).")
    lines.append("# API keys never go here: api_key_env names the environment variable holding the key.")
    table("", data, None)
    return "\n".join(lines) + "\n"


def _is_table_list(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def read_config(workspace: Path | None) -> Any:
    from studio.config import CONFIG_NAME, default_config, load_config

    if workspace is not None and (workspace / CONFIG_NAME).exists():
        return load_config(workspace / CONFIG_NAME)
    return default_config()


def write_config(workspace: Path, cfg: Any) -> Path:
    """Validate (round trip through the parser) and write ``studio.toml`` atomically."""
    from studio.config import CONFIG_NAME, parse_config

    text = config_to_toml(cfg)
    parse_config(text, "the settings being saved")  # raises ConfigError naming the bad key
    path = workspace / CONFIG_NAME
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


class RoleBox(QGroupBox):
    def __init__(self, role: str) -> None:
        super().__init__(role)
        self.role = role
        form = QFormLayout(self)
        self.model = QLineEdit()
        self.api_base = QLineEdit()
        self.api_base.setPlaceholderText("provider default")
        self.key_env = QLineEdit()
        self.key_env.setPlaceholderText("litellm's standard variable")
        self.key_status = plain_label()
        form.addRow("model", self.model)
        form.addRow("api_base", self.api_base)
        form.addRow("API key variable", self.key_env)
        form.addRow("", self.key_status)
        for w in (self.model, self.key_env):
            w.textChanged.connect(self.update_key_status)

    def set_spec(self, spec: Any) -> None:
        self.model.setText(spec.model)
        self.api_base.setText(spec.api_base or "")
        self.key_env.setText(getattr(spec, "api_key_env", None) or "")
        self.update_key_status()

    def update_key_status(self) -> None:
        env = key_env_for(self.model.text().strip(), self.key_env.text().strip() or None)
        if env is None:
            self.key_status.setText("no API key needed")
        elif os.environ.get(env):
            self.key_status.setText(f"✔ {env} is set in the environment")
        else:
            self.key_status.setText(f"✘ {env} is not set — export it before starting the studio")

    def apply(self, spec: Any) -> Any:
        return spec.model_copy(
            update={
                "model": self.model.text().strip() or spec.model,
                "api_base": self.api_base.text().strip() or None,
                "api_key_env": self.key_env.text().strip() or None,
            }
        )


class SettingsView(BaseView):
    title = "Settings"
    needs_data = False

    def __init__(self, pool: Any, data: Any, parent: QWidget | None = None) -> None:
        super().__init__(pool, data, parent)
        self.workspace_path: Path | None = None
        self.cfg: Any = None
        self.role_boxes: dict[str, RoleBox] = {r: RoleBox(r if r != "judges" else "judge (first)") for r in ROLES}
        self.width_box = QSpinBox()
        self.width_box.setRange(320, 7680)
        self.height_box = QSpinBox()
        self.height_box.setRange(240, 4320)
        self.apps = QLineEdit()
        self.apps.setPlaceholderText("comma-separated app profiles")
        sandbox = QGroupBox("sandbox")
        sf = QFormLayout(sandbox)
        size = QHBoxLayout()
        size.addWidget(self.width_box)
        size.addWidget(QLabel("×"))
        size.addWidget(self.height_box)
        sf.addRow("size", size)
        sf.addRow("apps", self.apps)
        self.path_label = plain_label()
        self.save_button = QPushButton("Save to studio.toml")
        self.status = plain_label()
        inner = QWidget()
        il = QVBoxLayout(inner)
        il.addWidget(self.path_label)
        for box in self.role_boxes.values():
            il.addWidget(box)
        il.addWidget(sandbox)
        row = QHBoxLayout()
        row.addWidget(self.save_button)
        row.addWidget(self.status, 1)
        il.addLayout(row)
        il.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(scroll)
        self.save_button.clicked.connect(self.save)

    def load(self) -> None:
        self.path_label.setText(
            f"workspace: {self.workspace_path}"
            if self.workspace_path
            else "no workspace open: showing the defaults (saving needs a workspace)"
        )
        self.save_button.setEnabled(self.workspace_path is not None)
        self.pool.submit(read_config, self.workspace_path, on_result=self.show_config, name="reading studio.toml")

    def show_config(self, cfg: Any) -> None:
        self.cfg = cfg
        roles = cfg.roles
        for r, box in self.role_boxes.items():
            spec = roles.judges[0] if r == "judges" else getattr(roles, r)
            box.set_spec(spec)
        self.width_box.setValue(cfg.sandbox.width)
        self.height_box.setValue(cfg.sandbox.height)
        self.apps.setText(", ".join(cfg.sandbox.apps))

    def edited_config(self) -> Any:
        cfg = self.cfg
        roles = cfg.roles
        updates: dict[str, Any] = {}
        for r, box in self.role_boxes.items():
            if r == "judges":
                judges = list(roles.judges)
                judges[0] = box.apply(judges[0])
                updates["judges"] = judges
            else:
                updates[r] = box.apply(getattr(roles, r))
        apps = [a.strip() for a in self.apps.text().split(",") if a.strip()]
        sandbox = cfg.sandbox.model_copy(
            update={"width": self.width_box.value(), "height": self.height_box.value(), "apps": apps}
        )
        return cfg.model_copy(update={"roles": roles.model_copy(update=updates), "sandbox": sandbox})

    def save(self) -> None:
        if self.cfg is None or self.workspace_path is None:
            return
        cfg = self.edited_config()
        ws = self.workspace_path
        self.status.setText("saving…")
        self.pool.submit(
            write_config,
            ws,
            cfg,
            on_result=lambda p: self.status.setText(f"saved {p}"),
            on_error=self._save_failed,
            name="saving studio.toml",
        )

    def _save_failed(self, exc: BaseException) -> None:
        self.status.setText("not saved")
        self.pool.report(exc, context="saving studio.toml")
