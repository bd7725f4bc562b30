"""The core: domain primitives and settings every other part builds on.

Model, identity, code tables, text and dates, settings and the clock, logs, the privacy policy,
the working-day calendar, thresholds and the outbound target registry. Nothing here imports any
other package of the project (``lint-imports`` checks it).
"""
