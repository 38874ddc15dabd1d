"""report.md and report.html: sections, self-contained HTML, escaping, drift twin."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from run_fixtures import MAIN_AGENTS, MAIN_EPISODES, PROFILES, manifest, write_run, write_still_null

import purity.reports as reports
from purity.reports import page

SECTION_IDS = ("verdict", "survival", "price", "process-share", "fitness", "violations", "lineage", "run")
EVIL = "<script>alert(1)</script>"
EVIL_DESC = "takes | sometimes **bold** `tick` [link](x) _under_ \x07bell\nnewline"
VOID = {"meta", "br", "hr", "img", "input", "link", "area", "base", "col", "embed", "source", "wbr"}


class StrictParser(HTMLParser):
    """Fails on unbalanced tags, which html.parser itself tolerates silently."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.ids: list[str] = []
        self.attrs_seen: list[tuple[str, str | None]] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs_seen += attrs
        self.ids += [v for k, v in attrs if k == "id"]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs_seen += attrs

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
        else:
            self.stack.pop()


def parse(text: str) -> StrictParser:
    p = StrictParser()
    p.feed(text)
    p.close()
    return p


def md_tables(text: str) -> list[list[str]]:
    tables, current = [], []
    for line in text.splitlines():
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


def unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)(?:\\\\)*\|", line))


@pytest.fixture
def evil_run(tmp_path) -> Path:
    profiles = dict(PROFILES)
    profiles[EVIL] = {**profiles.pop("keeper"), "description": EVIL_DESC}
    agents = [(g, i, EVIL if p == "keeper" else p, *rest) for g, i, p, *rest in MAIN_AGENTS]
    episodes = [(*r[:4], EVIL if r[4] == "keeper" else r[4], *r[5:]) for r in MAIN_EPISODES]
    return write_run(
        tmp_path / "evil|run", manifest(name=f"evil {EVIL}", profiles=profiles), agents, episodes
    )


def test_write_report_writes_both_files_atomically(run_dir):
    md_path, html_path = reports.write_report(run_dir)
    assert (md_path, html_path) == (run_dir / "report.md", run_dir / "report.html")
    assert md_path.read_text().startswith("# Survival report: toy")
    assert list(run_dir.glob(".report*")) == []  # no temp file left behind
    # rebuilding gives the same bytes, and the new files don't disturb loading
    first = html_path.read_bytes()
    reports.write_report(run_dir)
    assert html_path.read_bytes() == first


def test_html_is_self_contained_with_every_section(run_dir):
    _, html_path = reports.write_report(run_dir)
    text = html_path.read_text()
    p = parse(text)
    assert p.errors == [] and p.stack == []
    for sid in SECTION_IDS:
        assert f'<h2 id="{sid}">' in text
    assert set(SECTION_IDS) <= set(p.ids)
    assert text.count("<svg") >= 4 + 3  # one survival chart per process term + share, fitness, lineage
    assert "http://" not in text and "https://" not in text and "src=" not in text
    assert "<script" not in text and "<link" not in text and "@import" not in text
    assert all(not (v or "").startswith(("http", "//")) for k, v in p.attrs_seen if k == "href")
    assert "<style>" in text


def test_markdown_has_verdict_first_and_all_sections(run_dir):
    md_path, _ = reports.write_report(run_dir)
    text = md_path.read_text()
    heads = [line for line in text.splitlines() if line.startswith("## ")]
    assert heads == [
        "## Verdict",
        "## Survival",
        "## Price decomposition",
        "## Process share",
        "## Fitness",
        "## Violations",
        "## Training",
        "## Reflection",
        "## Lineage",
        "## Run",
    ]  # oversight: training curves
    verdict = text.split("## Verdict")[1].split("## Survival")[0]
    cant = "– | – | we can't tell: no null recorded | – |"  # no null: no band, no p, no force credited
    assert f"| never take (self) | constraint | self | 0.75 | 0.25 | {cant}" in verdict
    assert f"| no taking (world) | constraint | world | 0.25 | 0 | {cant}" in verdict
    assert "vs drift" not in text
    assert "| keeper | take | 0.3 | 0.2 | 3 |" in text  # 3 of 10 opportunities
    for table in md_tables(text):
        assert len({unescaped_pipes(line) for line in table}) == 1, table


