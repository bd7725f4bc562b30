"""Every module that sends text out of the platform goes through the privacy policy.

The modules of ``hub/``, ``hub_airflow/``, ``connectors/``, ``quality/`` and ``plugins/`` are read
as syntax trees. A module that writes outbound (files, JSON documents, Arrow/Parquet/CSV/Excel
writers, workbooks, charts, HTTP posts and puts, FastAPI responses, terminal output, log
handlers) must import ``hub.core.privacy``, or the report writers' ``quality.report.data.masked``
(the command line's ``hub.cli.common.console``, the console's ``hub.console.render.render``),
or stand on the allow-list below with the reason it needs none. A plain stdlib logger is a writer
of its own: outside ``hub/core/logs.py`` loggers come from ``get_logger`` or ``masked_logger``.

A new writer that skips the policy fails here until it masks, or until someone writes down why
it need not.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("hub", "hub_airflow", "connectors", "quality", "plugins")

# Calls that write outbound, by the name called (``x.write_text(...)``, ``write_table(...)``).
WRITERS = frozenset(
    {
        "write_text", "write_bytes", "dump", "write_table", "write_csv", "to_csv", "to_parquet",
        "to_excel", "to_json", "Workbook", "save", "savefig", "post", "put", "patch",
        "JSONResponse", "FileResponse", "StreamingResponse", "HTMLResponse", "PlainTextResponse",
        "Response", "print", "echo", "render", "StreamHandler", "FileHandler", "send_request",
        "request",
    }
)  # fmt: skip
# Imports that bring the policy: the module itself, the report writers' entry to it, or the
# command line's console.
POLICY = {
    "hub.core.privacy": None,
    "quality.report.data": {"masked"},
    "hub.cli.common": {"console", "errors"},  # the command line's output, masked as it is written
    "hub.console.render": {"render"},  # the console's pages, masked as they are rendered
}
# Modules that write outbound without masking, each with the reason it needs none.
ALLOWED = {
    # The HTTP primitive: its callers answer for what they send.
    "connectors/http_session.py",
    # Requests to agency sources carry the source's own parameters and credentials, no
    # platform data.
    "connectors/http.py",
    # Posts the messages hub.fanout.messages.build_message made, masked there.
    "connectors/targets.py",
    # The raw archive keeps deliveries exactly as received, inside the platform.
    "hub/collect/payloads.py",
    # COPY into the platform's own database.
    "hub/store/bulk.py",
    # Encodes the rows hub.publish.publisher masked (mask_table) just before.
    "hub/publish/encode.py",
    # A site's client: writes the files the pull API served, masked at publication.
    "hub/publish/client.py",
    # Opens an empty lock file beside the SQLite database; writes nothing.
    "hub/publish/lock.py",
    # Draws the charts of the report render_html was handed, masked there.
    "quality/report/charts.py",
    # Writes the platform clock's offset, a number of seconds.
    "hub/core/clock.py",
    # Starts and stops the native stack: its settings file, pid files and process lines; no records.
    "hub_airflow/stack.py",
}
LOGS = "hub/core/logs.py"


def _called_name(call: ast.Call) -> str | None:
    function = call.func
    if isinstance(function, ast.Attribute):
        return function.attr
    if isinstance(function, ast.Name):
        return function.id
    return None


def _opens_for_writing(call: ast.Call) -> bool:
    if _called_name(call) != "open":
        return False
    modes = [a for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    modes += [k.value for k in call.keywords if k.arg == "mode"]  # type: ignore[misc]
    return any(
        isinstance(m, ast.Constant) and isinstance(m.value, str) and set(m.value) & set("wax")
        for m in modes
    )


def _plain_logger(call: ast.Call) -> bool:
    function = call.func
    return (
        isinstance(function, ast.Attribute)
        and function.attr == "getLogger"
        and isinstance(function.value, ast.Name)
        and function.value.id == "logging"
        and bool(call.args)
    )


def outbound_writes(tree: ast.AST) -> list[str]:
    """What the module calls that writes outbound, as ``line: name``."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _called_name(node)
        if name in WRITERS or _opens_for_writing(node):
            found.append(f"{node.lineno}: {name}")
    return found


def plain_loggers(tree: ast.AST) -> list[str]:
    """Where the module makes a stdlib logger of its own (``logging.getLogger(name)``)."""
    return [
        f"{n.lineno}: getLogger"
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and _plain_logger(n)
    ]


def uses_policy(tree: ast.AST) -> bool:
    """Whether the module imports the privacy policy (``POLICY``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in POLICY:
            names = POLICY[node.module]
            if names is None or {a.name for a in node.names} & names:
                return True
        if isinstance(node, ast.Import) and any(a.name == "hub.core.privacy" for a in node.names):
            return True
    return False


def unmasked_writers(root: Path) -> dict[str, list[str]]:
    """Every module under ``root``'s packages that writes outbound and skips the policy."""
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            name = path.relative_to(root).as_posix()
            tree = ast.parse(path.read_text("utf-8"), filename=name)
            loggers = [] if name == LOGS else plain_loggers(tree)
            writes = [] if name in ALLOWED or uses_policy(tree) else outbound_writes(tree)
            if loggers or writes:
                found[name] = loggers + writes
    return found


def test_every_outbound_writer_goes_through_the_privacy_policy() -> None:
    assert unmasked_writers(ROOT) == {}


def test_the_allow_list_names_only_modules_that_exist_and_write() -> None:
    for name in sorted(ALLOWED):
        path = ROOT / name
        assert path.is_file(), name
        tree = ast.parse(path.read_text("utf-8"))
        assert outbound_writes(tree) and not uses_policy(tree), f"{name} needs no allow-listing"


@pytest.mark.parametrize(
    "writer",
    [
        "Path('out.txt').write_text(text)",
        "open(path, 'w', encoding='utf-8').write(text)",
        "json.dump(document, stream)",
        "pq.write_table(table, path)",
        "frame.to_csv(path)",
        "Workbook().save(path)",
        "requests.post(url, json=document)",
        "session.put(url, data=body)",
        "return JSONResponse(document)",
        "typer.echo(text)",
        "log = logging.getLogger(__name__)",
    ],
)
def test_a_new_writer_that_skips_the_policy_is_found(tmp_path: Path, writer: str) -> None:
    module = tmp_path / "hub" / "stage" / "new_writer.py"
    module.parent.mkdir(parents=True)
    module.write_text(f"def send(path, text, document, table, frame, url):\n    {writer}\n")
    assert list(unmasked_writers(tmp_path)) == ["hub/stage/new_writer.py"]

    masked = "from hub.core.privacy import mask_text\n" + module.read_text()
    module.write_text(masked)
    expected = ["hub/stage/new_writer.py"] if "getLogger" in writer else []
    assert list(unmasked_writers(tmp_path)) == expected
