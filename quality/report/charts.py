"""The report's charts, drawn by Matplotlib as inline SVG.

Text stays text in the SVG (``svg.fonttype: none``), so the reader's browser draws the Chinese
labels with its own fonts and they remain searchable; Matplotlib itself only measures them.
"""

from __future__ import annotations

import io
import warnings

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from quality.report.labels import FIGURES, rule_label

_STYLE = {
    "svg.fonttype": "none",
    "svg.hashsalt": "credit-hub-quality",
    "font.family": "sans-serif",
    "font.sans-serif": ["Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", "DejaVu Sans"],
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_COLOURS = ["#2f6f9f", "#4f9d69", "#d08c2d", "#b5473a", "#7a5c99", "#5a8f8f", "#9a7b4f", "#6b6b6b"]


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    with warnings.catch_warnings():
        # Without a CJK font Matplotlib warns for every Chinese glyph it measures; the browser
        # draws them (the SVG keeps text as text), so the warning says nothing about the output.
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


LEGEND_COLUMNS = 3


def _figure(rows: int, entries: int = LEGEND_COLUMNS) -> Figure:
    """A figure with one bar row per department and room for ``entries`` legend entries on top."""
    legend = 0.22 * -(-entries // LEGEND_COLUMNS)
    height = 0.85 + legend + 0.42 * max(rows, 1)
    figure = Figure(figsize=(8, height))
    figure.subplots_adjust(
        left=0.26, right=0.97, top=1 - (0.2 + legend) / height, bottom=0.5 / height
    )
    return figure


def _legend(axes: Axes) -> None:
    axes.legend(
        loc="lower left", bbox_to_anchor=(0, 1.0), ncols=LEGEND_COLUMNS, frameon=False, fontsize=8
    )


def rates_chart(departments: pd.DataFrame) -> str:
    """Complete, valid and on-time percentages per department, best ranked on top."""
    with mpl.rc_context(_STYLE):
        figure = _figure(len(departments))
        axes = figure.add_subplot()
        names = list(departments["department"])[::-1]
        positions = np.arange(len(names))
        height = 0.26
        for i, column in enumerate(("complete_pct", "valid_pct", "on_time_pct")):
            values = departments[column].astype("float64").to_numpy()[::-1] * 100
            axes.barh(
                positions + (1 - i) * height,
                np.nan_to_num(values),
                height=height,
                label=FIGURES[column],
                color=_COLOURS[i],
            )
        axes.set_yticks(positions, names)
        axes.set_xlim(0, 100)
        axes.set_xlabel("%")
        _legend(axes)
        return _svg(figure)


def rules_chart(by_rule: pd.DataFrame, order: list[str]) -> str:
    """Quarantined records per department, stacked by the rule they failed."""
    with mpl.rc_context(_STYLE):
        table = by_rule.pivot_table(
            index="department", columns="rule", values="records", aggfunc="sum", fill_value=0
        )
        names = [n for n in order if n in table.index][::-1]
        figure = _figure(len(names), len(table.columns))
        axes = figure.add_subplot()
        left = np.zeros(len(names))
        for i, rule in enumerate(table.columns):
            values = table.reindex(names)[rule].to_numpy(dtype="float64")
            colour = _COLOURS[i % len(_COLOURS)]
            axes.barh(names, values, left=left, label=rule_label(rule), color=colour)
            left += values
        axes.set_xlabel("隔离条数")
        _legend(axes)
        return _svg(figure)


def delay_chart(departments: pd.DataFrame, limit: int) -> str:
    """Median and worst delay in working days per department, against the limit."""
    with mpl.rc_context(_STYLE):
        timed = departments[departments["timed"] > 0]
        figure = _figure(len(timed))
        axes = figure.add_subplot()
        names = list(timed["department"])[::-1]
        worst = timed["max_delay"].astype("float64").to_numpy()[::-1]
        median = timed["median_delay"].astype("float64").to_numpy()[::-1]
        axes.barh(names, worst, color="#e3b7b0", label=FIGURES["max_delay"])
        axes.barh(names, median, height=0.4, color=_COLOURS[0], label=FIGURES["median_delay"])
        axes.axvline(limit, color="#b5473a", linestyle="--", label=f"时限 {limit} 个工作日")
        axes.set_xlabel("工作日")
        _legend(axes)
        return _svg(figure)