def test_user_text_is_escaped(evil_run):
    md_path, html_path = reports.write_report(evil_run)
    html_text, md_text = html_path.read_text(), md_path.read_text()

    assert EVIL not in html_text and "<script" not in html_text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_text
    p = parse(html_text)
    assert p.errors == [] and "script" not in p.tags

    assert "<script>" not in md_text and "\x07" not in md_text
    assert r"\<script\>alert(1)\</script\>" in md_text
    assert r"takes \| sometimes \*\*bold\*\* \`tick\` \[link\](x) \_under\_ bell newline" in md_text
    for table in md_tables(md_text):
        counts = {unescaped_pipes(line) for line in table}
        assert len(counts) == 1, table
    profiles_table = next(t for t in md_tables(md_text) if t[0].startswith("| profile | description"))
    assert all(unescaped_pipes(line) == 4 for line in profiles_table)


def test_drift_twin_curve_and_column(run_with_drift):
    md_path, html_path = reports.write_report(run_with_drift)
    html_text, md_text = html_path.read_text(), md_path.read_text()
    assert "drift end" in md_text and "drift end" in html_text and "vs drift" not in md_text
    assert "| never take (self) | constraint | self | 0.75 | 0.25 | 0.75 | – | – | we can't tell" in md_text
    write_still_null(run_with_drift)
    md_text = reports.write_report(run_with_drift)[0].read_text()
    assert (
        "| never take (self) | constraint | self | 0.75 | 0.25 | 0.75 | \\[0.75, 0.75\\] | 0.004 | declined beyond drift | selection"
        in md_text
    )
    assert (
        "v-declined" in reports.write_report(run_with_drift)[1].read_text()
    )  # colour: the corrected verdict
    assert "never take (self) (drift)" in md_text
    survival = html_text.split('id="survival"')[1].split('id="price"')[0]
    assert 'stroke-dasharray="6 4"' in survival
    assert "never take (self) (drift)" in survival
    assert "null: median" not in survival  # no null recorded when this page was written
    assert parse(html_text).errors == []
    html_text = html_path.read_text()  # rewritten above, with the null
    survival = html_text.split('id="survival"')[1].split('id="price"')[0]
    assert "never take (self) (drift null: median, 95% of single runs)" in survival
    assert "grey: the null" in html_text
    assert "The drift null:" not in md_text  # the fixture's null has no null.json: no cost claimed


def test_no_drift_no_dashed_survival(run_dir):
    _, html_path = reports.write_report(run_dir)
    survival = html_path.read_text().split('id="survival"')[1].split('id="price"')[0]
    assert 'stroke-dasharray="6 4"' not in survival


def test_report_of_running_run_without_generations(tmp_path):
    m = manifest()
    m.update(status="running", generations_done=0)
    path = write_run(tmp_path / "fresh", m, [], [])
    md_path, html_path = reports.write_report(path)
    assert "No generation recorded yet." in md_path.read_text()
    assert "running" in md_path.read_text()
    assert parse(html_path.read_text()).errors == []


def test_long_runs_thin_the_tables():
    assert page.pick_rows(list(range(3))) == [0, 1, 2]
    rows = page.pick_rows(list(range(1000)), limit=21)
    assert len(rows) == 21 and rows[0] == 0 and rows[-1] == 999


def test_markdown_escape():
    assert page.md("a|b<c>`d`*e*_f_[g]\\") == r"a\|b\<c\>\`d\`\*e\*\_f\_\[g\]\\"
    assert page.md("x\x00y\x1bz\tw") == "xyz w"
