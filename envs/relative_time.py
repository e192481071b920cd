"""Dates relative to today for OSWorld's ``rule_relativeTime`` getter.

``rules = {"relativeTime": {"from": "tomorrow", "to": "10th next month"}, "expected": {...}}``: the
``expected`` strings hold placeholders that are filled from the absolute dates. With only ``from`` the
placeholder string is ``expected["time"]``; with ``to`` they are ``expected["from"]`` and ``expected["to"]``.

Placeholders: ``{DoW}`` (Mon), ``{Month}`` (Jan), ``{MonthFull}`` (January), ``{month}`` (january),
``{DayD}`` (5), ``{Day0D}`` (05), ``{Month0D}`` (01), ``{Year}`` (2026).
"""

from __future__ import annotations

import calendar
import copy
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from envs.errors import TaskError


def _next_month_day(today: date, day: int) -> date:
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return date(year, month, day)


def _next_weekday(today: date, weekday: int, *, include_today: bool) -> date:
    ahead = (weekday - today.weekday()) % 7
    if ahead == 0 and not include_today:
        ahead = 7
    return today + timedelta(days=ahead)


def _first_monday_months_later(today: date, months: int) -> date:
    month0 = today.month - 1 + months
    first = date(today.year + month0 // 12, month0 % 12 + 1, 1)
    return first + timedelta(days=(7 - first.weekday()) % 7)


#: The phrases OSWorld's task files use, each a function of today's date.
PHRASES: dict[str, Callable[[date], date]] = {
    "today": lambda t: t,
    "tomorrow": lambda t: t + timedelta(days=1),
    "this month": lambda t: t,
    "5th next month": lambda t: _next_month_day(t, 5),
    "10th next month": lambda t: _next_month_day(t, 10),
    "11th next month": lambda t: _next_month_day(t, 11),
    "this Saturday": lambda t: _next_weekday(t, 5, include_today=True),
    "this Sunday": lambda t: _next_weekday(t, 6, include_today=True),
    "next Monday": lambda t: _next_weekday(t, 0, include_today=False),
    "next Friday": lambda t: _next_weekday(t, 4, include_today=False),
    "first monday four months later": lambda t: _first_monday_months_later(t, 4),
}


def absolute_day(phrase: str, today: date | None = None) -> date:
    """The date ``phrase`` means (a key of :data:`PHRASES`).

    Raises:
        TaskError: an unknown phrase (the message lists the known ones).
    """
    fn = PHRASES.get(phrase)
    if fn is None:
        raise TaskError(f"relative time {phrase!r} is not known; known: {', '.join(sorted(PHRASES))}")
    return fn(today or date.today())


def format_day(template: str, day: date) -> str:
    """Fill the placeholders of ``template`` (see the module docstring) from ``day``."""
    values = {
        "{DoW}": calendar.day_abbr[day.weekday()],
        "{MonthFull}": calendar.month_name[day.month],
        "{Month0D}": f"{day.month:02d}",
        "{Month}": calendar.month_abbr[day.month],
        "{month}": calendar.month_name[day.month].lower(),
        "{Day0D}": f"{day.day:02d}",
        "{DayD}": str(day.day),
        "{Year}": str(day.year),
    }
    for key, value in values.items():
        template = template.replace(key, value)
    return template


def fill_relative_rules(rules: Any, today: date | None = None) -> Any:
    """A copy of ``rules`` with ``expected`` filled in (see the module docstring).

    Raises:
        TaskError: ``rules`` lacks ``relativeTime.from`` or the ``expected`` strings it needs.
    """
    if not isinstance(rules, dict) or not isinstance(rules.get("relativeTime"), dict):
        raise TaskError("rule_relativeTime needs rules.relativeTime = {'from': ..., 'to'?: ...}")
    rel = rules["relativeTime"]
    out = copy.deepcopy(rules)
    expected = out.get("expected")
    if not isinstance(expected, dict) or "from" not in rel:
        raise TaskError("rule_relativeTime needs rules.relativeTime.from and a rules.expected object")
    keys = ("from", "to") if "to" in rel else ("time",)
    for key in keys:
        phrase = rel["to"] if key == "to" else rel["from"]
        if key not in expected:
            raise TaskError(f"rule_relativeTime: rules.expected needs '{key}' for relativeTime {rel}")
        expected[key] = format_day(str(expected[key]), absolute_day(str(phrase), today))
    return out
