"""``hub sources list`` and ``hub sources check <id>``: the registry, and one source tried out."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from hub import jobs
from hub.cli.common import console, runtime
from hub.collect.sources import all_sources, broken_sources
from hub.core.model import Field, RecordKind, fields_of

app = typer.Typer(help="The agency sources: list them, check one before it runs.")


@app.command("list")
def list_sources() -> None:
    """Every source file: what it reads, from which connection, for which department."""
    table = Table(title="agency sources (mappings/sources/)")
    for header in ("source", "department", "kind", "reads", "connection", "pool", "state"):
        table.add_column(header)
    for spec in all_sources().values():
        table.add_row(
            spec.id,
            spec.department,
            str(spec.kind),
            spec.connector.type,
            spec.connector.connection,
            f"{spec.agency_pool.name} ({spec.agency_pool.slots})",
            "enabled" if spec.enabled else "disabled",
        )
    for stem, error in broken_sources().items():
        table.add_row(stem, "", "", "", "", "", f"[red]broken: {error}[/]")
    console.print(table)


def field_table() -> str:
    """The platform's canonical fields as a Markdown table, from ``hub.core.model``."""
    kinds: dict[str, list[str]] = {}
    fields: dict[str, Field] = {}
    for kind in RecordKind:
        for f in fields_of(kind):
            fields.setdefault(f.name, f)
            kinds.setdefault(f.name, []).append(str(kind))
    lines = [
        "| field | 中文名 | 双公示 code | type | max length | mandatory | record kinds |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, f in fields.items():
        what = f"{f.type} ({f.code_table})" if f.code_table else str(f.type)
        lines.append(
            f"| `{name}` | {f.label} | {f.code or ''} | {what} | {f.max_length or ''} | "
            f"{'yes' if f.mandatory else ''} | {', '.join(kinds[name])} |"
        )
    return "\n".join(lines)


@app.command("fields")
def fields() -> None:
    """The platform's canonical fields a source maps onto, as a Markdown table."""
    console.out(field_table())


@app.command("check")
def check(
    source_id: Annotated[str, typer.Argument(help="The source, e.g. zj_jtt_penalty_file.")],
    records: Annotated[int, typer.Option(help="Records of the first page to judge.")] = 20,
) -> None:
    """Check a source before it runs: its file, its connection, a first page read but not loaded.

    Exits 1 when the source cannot be read; 2 when its file is not valid.
    """
    result = jobs.check_source(source_id, runtime(), records)
    spec = result.spec
    console.print(
        f"[green]✓[/] {spec.id}.yaml is valid: {spec.name} ({spec.department}, {spec.kind})"
    )
    if result.error:
        console.print(f"[red]✗ cannot read it:[/] {result.error}")
        raise typer.Exit(1)
    console.print(f"[green]✓[/] connection {spec.connector.connection} answers")
    if result.page_origin is None:
        console.print("  nothing to read now (no file dropped, no new rows or records)")
        return
    console.print(f"  first page: {result.page_origin} ({result.read} records)")
    for drift in result.drift:
        console.print(f"  [yellow]schema drift: {drift}[/]")
    table = Table(
        title=f"the first {len(result.verdicts)} records as the rules see them (not loaded)"
    )
    for header in ("record", "document", "verdict", "why"):
        table.add_column(header)
    for row in result.verdicts.itertuples(index=False):
        style = "green" if row.verdict == "loads" else "yellow"
        table.add_row(
            str(row.record), str(row.document_no), f"[{style}]{row.verdict}[/]", row.reasons
        )
    console.print(table)
