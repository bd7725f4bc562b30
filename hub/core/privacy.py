"""The one privacy policy: no resident ID number leaves the platform or reaches a person whole."""

from __future__ import annotations


def mask_id_number(number: str) -> str:
    """Mask a personal ID number for anything that leaves the platform: ``110105********002X``."""
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]
