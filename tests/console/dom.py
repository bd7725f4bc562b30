"""The console's pages as a reader sees them: the text of an element by id, tables by section."""

from __future__ import annotations

from html.parser import HTMLParser

from tests.quality.rendered import Rendered

_VOID = {"br", "hr", "img", "input", "meta", "link", "col", "source", "wbr", "path", "rect"}


class _ById(HTMLParser):
    def __init__(self, dom: str) -> None:
        super().__init__()
        self.texts: dict[str, list[str]] = {}
        self._open: list[str | None] = []
        self.feed(dom)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            return
        ident = dict(attrs).get("id")
        if ident:
            self.texts[ident] = []
        self._open.append(ident)

    def handle_endtag(self, tag: str) -> None:
        if tag not in _VOID and self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for ident in self._open:
            if ident:
                self.texts[ident].append(data)


class Dom:
    """One page's DOM, read back."""

    def __init__(self, html: str) -> None:
        self.html = html
        self.rendered = Rendered(html)
        self._by_id = _ById(html).texts

    def text(self, ident: str) -> str:
        """The text inside the element of id ``ident``, whitespace collapsed."""
        assert ident in self._by_id, f"no element #{ident}"
        return " ".join("".join(self._by_id[ident]).split())

    def has(self, ident: str) -> bool:
        """Whether an element of id ``ident`` is on the page."""
        return ident in self._by_id

    def table(self, section: str) -> list[list[str]]:
        """The rows of the first table in section ``section`` (header row first)."""
        tables = self.rendered.section_tables(section)
        assert tables, f"no table in section #{section}"
        return tables[0].rows

    def rows_by_first_cell(self, section: str) -> dict[str, dict[str, str]]:
        """The rows of the section's first table by their first cell, each as header → cell."""
        header, *rows = self.table(section)
        return {row[0]: dict(zip(header, row, strict=True)) for row in rows}
