"""The quality-report stage: per-department scorecards and problem lists from the platform's tables.

The rules, timeliness scoring, GE checkpoints and rendering it uses are the ``quality`` package's.
"""
