"""The faults and bad inputs a province sends, each injected for real, on SQLite and PostgreSQL.

Each fault of the "nothing skipped, nothing stuck, nothing hidden" list has its tests, checking
the counts (raw = loaded + quarantined), the operator's view (``hub status``, exit codes, the
quality report) and, where it applies, exactly-once delivery and gap-free delta sets; the
runbook (docs/runbook.md) has a section per fault:

1. a publication that stops half-way: tests/publish/test_publication_faults.py (runbook 11);
2. text PostgreSQL cannot store: tests/faults/test_unstorable_text.py (13);
3. a batch whose process died (``kill -9``): tests/faults/test_dead_batches.py (14);
4. a rejected or partial delivery: tests/faults/test_missed_deliveries.py (15);
5. the pull log's gaps, forged ``X-Forwarded-For``, odd ids, two token issuers:
   tests/publish/test_pull_faults.py, test_tokens.py, test_api_properties.py (12);
6. configuration errors: tests/test_configuration_errors.py, tests/hub/test_sources_check.py (18);
7. rows an agency commits late: tests/faults/test_late_commits.py (17);
8. CSV and JSON Lines errors, huge fields, a missing column: tests/faults/test_bad_files.py
   (3, 16).

The earlier kill tests: a fan-out killed mid-batch (tests/fanout/test_deliver.py) and the year
rehearsal's faults (tests/bench/test_rehearsal.py).
"""
