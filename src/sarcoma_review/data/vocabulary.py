"""The vocabulary every layer shares: endpoint names and order, landmark names, study labels."""

from __future__ import annotations

ENDPOINT_NAMES = {"LC": "local control", "OS": "overall survival", "DPFS": "distant progression-free survival"}


def landmark_name(endpoint: str, horizon_years: float) -> str:
    """``"5-year local control"``."""
    return f"{horizon_years:g}-year {ENDPOINT_NAMES.get(endpoint, endpoint)}"
