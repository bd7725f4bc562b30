"""The reconciliation stage: repair status between the platform, Credit China and GSXT, every day.

``run.reconcile_day`` is the day's job; ``ledger`` keeps every repair fact seen, ``publicity`` the
publicity periods, ``compare`` the three-way comparison and its findings, ``changes`` and
``outbox`` the platform's status moves with their outbox rows, ``report`` the daily report.
"""
