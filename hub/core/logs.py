"""Log lines that name what they are about: the source, batch, record, target or site.

``get_logger(__name__).bind(source=..., batch=...)`` gives a logger whose every record carries
those fields twice: as attributes of the ``logging.LogRecord`` (stdlib ``extra``, what the JSON
format and log collectors read) and written into the message itself
(``batch finished [source=zj_yjt_penalty_db batch=12 read=480]``). The second copy is there for
Airflow: its task log keeps a stdlib record's message but drops its ``extra`` attributes.

Nothing leaves the platform with a resident ID number: the message and every field are masked
when the record is made, by the one rule of ``hub.core.privacy``, whichever handler writes it.
A module that logs through a plain stdlib logger takes ``masked_logger(__name__)``: the same
masking, the stdlib's call style and message unchanged.

``configure`` sets up the CLI's output on stderr: one human-readable line per record, or with
``HUB_LOG_FORMAT=json`` one JSON object per line (``time``, ``level``, ``logger``, ``message`` and
the record's fields).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from hub.core.privacy import mask_text

_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_BARE = "hub_message"
_OUR_HANDLER = "_hub_handler"
_LOGGER_KWARGS = frozenset({"exc_info", "stack_info", "stacklevel", "extra"})
PACKAGES = ("hub", "connectors", "quality", "sandbox")
"""The project's loggers, which ``-vv`` turns to debug (the rest of the world stays at info)."""


def _masked(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    return mask_text(str(value))


def _rendered(value: Any) -> str:
    text = str(value)
    quoted = not text or re.search(r"[\s\]\"]", text)
    return json.dumps(text, ensure_ascii=False) if quoted else text


class ContextLogger(logging.LoggerAdapter):
    """A logger bound to context fields; keyword arguments of a call add fields for that line.

    ``log.bind(source="zj_x", batch=12).debug("record quarantined", record=5, rule="mandatory")``
    """

    def bind(self, **fields: Any) -> ContextLogger:
        """A logger with ``fields`` added to this one's."""
        return ContextLogger(self.logger, {**self.extra, **fields})

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        """Log ``msg % args`` at ``level`` with the bound fields and the call's own."""
        if not self.isEnabledFor(level):
            return
        call = {k: kwargs.pop(k) for k in list(kwargs) if k not in _LOGGER_KWARGS}
        fields = {
            k: _masked(v) for k, v in {**self.extra, **kwargs.pop("extra", {}), **call}.items()
        }
        bare = mask_text(str(msg) % args if args else str(msg))
        suffix = " ".join(f"{k}={_rendered(v)}" for k, v in fields.items())
        kwargs["extra"] = {**fields, _BARE: bare}
        kwargs.setdefault("stacklevel", 2)  # name the caller, not this adapter
        self.logger.log(level, f"{bare} [{suffix}]" if suffix else bare, **kwargs)


def get_logger(name: str, **fields: Any) -> ContextLogger:
    """The logger ``name`` as a ``ContextLogger``, bound to ``fields``."""
    return ContextLogger(masked_logger(name), fields)


class MaskingFilter(logging.Filter):
    """Masks a record's message and fields in place, by the privacy rule, when it is logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask ``record`` (the message formatted first, its arguments then dropped); keep it.

        An exception's text is formatted and masked here too: every stdlib formatter (Airflow's
        task log's included) prints a record's ``exc_text`` when it has one.
        """
        record.msg = mask_text(record.getMessage())
        record.args = None
        for name, value in record_fields(record).items():
            setattr(record, name, _masked(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_text(_EXCEPTIONS.formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


_MASKING = MaskingFilter()
_EXCEPTIONS = logging.Formatter()


def masked_logger(name: str) -> logging.Logger:
    """The stdlib logger ``name``, every record of which is masked before any handler sees it."""
    logger = logging.getLogger(name)
    if _MASKING not in logger.filters:
        logger.addFilter(_MASKING)
    return logger


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The context fields of ``record``: whatever ``extra`` attributes it carries."""
    return {
        k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("hub_")
    }


class TextFormatter(logging.Formatter):
    """``2026-11-04 02:00:03,120 WARNING hub.collect.run message [source=… batch=…]``, masked."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """The line, with any ID number in it masked."""
        return mask_text(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, message, fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON, with any ID number in it masked."""
        document: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_text(getattr(record, _BARE, None) or record.getMessage()),
        }
        document.update({k: _masked(v) for k, v in record_fields(record).items()})
        if record.exc_info:
            document["exception"] = mask_text(self.formatException(record.exc_info))
        return json.dumps(document, ensure_ascii=False, default=str)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (a test runner may swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        """Ignored: the stream is always the current ``sys.stderr``."""


def configure(
    verbosity: int = 0,
    log_format: str | None = None,
    stream: TextIO | None = None,
) -> None:
    """Send log records to ``stream`` (stderr) for the CLI; calling again replaces the set-up.

    Args:
        verbosity: 0 warnings and errors, 1 also info (batches, pages, deliveries), 2 also the
            project's debug lines (each quarantined record).
        log_format: ``text`` or ``json``; ``HUB_LOG_FORMAT`` by default, else ``text``.
        stream: where the lines go; the current ``sys.stderr`` by default.
    """
    chosen = (log_format or os.environ.get("HUB_LOG_FORMAT") or "text").lower()
    if chosen not in ("text", "json"):
        raise ValueError(f"HUB_LOG_FORMAT={chosen!r}: use text or json")
    handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    handler.setFormatter(JsonFormatter() if chosen == "json" else TextFormatter())
    setattr(handler, _OUR_HANDLER, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _OUR_HANDLER, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbosity >= 1 else logging.WARNING)
    level = logging.DEBUG if verbosity >= 2 else logging.NOTSET
    for package in PACKAGES:
        logging.getLogger(package).setLevel(level)
