"""Shared helpers of the offline Terraform checks' tests."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def marked_lines(tf: Path, marker: str) -> set[int]:
    """Line numbers carrying a ``# <marker>:`` comment (what a fixture expects reported)."""
    pattern = re.compile(rf"#\s*{re.escape(marker)}:")
    lines = tf.read_text(encoding="utf-8").splitlines()
    return {n for n, line in enumerate(lines, start=1) if pattern.search(line)}
