"""Every snippet of the user documentation runs, so the documentation cannot drift from the code.

Convention for README.md and docs/*.md (blocks of one file run in order, in one work directory
that starts as a copy of `experiments/`, so later blocks can use what earlier ones wrote):

- ```python```: run in a fresh interpreter (`python -c`); ```python file=NAME```: also saved as
  NAME in the work directory and run as `python NAME`, so later blocks can import it.
- ```toml```: a whole file; it must pass `purity validate`. ```toml fragment```: skipped.
- ```console``` / ```sh```: each line starting with `$ ` is a command (with its heredoc body or
  `\\` continuation lines), run by bash with the venv's bin first on PATH; it must exit 0 and
  variables it exports carry over to the next command. The other lines, except comments (`# ...`) and
  blank lines, show output, and must be what the command printed (stdout and stderr as they came),
  line for line and in order: a line `...` stands for any lines left out, there and only there.
  Both sides are compared with runs of spaces collapsed, the work directory's path as `.` and
  durations (`1.2 s`, `35 ms`, `0:00:04`) as `<time>`; progress-bar lines (on a terminal, one
  line redrawn in place and gone when the command ends) are left out of what was printed.
- ```sh cluster```: needs a Ray cluster. The fast tests skip it; `test_cluster_snippets` (slow)
  runs it against a real head it starts, and stops only the processes it started, by pid.
- Blocks without a tag are not run.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = (
    "README.md",
    "docs/concepts.md",
    "docs/profiles.md",
    "docs/arenas.md",
    "docs/evolution.md",
    "docs/reflection.md",
    "docs/cluster.md",
    "docs/sweeps.md",
    "docs/training.md",
    "docs/architecture.md",
    "docs/inference.md",
)
BIN = Path(sys.executable).parent
HEREDOC = re.compile(r"<<-?\s*['\"]?(\w+)['\"]?")
FENCE = re.compile(r"^```(.*)$")


@dataclass(frozen=True)
class Block:
    doc: str
    line: int  # line of the opening fence, 1-based
    tags: tuple[str, ...]
    text: str

    @property
    def lang(self) -> str:
        return self.tags[0] if self.tags else ""

    @property
    def where(self) -> str:
        return f"{self.doc}:{self.line}"


def blocks(doc: str) -> list[Block]:
    found, lines, i = [], (ROOT / doc).read_text(encoding="utf-8").splitlines(), 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        start, body = i, []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i])
            i += 1
        assert i < len(lines), f"{doc}:{start + 1}: code block never closed"
        found.append(Block(doc, start + 1, tuple(opening.group(1).split()), "\n".join(body) + "\n"))
        i += 1
    return found


@dataclass(frozen=True)
class Command:
    text: str
    shown: tuple[str, ...]  # output lines the reader is shown


def is_comment(line: str) -> bool:
    return line == "#" or line.startswith("# ")


def commands(block: Block) -> list[Command]:
    lines, out, i = block.text.splitlines(), [], 0
    while i < len(lines):
        if not lines[i].startswith("$ "):  # before the first command: comments only
            assert not lines[i].strip() or is_comment(lines[i]), f"{block.where}: {lines[i]!r}"
            i += 1
            continue
        parts = [lines[i][2:]]
        i += 1
        while parts[-1].endswith("\\") and i < len(lines):
            parts.append(lines[i])
            i += 1
        for tag in HEREDOC.findall("\n".join(parts)):
            while i < len(lines):
                parts.append(lines[i])
                i += 1
                if parts[-1].strip() == tag:
                    break
        shown = []
        while i < len(lines) and not lines[i].startswith("$ "):
            if lines[i].strip() and not is_comment(lines[i]):
                shown.append(lines[i])
            i += 1
        out.append(Command("\n".join(parts), tuple(shown)))
    return out


def base_env(home: Path | None = None) -> dict[str, str]:
    """The user's environment with the venv first on PATH and no Ray cluster or token settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_ADDRESS", "RAY_AUTH"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    if home is not None:
        env["HOME"] = str(home)
    return env


