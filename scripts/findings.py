"""Write docs/findings.md: what each shipped experiment shows, from a real run of it as shipped.

`make findings` (or `python scripts/findings.py [FILE ...]`) runs every file of `experiments/`:
an experiment with `purity run`, a sweep with `purity sweep`, each in this process
(`--workers 0`), into a temporary folder. The page keeps, per experiment, the question its file
asks, the command that reproduces the section, and the sections its report opens with (`HEADINGS`):
the verdict table (Monte-Carlo p-values against the run's null, corrected over the terms and a
sweep's grid points by Holm, and the verdict word that follows from them), a reflection sweep's
squashed table, a training study's gap and its rates.

Each section records a stamp: the sha256 of its experiment file, the files it names (a sweep's
base experiment, profile files), the library profiles they name and purity's version.
`tests/test_docs.py::test_findings_are_current` recomputes the stamps and fails when one differs,
so the page is never older than its inputs. A run rewrites the sections of the files it is given
or, given none, those that are missing or stale; the others are kept as they are.
The atlas (`experiments/atlas/`) is one section: `purity atlas` runs its four sweeps and writes
docs/atlas.md and .html beside this page, and the section copies the atlas's conditions table and
the cells that go against their argument; its stamp covers every file of the folder.
`--atlas-runs DIR` reads the atlas from a folder `purity atlas --runs DIR` filled from the same
files, instead of running it again. `--not-run FILE ...` writes, instead of running them, sections that say so (an experiment too long
to run where the page is written); the page lists them first, and `make findings` runs them.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = Path(os.environ.get("FINDINGS_PAGE", ROOT / "docs" / "findings.md"))  # another: to run in parallel
EXPERIMENTS = ROOT / "experiments"
ATLAS = EXPERIMENTS / "atlas"  # one section for the folder: `purity atlas` writes its own page
ATLAS_HEADINGS = ("Where process preferences survive or die", "What goes against its argument")
KEPT = "From the atlas page: "  # a paragraph `tidy` keeps beside the tables
EVIDENCE = "Which force decides, the evidence"  # how the atlas's table of paired steps reads
LIBRARY = ROOT / "purity" / "agents" / "profiles"
BIN = Path(sys.executable).parent
MARK = re.compile(r"^<!-- findings: (\S+) stamp ([\w-]+) -->$", re.M)
NOT_RUN = "not-run"  # the stamp of a section whose experiment has not been run yet
INTRO = """# What each shipped experiment shows

