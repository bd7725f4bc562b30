"""A page as headless Chromium renders it (offline), read back as tables, alerts and links."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path


def dump_dom(page: Path) -> str:
    """The DOM after Chromium has loaded ``page`` with no network."""
    chromium = shutil.which("chromium")
    assert chromium, "Chromium is needed for the report tests (.ci/run installs it)"
    result = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout


@dataclass
class Table:
    section: str | None
    rows: list[list[str]] = field(default_factory=list)


class Rendered(HTMLParser):
    """Tables (with the id of their section), alert texts, SVG texts, links and outside URLs."""

    def __init__(self, dom: str) -> None:
        super().__init__()
        self.tables: list[Table] = []
        self.alerts: list[str] = []
        self.svg_text: list[str] = []
        self.links: list[str] = []
        self.external: list[str] = []
        self.text: list[str] = []
        self._section: str | None = None
        self._cell: list[str] | None = None
        self._alert: list[str] | None = None
        self._in_svg_text = False
        self.feed(dom)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "section":
            self._section = attributes.get("id")
        elif tag == "table":
            self.tables.append(Table(self._section))
        elif tag == "tr" and self.tables:
            self.tables[-1].rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "text":
            self._in_svg_text = True
        elif tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"] or "")
        if attributes.get("role") == "alert":
            self._alert = []
        for name in ("src", "href"):
            value = attributes.get(name) or ""
            if tag in ("link", "script", "img") and value.startswith(("http:", "https:", "//")):
                self.external.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.tables:
            self.tables[-1].rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "text":
            self._in_svg_text = False
        elif tag == "p" and self._alert is not None:
            self.alerts.append("".join(self._alert).strip())
            self._alert = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._alert is not None:
            self._alert.append(data)
        if self._in_svg_text:
            self.svg_text.append(data.strip())

    def section_tables(self, section: str) -> list[Table]:
        return [t for t in self.tables if t.section == section]
