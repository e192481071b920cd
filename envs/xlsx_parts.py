"""Charts and pivot tables of an .xlsx sheet, read from the package XML (openpyxl drops charts when it loads).

Used by ``compare_table``'s ``chart`` and ``pivot_table`` rules. Only the facts those rules compare are read:

- chart: ``type`` (plot kinds, e.g. ``barChart``), ``direction`` (bar/col), ``title``, ``legend`` (position or
  None), ``xtitle`` / ``ytitle`` (category / value axis titles);
- pivot table: ``row_fields``, ``col_fields``, ``filter`` (page fields), ``data_fields`` (field + function), by
  source field name.

Files come from the sandbox (hostile): the XML is parsed with the standard library (expat refuses entity
expansion bombs) and each part is capped in size.
"""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree

NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "pr": "http://schemas.openxmlformats.org/package/2006/relationships",
    "c": "http://schemas.openxmlformats.org/drawingml/2006/chart",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
}
MAX_PART = 32 << 20


def _xml(z: zipfile.ZipFile, name: str) -> ElementTree.Element | None:
    try:
        info = z.getinfo(name)
    except KeyError:
        return None
    if info.file_size > MAX_PART:
        raise ValueError(f"{name} is larger than {MAX_PART} bytes")
    return ElementTree.fromstring(z.read(name))


def _rels(z: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """rId -> (type suffix, absolute part name) for ``part``."""
    folder, base = posixpath.split(part)
    root = _xml(z, posixpath.join(folder, "_rels", base + ".rels"))
    out: dict[str, tuple[str, str]] = {}
    for rel in [] if root is None else root.findall("pr:Relationship", NS):
        target = rel.get("Target", "")
        path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        out[rel.get("Id", "")] = (rel.get("Type", "").rsplit("/", 1)[-1], path)
    return out


def _sheet_part(z: zipfile.ZipFile, sheet_name: str) -> str | None:
    wb = _xml(z, "xl/workbook.xml")
    if wb is None:
        return None
    rels = _rels(z, "xl/workbook.xml")
    for sheet in wb.findall("m:sheets/m:sheet", NS):
        if sheet.get("name") == sheet_name:
            rid = sheet.get(f"{{{NS['r']}}}id", "")
            return rels.get(rid, ("", ""))[1] or None
    return None


def _text(el: ElementTree.Element | None) -> str | None:
    if el is None:
        return None
    return "".join(t.text or "" for t in el.iter(f"{{{NS['a']}}}t")) or None


def _chart_facts(root: ElementTree.Element) -> dict[str, Any]:
    chart = root.find("c:chart", NS)
    plot = chart.find("c:plotArea", NS) if chart is not None else None
    kinds = sorted(el.tag.split("}")[1] for el in (plot if plot is not None else []) if el.tag.endswith("Chart"))
    bar_dir = plot.find(".//c:barDir", NS) if plot is not None else None
    legend = chart.find("c:legend", NS) if chart is not None else None
    legend_pos = legend.find("c:legendPos", NS) if legend is not None else None
    axes: dict[str, str | None] = {"catAx": None, "valAx": None, "dateAx": None}
    for name in axes:
        ax = plot.find(f"c:{name}", NS) if plot is not None else None
        axes[name] = _text(ax.find("c:title", NS)) if ax is not None else None
    return {
        "type": kinds,
        "direction": bar_dir.get("val") if bar_dir is not None else None,
        "title": _text(chart.find("c:title", NS)) if chart is not None else None,
        "legend": (legend_pos.get("val", "r") if legend_pos is not None else "r") if legend is not None else None,
        "xtitle": axes["catAx"] or axes["dateAx"],
        "ytitle": axes["valAx"],
    }


def _on_sheet(
    path: str, sheet_name: str, facts: Callable[[zipfile.ZipFile, str], list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """``facts(zip, sheet part)`` for ``sheet_name`` of the workbook at ``path``; empty when none or unreadable."""
    try:
        with zipfile.ZipFile(path) as z:
            sheet = _sheet_part(z, sheet_name)
            return [] if sheet is None else facts(z, sheet)
    except (zipfile.BadZipFile, ElementTree.ParseError, OSError, ValueError):
        return []


def _chart_list(z: zipfile.ZipFile, sheet: str) -> list[dict[str, Any]]:
    out = []
    for kind, drawing in _rels(z, sheet).values():
        if kind != "drawing":
            continue
        for ckind, chart in _rels(z, drawing).values():
            root = _xml(z, chart) if ckind == "chart" else None
            if root is not None:
                out.append(_chart_facts(root))
    return out


def sheet_charts(path: str, sheet_name: str) -> list[dict[str, Any]]:
    """Facts of every chart drawn on ``sheet_name`` (empty when none or unreadable)."""
    return _on_sheet(path, sheet_name, _chart_list)


def _field_names(z: zipfile.ZipFile, pivot_part: str) -> list[str]:
    for kind, part in _rels(z, pivot_part).values():
        if kind == "pivotCacheDefinition":
            root = _xml(z, part)
            if root is not None:
                return [f.get("name", "") for f in root.findall("m:cacheFields/m:cacheField", NS)]
    return []


def _pivot_list(z: zipfile.ZipFile, sheet: str) -> list[dict[str, Any]]:
    out = []
    for kind, part in _rels(z, sheet).values():
        root = _xml(z, part) if kind == "pivotTable" else None
        if root is None:
            continue
        names = _field_names(z, part)

        def name(i: str | None, names: list[str] = names) -> str:
            idx = int(i) if i is not None and i.lstrip("-").isdigit() else -1
            return names[idx] if 0 <= idx < len(names) else str(i)

        out.append(
            {
                "row_fields": [name(f.get("x")) for f in root.findall("m:rowFields/m:field", NS)],
                "col_fields": [name(f.get("x")) for f in root.findall("m:colFields/m:field", NS) if f.get("x") != "-2"],
                "filter": sorted(name(f.get("fld")) for f in root.findall("m:pageFields/m:pageField", NS)),
                "data_fields": [
                    (name(f.get("fld")), f.get("subtotal", "sum")) for f in root.findall("m:dataFields/m:dataField", NS)
                ],
            }
        )
    return out


def sheet_pivots(path: str, sheet_name: str) -> list[dict[str, Any]]:
    """Facts of every pivot table on ``sheet_name`` (empty when none or unreadable)."""
    return _on_sheet(path, sheet_name, _pivot_list)
