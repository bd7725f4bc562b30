"""Data quality: the rules as Great Expectations suites, scorecards per department, reports.

Nothing imported from here at module level imports Great Expectations (about ten seconds per
process): collection, the CLI and DAG parsing only read the suites as JSON; ``quality.gx`` is
imported where a real GE run is wanted (checkpoints, Data Docs, equivalence tests).
"""
