"""``hub status`` for people (rich tables) and for machines (``--json``)."""

from __future__ import annotations

from datetime import datetime

from rich.console import Console
from rich.table import Table
from rich.text import Text

from hub.core.privacy import mask_document
from hub.core.settings import settings
from hub.ops.status import PlatformStatus, as_json

_COLOURS = {"succeeded": "green", "partial": "yellow", "failed": "red", "running": "cyan"}


def _local(value: datetime | None) -> str:
    """An instant in the platform's time zone, to the second."""
    if value is None:
        return ""
    return value.astimezone(settings().timezone).strftime("%Y-%m-%d %H:%M:%S")


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _state(status: str | None) -> str:
    if status is None:
        return "never collected"
    colour = _COLOURS.get(status)
    return f"[{colour}]{status}[/]" if colour else status


_CUT = ("error", "last error")


def _table(title: str, *headers: str) -> Table:
    """A table whose rows take one line each.

    Only the error column gives way when the table is too wide, and its text is cut, not wrapped
    (``problems`` below the tables has it whole).
    """
    table = Table(title=title)
    for header in headers:
        table.add_column(header, no_wrap=header not in _CUT)
    return table


def _cut(text: str | None) -> Text:
    return Text(text or "", no_wrap=True, overflow="ellipsis")


def sources_table(status: PlatformStatus) -> Table:
    """Per source: its last batch, failures in a row, the last success."""
    table = _table(
        "sources: last batch",
        "source",
        "batch",
        "day",
        "status",
        "finished",
        "read",
        "loaded",
        "quarantined",
        "failures\nin a row",
        "last\nsuccess",
        "error",
    )
    for s in status.sources:
        failures = f"[red]{s.failures_in_row}[/]" if s.failures_in_row else "0"
        since = "never" if s.days_since_success is None else f"{s.days_since_success} d ago"
        # The source is named by the row: its errors start after "source <id>: ".
        error = (s.error or "").removeprefix(f"source {s.source_id}: ")
        notes = "; ".join(
            [
                *([f"broken source file: {s.broken}"] if s.broken else []),
                *([error] if error else []),
                *s.drift,
            ]
        )
        table.add_row(
            s.source_id if s.enabled else f"{s.source_id} (disabled)",
            _text(s.batch_id),
            _text(s.day),
            _state(s.status),
            _local(s.finished_at),
            _text(s.read if s.batch_id else None),
            _text(s.loaded if s.batch_id else None),
            _text(s.quarantined if s.batch_id else None),
            failures,
            since,
            _cut(notes),
        )
    return table


def batches_table(status: PlatformStatus) -> Table:
    """The recent batches of every source, newest first."""
    table = _table(
        "recent batches",
        "source",
        "batch",
        "day",
        "status",
        "finished",
        "read",
        "new",
        "updated",
        "unchanged",
        "outdated",
        "quarantined",
        "re-read",
        "error",
    )
    for b in status.recent_batches:
        table.add_row(
            b.source_id,
            str(b.batch_id),
            str(b.day),
            _state(b.status),
            _local(b.finished_at),
            str(b.read),
            str(b.inserted),
            str(b.updated),
            str(b.unchanged),
            str(b.outdated),
            str(b.quarantined),
            str(b.reread),
            _cut(b.error),
        )
    return table


def quarantine_table(status: PlatformStatus) -> Table:
    """Unresolved quarantined records by source and rule."""
    table = _table("quarantined records by rule (unresolved)", "source", "rule", "records")
    for q in status.quarantine:
        table.add_row(q.source_id, q.rule, str(q.records))
    return table


def targets_table(status: PlatformStatus) -> Table:
    """Per push target: the outbox and the last delivery."""
    table = _table(
        "push delivery outbox",
        "target",
        "pending",
        "waiting retry",
        "delivered",
        "dead letters",
        "oldest pending",
        "last delivered",
        "last error",
    )
    for t in status.targets:
        table.add_row(
            t.target_id,
            str(t.pending),
            str(t.waiting),
            str(t.delivered),
            f"[red]{t.dead}[/]" if t.dead else "0",
            _local(t.oldest_pending),
            _local(t.last_delivered_at),
            _cut(t.last_error),
        )
    if any(t.dead for t in status.targets):
        table.caption = "revive dead letters with: hub fanout --retry-dead [--target T]"
    return table


def sites_table(status: PlatformStatus) -> Table:
    """Per pull site: the last set published and the last pull."""
    table = _table(
        "pull sites: delta files",
        "site",
        "last set",
        "day",
        "published",
        "last pull",
        "days since",
        "downloaded up to",
        "flag",
    )
    for s in status.sites:
        table.add_row(
            s.site_id,
            _text(s.last_sequence),
            _text(s.last_day),
            _local(s.published_at),
            _local(s.last_pull_at) or ("never" if s.last_sequence else ""),
            _text(s.days_since_pull),
            _text(s.pulled_sequence),
            "[red]stopped pulling[/]" if s.stopped_pulling else "",
        )
    return table


def dags_table(status: PlatformStatus) -> Table:
    """Per DAG: the last thing its step recorded in the platform."""
    table = _table(
        "DAGs: last run, from the platform's tables", "DAG", "step", "last", "at", "state"
    )
    table.add_column("error")
    for d in status.dags:
        table.add_row(
            d.dag_id,
            d.step,
            d.last or "none",
            _local(d.at),
            d.state,
            _cut(d.error),
        )
    return table


def show_status(status: PlatformStatus, console: Console, json_output: bool = False) -> None:
    """Print ``status``: tables and the problems, or one JSON document.

    Masked by the privacy policy before anything is drawn: a cut cell must not show half a number.
    """
    status = mask_document(status)
    if json_output:
        console.out(as_json(status))
        return
    console.print(
        f"platform database {status.database}, migration {status.schema_revision or 'none'}"
        f" (code: {status.schema_head}); now {_local(status.now)} ({settings().timezone.key})"
    )
    if status.schema_revision == status.schema_head:
        for table in (
            sources_table(status),
            batches_table(status),
            quarantine_table(status),
            targets_table(status),
            sites_table(status),
            dags_table(status),
        ):
            console.print(table)
    if status.calendar is not None:
        missing = ", ".join(map(str, status.calendar.missing)) or "none"
        checked = ", ".join(map(str, status.calendar.checked))
        console.print(f"working-day calendar: checked {checked}; missing a schedule: {missing}")
    for problem in status.problems:
        console.print(f"[red]problem:[/] {problem}", soft_wrap=True)
    if not status.problems:
        console.print("[green]no problems[/]")
