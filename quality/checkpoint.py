"""Great Expectations checkpoints per department, and Data Docs a browser reads offline.

For a period, every record the platform received is mapped again from its raw payload
(``hub.report.frames``) and validated by real GE: one ``Checkpoint`` per department and record kind
(a checkpoint's validations share one batch, and each kind has its own suite); then the Data Docs
site in the report folder is built once. Data Docs fetch Bootstrap, jQuery and fonts from CDNs; the
platform is offline, so those references are removed and a small stylesheet is written into every
page. Unexpected values are left out of the results, and every page is masked by the privacy
policy (``hub.core.privacy``) as it is rewritten, so no personal ID number reaches the pages.

Importing this module imports Great Expectations (about ten seconds).
"""

from __future__ import annotations

import hashlib
import re
import shutil
from html import escape
from pathlib import Path
from typing import Any

import great_expectations as gx
import pandas as pd
from great_expectations.core.run_identifier import RunIdentifier

from hub.core import clock
from hub.core.model import RecordKind
from hub.core.privacy import mask_text
from hub.core.reference import department_rows
from quality.checkpoint_results import CheckpointOutcome, save_outcomes
from quality.evaluate import validation_frame
from quality.gx import DOCS_SITE, add_suite, make_context
from quality.periods import Period
from quality.report.labels import KINDS

RESULT_FORMAT = {"result_format": "SUMMARY", "exclude_unexpected_values": True}
_EXTERNAL = re.compile(
    r"<link[^>]*href=\"https?://[^\"]*\"[^>]*>"
    r"|<script[^>]*src=\"https?://[^\"]*\"[^>]*>\s*</script>"
    r"|<img[^>]*src=\"https?://[^\"]*\"[^>]*>",
    re.IGNORECASE,
)
OFFLINE_STYLE = """<style>
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; margin: 1.5rem 2rem;
       color: #1f2933; line-height: 1.45; }
nav, .navbar { margin-bottom: 1rem; }
a { color: #0b5cad; }
table { border-collapse: collapse; margin: .5rem 0 1rem; }
th, td { border: 1px solid #c8d0d8; padding: .25rem .5rem; vertical-align: top; text-align: left; }
th { background: #eef2f6; }
.ge-section { margin-bottom: 1.5rem; }
.card-header, h1, h2, h3, h4, h5 { color: #102a43; }
.text-danger, .fa-times { color: #b42318; }
.text-success, .fa-check-circle { color: #1a7f37; }
.fa-check-circle::before { content: "✔ 满足"; font-style: normal; }
.fa-times::before { content: "✘ 未满足"; font-style: normal; }
.collapse:not(.show) { display: block; }
footer, .sticky { display: none; }
</style>"""


def department_key(name: str) -> str:
    """A file-name-safe key for a department: its reference code, else a digest of its name."""
    codes = {row["name"]: row["code"] for row in department_rows()}
    return codes.get(name) or "dept-" + hashlib.sha1(name.encode()).hexdigest()[:10]


def offline_index(outcomes: list[CheckpointOutcome]) -> str:
    """A plain table of every checkpoint's page: GE's own index lists them only with JavaScript."""
    rows = "".join(
        f"<tr><td>{escape(o.department)}</td><td>{escape(KINDS[o.kind.value])}</td>"
        f"<td>{o.records}</td><td>{o.met}/{o.expectations}</td>"
        f'<td><a href="{escape(o.page)}">{escape(Path(o.page).name)}</a></td></tr>'
        for o in outcomes
    )
    suites = "".join(
        f'<li><a href="expectations/{kind.value}.html">{escape(KINDS[kind.value])}</a></li>'
        for kind in sorted({o.kind for o in outcomes})
    )
    return (
        '<section id="offline-index"><h2>各部门检查点</h2><table><thead><tr><th>部门</th>'
        "<th>记录类型</th><th>记录数</th><th>满足的期望</th><th>数据文档</th></tr></thead>"
        f"<tbody>{rows}</tbody></table><h2>规则集</h2><ul>{suites}</ul></section>"
    )


def make_offline(docs_dir: Path, outcomes: list[CheckpointOutcome]) -> None:
    """Make every Data Docs page readable without network or JavaScript.

    CDN references go, a stylesheet is inlined, and the index gets a table of the checkpoints.
    """
    for page in docs_dir.rglob("*.html"):
        html = _EXTERNAL.sub("", page.read_text(encoding="utf-8"))
        html = html.replace("</head>", OFFLINE_STYLE + "</head>", 1)
        body = re.search(r"<body[^>]*>", html)
        if page == docs_dir / "index.html" and body:
            html = html[: body.end()] + offline_index(outcomes) + html[body.end() :]
        page.write_text(mask_text(html), encoding="utf-8")


def _unexpected(results: list) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for outcome in results:
        config = outcome.expectation_config
        key = (config.meta["rule"], config.kwargs.get("column") or config.kwargs["column_A"])
        counts[key] = counts.get(key, 0) + int(outcome.result.get("unexpected_count") or 0)
    return counts


def run_checkpoints(
    frames: dict[RecordKind, pd.DataFrame],
    period: Period,
    docs_dir: Path,
    parameters: dict[str, Any],
) -> list[CheckpointOutcome]:
    """Validate each department's records of each kind with GE and build Data Docs.

    Args:
        frames: remapped records per kind with a ``department`` column (``hub.report.frames``).
        period: the period (the run name in Data Docs).
        docs_dir: the Data Docs folder, made anew; the outcomes are saved in it too
            (``quality.checkpoint_results``).
        parameters: the suite parameters.
    """
    shutil.rmtree(docs_dir, ignore_errors=True)
    context = make_context(docs_dir)
    source = context.data_sources.add_pandas("departments")
    run_id = RunIdentifier(run_name=period.label, run_time=clock.now())
    outcomes = []
    for kind, records in sorted(frames.items()):
        suite = add_suite(context, kind)
        for department, rows in records.groupby("department", sort=True):
            name = f"{department_key(department)}-{kind.value}"
            batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("all")
            definition = context.validation_definitions.add(
                gx.ValidationDefinition(name=name, data=batch, suite=suite)
            )
            checkpoint = context.checkpoints.add(
                gx.Checkpoint(
                    name=name,
                    validation_definitions=[definition],
                    result_format=RESULT_FORMAT,
                )
            )
            frame = validation_frame(kind, rows.reset_index(drop=True))
            result = checkpoint.run(
                batch_parameters={"dataframe": frame},
                expectation_parameters=parameters,
                run_id=run_id,
            )
            [(identifier, validation)] = result.run_results.items()
            statistics = validation.statistics
            suite_name, run_name, run_time, batch_name = identifier.to_tuple()
            outcomes.append(
                CheckpointOutcome(
                    department=department,
                    kind=kind,
                    records=len(frame),
                    expectations=statistics["evaluated_expectations"],
                    met=statistics["successful_expectations"],
                    unexpected=_unexpected(validation.results),
                    page=f"validations/{suite_name}/{run_name}/{run_time}/{batch_name}.html",
                )
            )
    # One build for all validations: an UpdateDataDocsAction per checkpoint rebuilds the site
    # each time, about two seconds apiece.
    context.build_data_docs(site_names=[DOCS_SITE])
    make_offline(docs_dir, outcomes)
    save_outcomes(outcomes, docs_dir)
    return outcomes