def run_shell(command: Command, where: str, cwd: Path, env: dict[str, str], timeout: float = 120) -> None:
    """Run one `$ ` command with bash; keep the variables it exports in `env`; check shown output."""
    env_file = cwd.parent / ".env-after"
    script = f"{command.text}\n__rc=$?\nenv -0 > {env_file}\nexit $__rc\n"
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
    printed = done.stdout
    assert done.returncode == 0, f"{where}: `{command.text}` exited {done.returncode}:\n{printed}"
    for entry in env_file.read_bytes().split(b"\0"):
        name, sep, value = entry.decode().partition("=")
        if sep and name not in ("_", "SHLVL", "PWD", "OLDPWD", "__rc"):
            env[name] = value
    if command.shown:
        assert shows(command.shown, printed, cwd), (
            f"{where}: `{command.text}` printed what the page does not show:\n"
            + "\n".join(command.shown)
            + f"\n--- printed ---\n{printed}"
        )


PROGRESS = re.compile(r"\[[#.]+\] gen \d+/\d+ .* ETA ")
DURATION = re.compile(r"\b(?:\d+:)?\d+:\d\d\b|\b\d+(?:\.\d+)?\s?(?:ms|s|min|h)\b")


def normalise(line: str, cwd: Path) -> str:
    """One line as compared: the work directory as `.`, durations as `<time>`, spaces collapsed."""
    line = line.replace(str(cwd.resolve()), ".").replace(str(cwd), ".")
    return " ".join(DURATION.sub("<time>", line).split())


def shows(shown: tuple[str, ...], printed: str, cwd: Path) -> bool:
    """Whether the lines a page shows are what was printed: in order and whole, `...` standing
    for any lines (blank and `# ` lines are left out on both sides, as in `commands`)."""
    pattern = "".join(
        r"(?:[^\n]*\n)*?" if line.strip() == "..." else re.escape(normalise(line, cwd)) + r"\n"
        for line in shown
    )
    lines = [normalise(line, cwd) for line in printed.splitlines()]
    text = "".join(
        line + "\n" for line in lines if line and not is_comment(line) and not PROGRESS.search(line)
    )
    return re.fullmatch(pattern, text) is not None


def run_python(block: Block, cwd: Path, env: dict[str, str]) -> None:
    name = dict(tag.split("=", 1) for tag in block.tags[1:] if "=" in tag).get("file")
    if name:
        (cwd / name).write_text(block.text, encoding="utf-8")
        argv = [sys.executable, name]
    else:
        argv = [sys.executable, "-c", block.text]
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{block.where}: python block failed:\n{done.stdout}{done.stderr}"


