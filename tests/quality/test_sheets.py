"""Workbooks open readable: the header stays in view, filters are on, names fit their columns."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook, load_workbook

from quality.report.sheets import display_width, write_table


def test_a_chinese_name_takes_two_cells_a_character() -> None:
    assert display_width("省交通运输厅") == 12
    assert display_width("９１３１") == 8  # full-width digits
    assert display_width("hub 42") == 6
    assert display_width(None) == 0


def test_a_written_table_has_a_frozen_header_filters_and_readable_widths(tmp_path: Path) -> None:
    book = Workbook()
    rows = [["省数据局（省政务服务办）", 1200, "2026-11-03"], ["杭州海关", 7, None]]
    write_table(book.active, ["部门", "归集", "日期"], rows, [None, "#,##0", None])
    book.save(tmp_path / "t.xlsx")

    sheet = load_workbook(tmp_path / "t.xlsx").active
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:C3"
    assert sheet.column_dimensions["A"].width >= display_width("省数据局（省政务服务办）")
    assert sheet.column_dimensions["B"].width >= 8
    assert sheet["B2"].number_format == "#,##0"
    assert sheet["A1"].font.bold
