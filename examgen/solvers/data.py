"""Numbers in the free-text data questions (seed 001 P8e: class imbalance)."""

from __future__ import annotations

from typing import Any


def class_imbalance(p: dict[str, Any]) -> dict[str, Any]:
    major, minor = int(p["n_major"]), int(p["n_minor"])
    total = major + minor
    return {
        "total": total,
        "ratio": major / minor,
        "minor_share_percent": 100.0 * minor / total,
        "majority_accuracy_percent": 100.0 * major / total,
    }


def ratio_is_integer(p: dict[str, Any]) -> bool:
    """the majority count is a whole multiple of the minority count"""
    return int(p["n_major"]) % int(p["n_minor"]) == 0 and int(p["n_major"]) > int(p["n_minor"])