def run_toml(block: Block, tmp: Path, env: dict[str, str]) -> None:
    path = tmp / f"block-{block.line}.toml"
    path.write_text(block.text, encoding="utf-8")
    done = subprocess.run(
        [BIN / "purity", "validate", path], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, f"{block.where}: toml block does not validate: {done.stderr}"


def work_dir(tmp_path: Path) -> Path:
    cwd = tmp_path / "work"
    cwd.mkdir()
    shutil.copytree(ROOT / "experiments", cwd / "experiments")
    return cwd


@pytest.mark.parametrize("doc", DOCS)
def test_snippets(doc, tmp_path):
    """Every runnable block of the doc but those tagged `slow` (the slow suite runs those)."""
    assert run_snippets(doc, tmp_path, slow=False), f"{doc} has no runnable snippet"


@pytest.mark.slow
@pytest.mark.parametrize("doc", [doc for doc in DOCS if any("slow" in b.tags for b in blocks(doc))])
def test_slow_snippets(doc, tmp_path):
    """The blocks tagged `slow`: commands that take ten seconds or more (a fixation probability
    from thousands of chain repeats, say)."""
    assert run_snippets(doc, tmp_path, slow=True)


def run_snippets(doc: str, tmp_path: Path, slow: bool) -> int:
    """Run the doc's blocks that are (`slow`) or are not tagged slow; how many ran."""
    cwd, env, ran = work_dir(tmp_path), base_env(), 0
    for block in blocks(doc):
        if "fragment" in block.tags or "cluster" in block.tags or ("slow" in block.tags) != slow:
            continue
        if block.lang == "python":
            run_python(block, cwd, env)
        elif block.lang == "toml":
            run_toml(block, tmp_path, env)
        elif block.lang in ("console", "sh"):
            for command in commands(block):
                run_shell(command, block.where, cwd, env)
        else:
            continue
        ran += 1
    return ran


def test_docs_exist_and_links_resolve():
    for doc in DOCS:
        text = (ROOT / doc).read_text(encoding="utf-8")
        assert len(text) > 500, doc
        outside = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", outside):
            if "://" not in target:
                assert (ROOT / doc).parent.joinpath(target).exists(), f"{doc}: broken link {target}"


def test_only_known_block_tags():
    """A typo in a tag (```pyhton```) would silently skip a snippet."""
    known = {"", "python", "toml", "console", "sh", "text"}
    for doc in DOCS:
        for block in blocks(doc):
            assert block.lang in known, f"{block.where}: unknown block tag {block.lang!r}"
            assert set(block.tags[1:]) <= {"fragment", "cluster", "slow"} or block.lang == "python", (
                block.where
            )


def test_fragments_are_few():
    fragments = [b for doc in DOCS for b in blocks(doc) if "fragment" in b.tags]
    whole = [b for doc in DOCS for b in blocks(doc) if b.lang == "toml" and "fragment" not in b.tags]
    assert len(fragments) <= len(whole), [b.where for b in fragments]


def test_readme_starts_with_the_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first = blocks("README.md")[0]
    assert "make run" in first.text and "make test" in first.text
    assert text.index("make run") < text.index("##"), "the set-up commands come before the first section"


def test_profiles_doc_lists_the_library_and_the_vocabulary():
    from purity.agents import profiles, properties
    from purity.agents.preferences import MEASURES, SCOPES
    from purity.arenas import events

    text = (ROOT / "docs/profiles.md").read_text(encoding="utf-8")
    names = (
        set(profiles.library()) | set(MEASURES) | set(SCOPES) | set(events.kinds()) | set(properties.names())
    )
    missing = sorted(name for name in names if f"`{name}`" not in text)
    assert not missing, f"docs/profiles.md does not mention {missing}"


@pytest.mark.parametrize("arena", ["commons", "oversight", "repeated"])
def test_arenas_doc_lists_every_parameter(arena):
    from dataclasses import fields

    from purity.arenas import arena_class

    (block,) = [b for b in blocks("docs/arenas.md") if f'name = "{arena}-defaults"' in b.text]
    documented = tomllib.loads(block.text)["arena"]
    defaults = {f.name: f.default for f in fields(arena_class(arena).Params)}
    assert {k: documented.get(k) for k in defaults} == defaults, f"docs/arenas.md: {arena} defaults"


def test_cluster_doc_lists_the_declared_dependencies():
    """Cluster nodes need exactly the declared dependencies; the install line must say which."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    text = (ROOT / "docs/cluster.md").read_text(encoding="utf-8")
    for requirement in declared:
        assert f'"{requirement}"' in text, f"docs/cluster.md does not pin {requirement}"


# --------------------------------------------------------------------------------------------
# cluster: a real head (and worker node) on this machine, started and stopped by this test


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_node(
    command: str, where: str, cwd: Path, env: dict[str, str], temp_dir: Path, log: Path
) -> subprocess.Popen:
    """`ray start` kept in the foreground (--block), so it is ours to stop, by pid."""
    extra = " --num-cpus=1"
    if "--block" not in command:
        extra += " --block"
    if "--head" in command:
        extra += f" --include-dashboard=false --temp-dir={temp_dir}"
    handle = log.open("w")
    node = subprocess.Popen(
        ["bash", "-c", f"exec {command}{extra}"],
        cwd=cwd,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 90
    while "Ray runtime started" not in log.read_text():
        assert node.poll() is None, f"{where}: `{command}` exited:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"{where}: `{command}` did not start:\n{log.read_text()}"
        time.sleep(0.5)
    return node


def stop(node: subprocess.Popen) -> None:
    """SIGTERM our `ray start --block` (it takes its raylet and GCS down with it); if anything of
    its process group outlives that, kill the group: it holds only processes this test started."""
    if node.poll() is None:
        node.send_signal(signal.SIGTERM)
        try:
            node.wait(timeout=30)
        except subprocess.TimeoutExpired:
            node.kill()
            node.wait(timeout=10)
    try:
        os.killpg(node.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@pytest.mark.slow
def test_cluster_snippets(tmp_path):
    """The cluster page's commands, on a local head and a second node, with token authentication."""
    port, cwd = free_port(), work_dir(tmp_path)
    home = tmp_path / "home"  # the token lands in this ~/.ray, never in the user's
    home.mkdir()
    env = base_env(home) | {"HEAD": "127.0.0.1"}
    temp_dir = Path(tempfile.mkdtemp(prefix="prt", dir="/tmp"))  # short: Ray's socket paths
    nodes: list[subprocess.Popen] = []
    ran = 0
    try:
        for block in blocks("docs/cluster.md"):
            if "cluster" not in block.tags:
                continue
            for command in commands(block):
                text = command.text.replace("6379", str(port))
                if text.startswith("ray start"):
                    log = tmp_path / f"node-{len(nodes)}.log"
                    nodes.append(start_node(text, block.where, cwd, dict(env), temp_dir, log))
                else:
                    run_shell(Command(text, command.shown), block.where, cwd, env, timeout=900)
                ran += 1
        assert len(nodes) >= 2, "the cluster page starts a head and a worker node"
        cluster = [b for b in blocks("docs/cluster.md") if "cluster" in b.tags]
        assert any("purity run" in c.text and "--address" in c.text for b in cluster for c in commands(b))
        reports = list(cwd.glob("runs/*/report.md"))
        assert reports, "a run on the cluster wrote its report"
        assert (home / ".ray" / "auth_token").is_file()
    finally:
        for node in reversed(nodes):
            stop(node)
        shutil.rmtree(temp_dir, ignore_errors=True)
    assert ran


def test_shown_output_is_compared_whole_and_in_order(tmp_path):
    """The comparison itself: a left-out line needs `...`, order counts, durations and the work
    directory's path do not."""
    printed = f"run directory: {tmp_path}/runs/a\nreport: took 1.25 s\n\nlast\n"
    assert shows(("run directory: ./runs/a", "report: took 3 s", "last"), printed, tmp_path)
    assert shows(("run directory: ./runs/a", "..."), printed, tmp_path)
    assert shows(("...", "last"), printed, tmp_path)
    assert not shows(("run directory: ./runs/a",), printed, tmp_path)  # two lines left out
    assert not shows(("last", "...", "run directory: ./runs/a"), printed, tmp_path)
    assert not shows(("...", "report: took 3 s"), printed, tmp_path)  # `last` follows
    bar = "small seed 1 [####....] gen 1/2  23 agents/s  ETA 0:00:01\n"
    assert shows(("run directory: ./runs/a", "..."), bar + printed, tmp_path)


def builtin_registries() -> dict[str, set[str]]:
    """What an experiment file can choose from, read from the registries the code checks against
    (arenas a test registered from its own module are left out)."""
    from purity import arenas
    from purity.agents.deciders import DECIDERS
    from purity.agents.learners import REWARDS
    from purity.agents.reflection import RULES as EVALUATION_RULES
    from purity.tournament.config import NULL_KINDS
    from purity.tournament.matching import MATCHINGS
    from purity.tournament.mutation import DISTRIBUTIONS
    from purity.tournament.selection import FITNESS_RULES, RULES

    builtin = {n for n in arenas.names() if arenas.arena_class(n).__module__.startswith("purity.arenas.")}
    return {
        "arenas": builtin,
        "selection rules": set(RULES),
        "fitness rules": set(FITNESS_RULES),
        "matchings": set(MATCHINGS),
        "mutation distributions": set(DISTRIBUTIONS),
        "deciders": set(DECIDERS),
        "reward modes": set(REWARDS),
        "evaluation rules": set(EVALUATION_RULES),
        "nulls": set(NULL_KINDS),
    }


# (section, key) of the annotated experiment file whose comment lists the choices of a registry
CHOICE_KEYS = {
    ("arena", "name"): "arenas",
    ("selection", "kind"): "selection rules",
    ("selection", "rule"): "fitness rules",
    ("matching", "kind"): "matchings",
    ("mutation", "distribution"): "mutation distributions",
    ("population.mix", "decider"): "deciders",
}
NUMBERS = dict(enumerate("zero one two three four five six seven eight nine ten eleven twelve".split()))


def concepts_problems(text: str) -> list[str]:
    """Where docs/concepts.md disagrees with the registries: its table of what is built must name
    exactly each registry, counts in its prose ("five rules") must be the registries' sizes, and
    the annotated experiment file must list a key's choices whole or not at all."""
    found, problems = builtin_registries(), []
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if len(cells) == 2 and cells[0].split(" (")[0] in found:
            rows[cells[0].split(" (")[0]] = set(re.findall(r"`([\w-]+)`", cells[1]))
    for name, names in found.items():
        if name not in rows:
            problems.append(f"no table row names the {name}: {sorted(names)}")
        elif rows[name] != names:
            problems.append(f"{name}: the page names {sorted(rows[name])}, the code has {sorted(names)}")
    words = "|".join(sorted({w for n in found for w in (n, n.split()[-1])}, key=len, reverse=True))
    for count, what in re.findall(rf"\b({'|'.join(NUMBERS.values())}|\d+) (?:\w+ )?({words})\b", text, re.I):
        size = {len(v) for k, v in found.items() if k == what.lower() or k.endswith(" " + what.lower())}
        n = int(count) if count.isdigit() else list(NUMBERS.values()).index(count.lower())
        if size and n not in size:
            problems.append(f"the page says {count} {what}; the code has {sorted(size)}")
    for claim in re.findall(
        r"[^.]*\b(?:reserved for|later version|not yet|is the unobservable case)\b[^.]*\.", text, re.I
    ):
        problems.append(
            f"says something is not built outside the Not built list: {' '.join(claim.split())!r}"
        )
    section = ""
    for block in re.findall(r"^```toml\n(.*?)^```", text, re.S | re.M):
        for line in block.splitlines():
            if header := re.match(r"^\[+([\w.]+)\]+", line):
                section = header.group(1)
            key = line.split("=")[0].strip()
            if (section, key) in CHOICE_KEYS:
                quoted = set(re.findall(r'"([\w-]+)"', line))
                names = found[CHOICE_KEYS[section, key]]
                if len(quoted) > 1 and quoted != names:
                    problems.append(
                        f"[{section}] {key}: the file lists {sorted(quoted)}, the code has {sorted(names)}"
                    )
    return problems


def test_concepts_names_exactly_what_is_built():
    problems = concepts_problems((ROOT / "docs/concepts.md").read_text(encoding="utf-8"))
    assert not problems, "docs/concepts.md:\n" + "\n".join(problems)


def test_not_built_is_still_not_built():
    """docs/concepts.md says what is not built; each claim is checked here, so building it fails
    this test until the page (and this test) are updated."""
    import argparse

    import numpy as np

    from purity.agents.deciders import Capability, PlanGroup, plan
    from purity.agents.preferences import Term
    from purity.arenas.commons import CommonsArena
    from purity.tournament.arguments import parser

    text = (ROOT / "docs/concepts.md").read_text(encoding="utf-8")
    assert "- a `--plugin` option on the command line" in text
    assert "- planners that see each other's profiles" in text

    top = parser()
    (commands,) = [a for a in top._actions if isinstance(a, argparse._SubParsersAction)]
    options = {o for p in (top, *commands.choices.values()) for a in p._actions for o in a.option_strings}
    assert not any("plugin" in o for o in options), sorted(o for o in options if "plugin" in o)

    # A planner's choice is the same whatever the others' weights: it models them by behaviour.
    terms = (Term("outcome", "own_wealth"), Term("constraint", "take", scope="self"))
    arena = CommonsArena(4, 20)
    policies = np.tile([0.5, 0.0, 0.5, 0.0, 0.0], (4, 1))
    chosen = []
    for others in ([1.0, 0.0], [1.0, 100.0], [0.0, 3.0]):
        weights = np.array([[1.0, 0.0]] + [others] * 3)
        group = PlanGroup(weights, policies, ((0, Capability(candidates=16, rollouts=2)),), np.eye(4))
        chosen.append(plan(arena, terms, [group], [np.random.default_rng(5)])[0])
    assert all(np.array_equal(chosen[0], c) for c in chosen[1:])
    assert not np.array_equal(chosen[0][0], policies[0]), "the planner moved: the comparison can fail"


def test_readme_commands_table_lists_every_option():
    """Each subcommand's row in README's table of commands names each of its options."""
    import argparse

    from purity.tournament.arguments import parser

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    (commands,) = [a for a in parser()._actions if isinstance(a, argparse._SubParsersAction)]
    for name, sub in commands.choices.items():
        rows = [line for line in text.splitlines() if line.startswith(f"| `purity {name}")]
        assert rows, f"README.md: no row for `purity {name}`"
        options = {o for a in sub._actions for o in a.option_strings if o.startswith("--")}
        missing = sorted(
            o for o in options - {"--help", "--verbose", "--quiet"} if not any(o in r for r in rows)
        )
        assert not missing, f"README.md: `purity {name}` row does not name {missing}"


def slug(heading: str) -> str:
    """The anchor a Markdown heading gets on GitHub: lower case, punctuation dropped, spaces to -."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_docs_the_code_cites_exist():
    """Every `docs/...` page (and `#anchor`) named in the code, tests, benchmarks and docs exists."""
    cited = re.compile(r"docs/[\w./-]+\.(?:md|ipynb)(?:#[\w-]+)?")
    sources = [p for d in ("purity", "tests", "bench", "scripts") for p in (ROOT / d).rglob("*.py")]
    sources += [ROOT / "Makefile", ROOT / "README.md", *(ROOT / "docs").glob("*.md")]
    found = {
        (ref, path.relative_to(ROOT)) for path in sources for ref in cited.findall(path.read_text("utf-8"))
    }
    assert len(found) > 20, "the pattern finds the citations"
    for ref, where in sorted(found):
        page, _, anchor = ref.partition("#")
        assert (ROOT / page).is_file(), f"{where} cites {ref}, which does not exist"
        if anchor:
            headings = re.findall(r"^#+ (.+)$", (ROOT / page).read_text("utf-8"), re.M)
            assert anchor in {slug(h) for h in headings}, f"{where} cites {ref}: no such heading"


def test_no_code_cites_a_design_document_the_repository_lacks():
    """Docstrings once cited "DESIGN §N", a document outside the repository; they cite docs/ pages."""
    pattern = re.compile(r"design\s*§", re.I)
    sources = [p for d in ("purity", "tests", "bench", "scripts") for p in (ROOT / d).rglob("*.py")]
    assert len(sources) > 50, "the sources are found"
    cited = [
        str(p.relative_to(ROOT))
        for p in sources
        if p.name != "test_docs.py" and pattern.search(p.read_text("utf-8"))
    ]
    assert not cited, f"these cite a design document outside the repository: {cited}"


def findings_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("findings", ROOT / "scripts" / "findings.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_findings_are_current():
    """docs/findings.md has one section per shipped experiment, each written from the experiment
    file, the files it names, the library profiles they name and the purity version as they are now."""
    findings = findings_script()
    recorded = findings.recorded()
    stale, not_run = [], []
    for path in findings.shipped():
        relative = path.relative_to(ROOT).as_posix()
        if recorded.get(relative) == findings.NOT_RUN:
            not_run.append(relative)
        elif recorded.get(relative) != findings.stamp(path):
            stale.append(relative)
    assert not stale, f"docs/findings.md is older than {stale}: run `make findings`"
    assert set(recorded) == {p.relative_to(ROOT).as_posix() for p in findings.shipped()}
    # what has not been run is said at the top of the page, not only in its own section
    text = findings.PAGE.read_text(encoding="utf-8")
    head = text.split("\n## ", 1)[0]
    assert set(re.findall(r"`(experiments/[^`]+)`", head)) == set(not_run), head


def test_findings_stamp_follows_its_inputs(tmp_path, monkeypatch):
    """The stamp changes with the experiment file, a file it names, a library profile it names and
    the version; not with a library profile it does not name."""
    findings = findings_script()
    monkeypatch.setattr(findings, "ROOT", tmp_path)
    monkeypatch.setattr(findings, "LIBRARY", tmp_path / "profiles")
    (tmp_path / "profiles").mkdir()
    base, sweep = tmp_path / "base.toml", tmp_path / "sweep.toml"
    base.write_text("[experiment]\nname = 'b'\n")
    sweep.write_text('[sweep]\nexperiment = "base.toml"\n')
    first = findings.stamp(sweep)
    assert findings.named_files(sweep) == [base, sweep]
    base.write_text("[experiment]\nname = 'c'\n")
    second = findings.stamp(sweep)
    (tmp_path / "profiles" / "unused.toml").write_text("name = 'unused'\n")  # named by no file
    assert findings.stamp(sweep) == second
    base.write_text("[experiment]\nname = 'c'\n[[population.mix]]\nprofile = \"keeper\"\n")
    third = findings.stamp(sweep)
    (tmp_path / "profiles" / "keeper.toml").write_text("name = 'keeper'\n")  # now a library profile it uses
    fourth = findings.stamp(sweep)
    monkeypatch.setattr("purity.__version__", "0.0.0-other")
    assert len({first, second, third, fourth, findings.stamp(sweep)}) == 5


TIMING = re.compile(r"\b\d+(?:\.\d+)?\s?(?:ms|s|min|minutes|seconds|h|hours)\b")


def test_timings_in_docs_point_to_benchmarks():
    """A duration in the prose of README.md or docs/ stands in a paragraph that cites BENCHMARKS.md,
    which records each figure with its command, date and machine state."""
    for page in ["README.md", *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md"))]:
        text = re.sub(r"^```.*?^```", "", (ROOT / page).read_text(encoding="utf-8"), flags=re.S | re.M)
        for paragraph in text.split("\n\n"):
            if TIMING.search(paragraph) and "BENCHMARKS.md" not in paragraph:
                raise AssertionError(f"{page}: a timing without BENCHMARKS.md: {TIMING.findall(paragraph)}")


def test_readme_links_every_docs_page():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    pages = sorted(p.name for p in (ROOT / "docs").iterdir() if p.suffix in (".md", ".ipynb"))
    missing = [page for page in pages if f"](docs/{page})" not in text]
    assert not missing, f"README.md does not link {missing}"


def test_architecture_page_states_the_limits_the_test_holds():
    source = (ROOT / "tests" / "test_architecture.py").read_text(encoding="utf-8")
    modules = re.search(r"^MAX_MODULE_LINES = (\d+)", source, re.M).group(1)
    functions = re.search(r"^MAX_FUNCTION_LINES = (\d+)", source, re.M).group(1)
    sized = re.findall(r'"purity\.(\w+)"', re.search(r"^SIZED = \((.*)\)", source, re.M).group(1))
    text = " ".join((ROOT / "docs" / "architecture.md").read_text(encoding="utf-8").split())
    assert f"no module over {modules} lines and no function over {functions} in" in text
    stated = text.split(f"no function over {functions} in", 1)[1].split(".", 1)[0]
    assert set(re.findall(r"`(\w+)`", stated)) == set(sized), stated
