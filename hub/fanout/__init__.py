"""Fan-out: the push half of delivering status changes to the targets that take pushes.

The reconciliation writes the outbox rows with each change (``hub.reconcile.outbox``); ``claims``
hands due rows to one delivery run at a time; ``messages`` turns them into push bodies;
``deliver`` runs the delivery loop; ``status`` summarises the outbox for ``hub status``.
"""
