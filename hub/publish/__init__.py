"""Delta files for the downstream sites that pull, and the pull API that serves them.

Each day, every pull site gets one delta file set (Parquet, CSV with a BOM, manifest JSON) of the
status changes of its region, numbered by a gap-free per-site sequence; the pull API serves them
to the site holding the right bearer token. See ``docs/publish.md``.
"""
