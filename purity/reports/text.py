"""Formatting and escaping of text from a run: numbers, Markdown and HTML.

Profile names and descriptions are user text; everything shown in a report goes through `md`
or `esc`, so a name like `<script>` is shown, never run.
"""

from __future__ import annotations

import html
import math
import unicodedata
from typing import Any


def fmt(x: Any) -> str:
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        if x != 0 and abs(x) >= 1000:
            return f"{x:,.0f}"
        return f"{x:.3g}"
    return str(x)


def clean(text: Any) -> str:
    """Text from the run with line breaks flattened and control characters removed."""
    s = str(text).replace("\r\n", " ").replace("\n", " ").replace("\r", " ").replace("\t", " ")
    return "".join(ch for ch in s if unicodedata.category(ch) != "Cc")


MD_SPECIAL = set("\\|<>`*_[]")


def md(text: Any) -> str:
    """Escape text for Markdown (also inside table cells): backslash-escape the characters that
    would start markup, a table cell or raw HTML."""
    return "".join("\\" + ch if ch in MD_SPECIAL else ch for ch in clean(text))


def esc(text: Any) -> str:
    return html.escape(clean(text), quote=True)
