"""Great Expectations itself: an in-memory context, the suites loaded from their files, runs.

Import this module only where a real GE run is wanted: importing GE costs about ten seconds per
process. The context is ephemeral (nothing written but Data Docs), sends no analytics and shows no
progress bars; the platform is offline.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

import great_expectations as gx
import pandas as pd
from great_expectations.core import ExpectationSuiteValidationResult
from great_expectations.data_context import AbstractDataContext
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)

import quality.gx_expectations  # noqa: F401  (registers the custom expectation types)
from hub.core.model import RecordKind
from quality.suites import suite_document

DOCS_SITE = "local"
COMPLETE = {"result_format": "COMPLETE"}


def make_context(docs_dir: Path | None = None) -> AbstractDataContext:
    """An ephemeral context; with ``docs_dir``, a Data Docs site writing to that folder."""
    sites = {}
    if docs_dir is not None:
        sites[DOCS_SITE] = {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(docs_dir),
            },
        }
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        data_docs_sites=sites,
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def add_suite(context: AbstractDataContext, kind: RecordKind) -> gx.ExpectationSuite:
    """The suite of ``kind`` from its JSON file, added to ``context``."""
    document = dict(suite_document(kind))
    return context.suites.add(gx.ExpectationSuite(**document))


def validate_frame(
    kind: RecordKind,
    frame: pd.DataFrame,
    parameters: Mapping[str, Any],
    context: AbstractDataContext | None = None,
    result_format: Mapping[str, Any] = COMPLETE,
) -> ExpectationSuiteValidationResult:
    """Run ``kind``'s suite on ``frame`` with GE.

    By default (``COMPLETE``) the result lists the index of every failing row.
    """
    context = context or make_context()
    suite = add_suite(context, kind)
    source = context.data_sources.add_pandas(f"frame_{kind.value}")
    batch = source.add_dataframe_asset(kind.value).add_batch_definition_whole_dataframe("all")
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"validate_{kind.value}", data=batch, suite=suite)
    )
    return definition.run(
        batch_parameters={"dataframe": frame},
        expectation_parameters=dict(parameters),
        result_format=dict(result_format),
    )
