"""The daily reconciliation of repair status between the platform, Credit China and GSXT."""

from hub.reconcile.run import ReconcileSummary, reconcile_day

__all__ = ["ReconcileSummary", "reconcile_day"]
