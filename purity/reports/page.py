"""The toolkit every report page is built with: text escaping and number formatting, the page
itself (Markdown and HTML built together), tables, colours, and atomic writes.

Profile names and descriptions are user text: everything shown goes through `md` or `esc`, so a
name like `<script>` is shown, never run. The HTML is self-contained (inline CSS, inline SVG, no
scripts, fonts or URLs) so it opens anywhere, offline, years later.
"""

from __future__ import annotations

import html
import json
import math
import os
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

Rows = tuple[list[str], list[list[str]]]  # headers, cells
GenRows = tuple[list[str], list[list[str]], str]  # headers, cells, the note when rows were thinned

PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#999999")
# the only coloured words of a verdict column: the corrected test's claims (anything else is drift's)
TONES = {"spread beyond drift": "spread", "declined beyond drift": "declined"}

CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;background:#fff;margin:0}
main{max-width:1100px;margin:0 auto;padding:1rem 1.5rem 3rem}
h1{font-size:1.6rem;margin:.6rem 0}
h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
nav a{margin-right:.9rem;color:#0b5cad;text-decoration:none}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem;display:block;overflow-x:auto;max-width:100%}
th,td{border:1px solid #ddd;padding:.25rem .55rem;text-align:right;vertical-align:top}
th{background:#f4f4f4}
td.t,th.t{text-align:left}
td:not(.t){white-space:nowrap}
.note{color:#555;font-size:.9rem}
.warn{background:#fff4e0;border-left:4px solid #e69f00;padding:.5rem .8rem}
.charts{display:flex;flex-wrap:wrap;gap:1rem}
figure{margin:.4rem 0}
figcaption{font-size:.85rem;color:#444;max-width:460px}
svg{background:#fff;max-width:100%;height:auto}
svg text{font:11px system-ui,sans-serif;fill:#333}
.v-declined{color:#c25700;font-weight:600}.v-spread{color:#0a7a3c;font-weight:600}
pre{background:#f7f7f7;padding:.6rem;overflow:auto;font-size:.8rem}
"""

# ---------------------------------------------------------------------------------------------
# text


def fmt(x: Any) -> str:
    """A number as a report shows it: 3 significant digits, thousands grouped, – for none."""
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


def indented(text: str) -> str:
    """A block of text as a Markdown code block (four spaces a line)."""
    return "\n".join("    " + clean(line) for line in text.splitlines()) + "\n"


# ---------------------------------------------------------------------------------------------
# one page, two formats


class Page:
    """The Markdown and the HTML of one report, built together: every call adds the same content
    to both (a chart only to the HTML), so the two formats cannot drift apart. `sections` names
    the page's top-level sections (id → title); the nav lists them in the order they are added."""

    def __init__(self, title: str, header: str, sections: Sequence[tuple[str, str]], css: str = "") -> None:
        self.titles = dict(sections)
        self._md = [f"# {md(title)}\n", md(header) + "\n"]
        self._head = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{esc(title)}</title>",
            f"<style>{CSS}{css}</style></head><body><main>",
            f"<h1>{esc(title)}</h1>",
            f'<p class="note">{esc(header)}</p>',
        ]
        self._html: list[str] = []
        self._sections: list[tuple[str, str]] = []  # (id, title) in page order: the nav

    def add(self, markdown: str | None, html_text: str | None) -> None:
        if markdown is not None:
            self._md.append(markdown)
        if html_text is not None:
            self._html.append(html_text)

    def html(self, text: str) -> None:
        self.add(None, text)

    def section(self, section_id: str, title: str | None = None) -> None:
        """A top-level section, listed in the nav; `title` for a section outside `sections`."""
        title = self.titles[section_id] if title is None else title
        self._sections.append((section_id, title))
        self.add(f"## {md(title)}\n", f'<h2 id="{section_id}">{esc(title)}</h2>')

    def subsection(self, title: str, section_id: str | None = None) -> None:
        anchor = f' id="{esc(section_id)}"' if section_id is not None else ""
        self.add(f"### {md(title)}\n", f"<h3{anchor}>{esc(title)}</h3>")

    def label(self, text: str) -> None:
        """A caption over the next table: "Profiles:" in Markdown, a small heading in HTML."""
        self.add(f"{md(text)}:\n", f"<h3>{esc(text)}</h3>")

    def note(self, text: str, html_text: str | None = None) -> None:
        self.add(md(text) + "\n", f'<p class="note">{esc(text if html_text is None else html_text)}</p>')

    def para(self, text: str) -> None:
        self.add(md(text) + "\n", f"<p>{esc(text)}</p>")

    def warn(self, text: str) -> None:
        self.add(f"> {md(text)}\n", f'<p class="warn">{esc(text)}</p>')

    def table(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[str]],
        text_cols: int = 1,
        verdict_col: int | None = None,
    ) -> None:
        self.add(md_table(headers, rows) + "\n", html_table(headers, rows, text_cols, verdict_col))

    def gen_table(self, headers: Sequence[str], rows: Sequence[Sequence[str]], note: str) -> None:
        """A per-generation table and, when its rows were thinned, the note that says so."""
        self.table(headers, rows)
        if note:
            self.note(note)

    def verbatim(self, title: str, text: str) -> None:
        """A block of text shown as it is: folded away in HTML, indented under "title:" in Markdown."""
        self.add(
            f"{title}:\n",
            f"<details><summary>{esc(title)}</summary><pre>" + html.escape(text) + "</pre></details>",
        )
        self.add(indented(text), None)

    def markdown(self) -> str:
        return "\n".join(self._md)

    def html_page(self) -> str:
        nav = "<nav>" + "".join(f'<a href="#{i}">{esc(t)}</a>' for i, t in self._sections) + "</nav>"
        return "\n".join([*self._head, nav, *self._html, "</main></body></html>"]) + "\n"


def experiment_json(manifest: dict) -> str:
    """The resolved experiment of a manifest as JSON text, with no raw tag in either format."""
    text = json.dumps(manifest.get("experiment"), indent=2, sort_keys=True, default=str, ensure_ascii=False)
    # \u003c / \u003e keep the JSON valid and equal while no raw tag can appear in either format.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# ---------------------------------------------------------------------------------------------
# tables


def md_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(md(h) for h in headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(md(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def html_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], text_cols: int = 1, verdict_col: int | None = None
) -> str:
    """An HTML table; the first `text_cols` columns are left-aligned text, every cell escaped, the
    verdict column's words coloured."""

    def cls(i: int, extra: str = "") -> str:
        names = " ".join(n for n in ("t" if i < text_cols else "", extra) if n)
        return f' class="{names}"' if names else ""

    head = "".join(f"<th{cls(i)}>{esc(h)}</th>" for i, h in enumerate(headers))
    body = []
    for row in rows:
        cells = []
        for i, c in enumerate(row):
            tone = TONES.get(c)
            extra = f"v-{tone}" if i == verdict_col and tone else ""
            cells.append(f"<td{cls(i, extra)}>{esc(c)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


MAX_TABLE_ROWS = 21


def pick_rows(gens: Sequence[int], limit: int = MAX_TABLE_ROWS) -> list[int]:
    """At most `limit` generations, evenly spaced, always including the first and last."""
    gens = list(gens)
    if len(gens) <= limit:
        return gens
    idx = sorted({round(i * (len(gens) - 1) / (limit - 1)) for i in range(limit)})
    return [gens[i] for i in idx]


def thinned_note(total: int, shown: int) -> str:
    if total <= shown:
        return ""
    return (
        f"Showing {shown} of {total} generations (evenly spaced, first and last included); "
        "every generation is in the parquet files."
    )


def gen_rows(
    generations: Sequence[int],
    df: pl.DataFrame,
    headers: Sequence[str],
    row: Callable[[dict[str, Any]], list[str]],
) -> GenRows:
    """A per-generation table: `row` of each of at most MAX_TABLE_ROWS evenly spaced generations
    of `df`, and the note that says so when rows were left out."""
    import polars as pl

    shown = pick_rows(generations)
    rows = [
        row(r) for r in df.filter(pl.col("generation").is_in(shown)).sort("generation").iter_rows(named=True)
    ]
    return list(headers), rows, thinned_note(len(generations), len(shown))


def band(mean: float | None, lo: float | None, hi: float | None) -> str:
    """ "mean [min, max]" (over seeds)."""
    if mean is None:
        return "–"
    return f"{fmt(mean)} [{fmt(lo)}, {fmt(hi)}]"


# ---------------------------------------------------------------------------------------------
# charts in the page


def figure(svg: str, caption: str = "") -> str:
    """A chart in a <figure>; `caption` is HTML (escaped by the caller)."""
    return (
        f"<figure>{svg}<figcaption>{caption}</figcaption></figure>" if caption else f"<figure>{svg}</figure>"
    )


def chart_grid(figures: Sequence[str]) -> str:
    return '<div class="charts">' + "".join(figures) + "</div>"


def color(i: int) -> str:
    """The i-th colour of the palette, round again when there are more series than colours."""
    return PALETTE[i % len(PALETTE)]


# ---------------------------------------------------------------------------------------------
# files


def write_page(folder: Path, page: Page) -> tuple[Path, Path]:
    """report.md and report.html of `page` into `folder`, atomically; both paths."""
    md_path, html_path = folder / "report.md", folder / "report.html"
    write_atomic(md_path, page.markdown())
    write_atomic(html_path, page.html_page())
    return md_path, html_path


def write_atomic(path: Path, text: str) -> None:
    """Write to a hidden temp file in the same folder, then rename: readers never see half a report."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
