"""Talking to the two repair systems, Credit China and GSXT: their feeds and their push APIs.

The public names are re-exported by ``connectors.repair_systems``.
"""