Written by `make findings` (`scripts/findings.py`), which runs every file of `experiments/` as
shipped and copies the verdicts its report opens with. Do not edit by hand: `tests/test_docs.py`
fails when an experiment file, a file it names, a library profile it uses or purity's version changed
since its section was written. How to read a verdict (the null, Monte-Carlo p-values, Holm's
correction, the verdict words, *we can't tell*) is in [inference.md](inference.md); a verdict that
one run cannot reach is said plainly, not rounded up. Timings are not recorded here:
[BENCHMARKS.md](../BENCHMARKS.md) holds them, with the command and the machine.
"""


def shipped() -> list[Path]:
    """Every experiment and sweep file, and the atlas folder as one entry."""
    return sorted([*(p for p in EXPERIMENTS.rglob("*.toml") if ATLAS not in p.parents), ATLAS])


def kind(path: Path) -> str:
    if path == ATLAS:
        return "atlas"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    for key in ("sweep", "experiment"):
        if key in data:
            return key
    raise ValueError(f"{path}: neither an experiment nor a sweep")


def named_files(path: Path) -> list[Path]:
    """Files the experiment names by a relative path (a sweep's base, a profile file)."""
    found = {path}
    for text in re.findall(r'"([^"]+\.toml)"', path.read_text(encoding="utf-8")):
        other = (path.parent / text).resolve()
        if other.is_file() and other not in found:
            found.add(other)
            found.update(named_files(other))
    return sorted(found)


def library_profiles(files: list[Path]) -> list[Path]:
    """The library profiles these files name: any quoted string that is a library profile's name
    (a mix entry, a swept list of profiles). A profile added to the library leaves them alone."""
    library = {p.stem: p for p in LIBRARY.glob("*.toml")}
    names = {name for f in files for name in re.findall(r'"([^"]+)"', f.read_text(encoding="utf-8"))}
    return sorted(library[name] for name in names & library.keys())


def stamp(path: Path) -> str:
    """sha256 (first 16 hex digits) of what a section depends on besides the code: its files, the
    library profiles they name, and purity's version."""
    from purity import __version__

    tops = sorted(path.glob("*.toml")) if path.is_dir() else [path]
    files = sorted({f for top in tops for f in named_files(top)})
    digest = hashlib.sha256(__version__.encode())
    for file in [*files, *library_profiles(files)]:
        digest.update(file.relative_to(ROOT).as_posix().encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:16]


def question(path: Path) -> str:
    """What the file says it asks: its leading comment, else its description."""
    if path == ATLAS:
        return (
            "Under which conditions does each argument's process preference survive or die, and "
            "which swept key decides? One sweep per argument and one for the singleton case: "
            "selection intensity × detection; selection intensity × police power against a "
            "singleton; keeper × evaluation rule × successor identity × capability; reward × cue "
            "reliability × learner × train/test shift ([atlas.md](atlas.md) has the phase "
            "diagrams, every cell's verdict with its interval, and the seeds)."
        )
    from purity.inputs import leading_comment

    comment = [line.lstrip("# ").rstrip() for line in leading_comment(path)]
    if comment:
        return " ".join(c for c in comment if c)
    head = tomllib.loads(path.read_text(encoding="utf-8"))
    for key in ("experiment", "sweep", "study"):
        if "description" in head.get(key, {}):
            return head[key]["description"]
    return "(the file says nothing about what it asks)"


def section_of(report: str, heading: str) -> str:
    """The body of one `## heading` of a report.md, up to the next `## `."""
    start = report.index(f"\n## {heading}\n") + len(heading) + 5
    end = report.find("\n## ", start)
    return report[start : end if end >= 0 else None].strip()


def run_purity(args: list[str]) -> None:
    done = subprocess.run([str(BIN / "purity"), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"purity {' '.join(args)} exited {done.returncode}: {done.stderr.strip()}")


def table(frame) -> str:
    """A polars frame as a Markdown table, numbers to 3 significant digits."""

    def cell(value) -> str:
        if isinstance(value, float):
            return f"{value:.3g}"
        if isinstance(value, (list, tuple)):
            return "[" + ", ".join(cell(v) for v in value) + "]"
        return str(value)

    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.iter_rows()]
    return "\n".join(lines)


# The sections a report opens with, as the page copies them: whichever of these it has, in order.
HEADINGS = (
    "Squashed, by definition / by trade-off",
    "Gap: don't, or don't get caught?",
    "Training and test",
    "Verdicts",
    "Verdict",
)


def findings(path: Path, out: Path, atlas_runs: Path | None = None) -> tuple[str, str]:
    """(command, verdicts as Markdown) of one shipped file, run into `out`."""
    if path == ATLAS:
        return atlas_findings(out, atlas_runs)
    relative = path.relative_to(ROOT).as_posix()
    verb = "sweep" if kind(path) == "sweep" else "run"
    run_purity([verb, str(path), "--out", str(out), "--workers", "0", "--quiet", "--force"])
    (folder,) = [p for p in out.iterdir() if p.is_dir()]
    report = (folder / "report.md").read_text(encoding="utf-8")
    found = [h for h in HEADINGS if f"\n## {h}\n" in report]
    if not found:
        raise RuntimeError(f"{folder / 'report.md'}: none of the sections {HEADINGS}")
    return f"purity {verb} {relative} --workers 0", "\n\n".join(section_of(report, h) for h in found)


def atlas_findings(out: Path, runs: Path | None = None) -> tuple[str, str]:
    """Run the reduced atlas into `out` (or continue it in `runs`: its sweeps that are complete
    are read, not run again), put its page beside this one, and copy its opening tables."""
    run_purity(["atlas", "--runs", str(runs or out), "--out", str(out), "--workers", "0", "--quiet"])
    for name in ("atlas.md", "atlas.html"):
        shutil.copyfile(out / name, PAGE.parent / name)
    page = (out / "atlas.md").read_text(encoding="utf-8")
    body = "\n\n".join(section_of(page, h) for h in ATLAS_HEADINGS)
    body = body.replace(EVIDENCE, KEPT + EVIDENCE)  # the steps table's key stays beside it
    said = [  # what the page says of the cells against their argument: kept with their table
        p
        for p in section_of(page, ATLAS_HEADINGS[1]).split("\n\n")
        if not p.startswith(("|", "Rule:")) and p.strip()
    ]
    return "purity atlas --workers 0", body + "".join(f"\n\n{KEPT}{p}" for p in said)


def tidy(section: str) -> str:
    """A section as the page keeps it: heading, stamp, question, command and the verdict table; the
    report's note on how to read the table is left to inference.md, which the intro links."""
    paragraphs = section.strip().split("\n\n")
    kept = paragraphs[:4] + [
        p
        for p in paragraphs[4:]
        if p.startswith(KEPT) or all(line.startswith("|") for line in p.splitlines())
    ]
    return "\n\n".join(kept) + "\n"


def sections(text: str) -> dict[str, str]:
    """The page's sections by experiment file, each from its mark to the next."""
    marks = list(MARK.finditer(text))
    out = {}
    for i, mark in enumerate(marks):
        start = text.rfind("\n## ", 0, mark.start()) + 1
        end = text.rfind("\n## ", 0, marks[i + 1].start()) + 1 if i + 1 < len(marks) else len(text)
        out[mark.group(1)] = text[start:end].rstrip() + "\n"
    return out


def recorded() -> dict[str, str]:
    """Experiment file -> the stamp its section was written with."""
    text = PAGE.read_text(encoding="utf-8") if PAGE.is_file() else ""
    return {m.group(1): m.group(2) for m in MARK.finditer(text)}


def save(done: dict[str, str]) -> None:
    """The page: the intro, the files not run yet (said first, plainly), then the sections."""
    order = [p.relative_to(ROOT).as_posix() for p in shipped()]
    pending = [r for r in order if recorded_in(done.get(r, "")) == NOT_RUN]
    note = (
        "\n**Not run yet**: " + ", ".join(f"`{r}`" for r in pending) + ". Their sections say what "
        "they ask and how to write them (`make findings` runs every section that is not current).\n"
        if pending
        else ""
    )
    page = "\n".join(tidy(done[r]) for r in order if r in done)
    PAGE.write_text(INTRO + note + "\n" + page, encoding="utf-8")


def recorded_in(section: str) -> str | None:
    found = MARK.search(section)
    return found.group(2) if found else None


def write(only: list[Path], not_run: list[Path] = (), atlas_runs: Path | None = None) -> None:
    """Rewrite the sections of `only` or, given none, of every file whose section is missing or
    stale; those of `not_run` say that the file has not been run (its run takes too long here).
    `atlas_runs`: a folder where `purity atlas --runs` already ran the atlas of these files."""
    done = sections(PAGE.read_text(encoding="utf-8")) if PAGE.is_file() else {}
    stamps = recorded()
    for path in not_run:
        relative = path.relative_to(ROOT).as_posix()
        done[relative] = (
            f"## {relative}\n\n<!-- findings: {relative} stamp {NOT_RUN} -->\n\n{question(path)}\n\n"
            f"Not run yet: `make findings FILES={relative}` writes this section.\n"
        )
    for path in shipped():
        relative = path.relative_to(ROOT).as_posix()
        if path in not_run or (
            (path not in only) if only or not_run else stamps.get(relative) == stamp(path)
        ):
            continue
        print(f"findings: {relative}", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(prefix="findings-") as tmp:
            command, verdicts = findings(path, Path(tmp), atlas_runs)
        when = datetime.now(timezone.utc).strftime("%Y-%m-%d")
        done[relative] = (
            f"## {relative}\n\n<!-- findings: {relative} stamp {stamp(path)} -->\n\n"
            f"{question(path)}\n\n`{command}`, {when}:\n\n{verdicts}\n"
        )
        save(done)  # after each, so a stop loses little
    save(done)


if __name__ == "__main__":
    args = sys.argv[1:]
    reuse = None
    if "--atlas-runs" in args:
        at = args.index("--atlas-runs")
        reuse, args = Path(args[at + 1]).resolve(), args[:at] + args[at + 2 :]
    split = args.index("--not-run") if "--not-run" in args else len(args)
    write([Path(a).resolve() for a in args[:split]], [Path(a).resolve() for a in args[split + 1 :]], reuse)
