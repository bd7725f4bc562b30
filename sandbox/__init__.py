"""A simulated province for the demo and the tests.

The sandbox generates subjects, departments and the records its agencies deliver (penalties,
business-abnormal listings, serious-dishonesty listings), reproducibly from a seed, and delivers
them through the three channels the platform reads: an HTTP API (``sandbox.server``), an
exchange database (前置库) and file drops. Each delivery writes a ground truth
(``truth/<date>/<source>.json``) saying what was delivered and which defects were injected, so
tests can check the pipeline's findings.
"""
