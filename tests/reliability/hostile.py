"""The hostile-input corpus: one table of cases, each a command line (built in a scratch folder)
that must end with exit code 2 and one message naming the file or option and what was expected.

A case is `(id, build, expect)`: `build(scratch)` writes what the case needs and returns the
arguments of `purity`; `expect` is text the message must contain (a field or option name).
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import textwrap
import threading
import tomllib
from pathlib import Path
from typing import Callable

from purity.tournament.storage import toml_text

BASE = textwrap.dedent(
    """
    [experiment]
    name = "base"
    seed = 3
    generations = 3
    population = 8

    [arena]
    name = "commons"
    episodes = 1
    group_size = 4
    steps = 6

    [[population.mix]]
    profile = "consequentialist"
    share = 0.5
    capability = { candidates = 2, rollouts = 1 }

    [[population.mix]]
    profile = "lineage-keeper"
    share = 0.5
    capability = { candidates = 2, rollouts = 1 }
    """
)
PROFILE = textwrap.dedent(
    """
    [profile]
    name = "mine"
    description = "a user profile"

    [[outcome]]
    measure = "own_wealth"
    weight = 1.0

    [[constraint]]
    event = "take"
    scope = "self"
    weight = 2.0
    """
)
Case = tuple[str, Callable[[Path], list[str]], str]


def _set(data: dict, dotted: str, value) -> dict:
    node = data
    parts = dotted.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    if value is _DELETE:
        node.pop(parts[-1], None)
    else:
        node[parts[-1]] = value
    return data


_DELETE = object()


def experiment(scratch: Path, *changes: tuple[str, object], name: str = "exp.toml") -> Path:
    data = tomllib.loads(BASE)
    for key, value in changes:
        _set(data, key, value)
    path = scratch / name
    path.write_text(toml_text(data))
    return path


def _validate_experiment(*changes) -> Callable[[Path], list[str]]:
    return lambda scratch: ["validate", str(experiment(scratch, *changes))]


# wrong values by the type a key holds
WHOLE = [-1, 0, 2**63, 10**15, "7", 1.5, True, [1], {"a": 1}, "inf"]
NUMBER = [-1.0, -1e308, 1e308, "nan", "x", True, [0.5], {"a": 1}, "-inf"]
STRING = [1, "", " ", True, [], {"a": 1}, "nope"]
FLAG = ["yes", 1, 0.0, [], "true"]

KEYS: list[tuple[str, list, str]] = [
    ("experiment.seed", [-1, 2**63, "7", 1.5, True, [1]], "experiment.seed"),
    ("experiment.generations", [0, -1, 10**7, "3", 1.5, True, {"a": 1}], "experiment.generations"),
    ("experiment.population", [0, 1, 6, 10**8, "8", 8.0, True], "experiment.population"),
    ("experiment.survival_threshold", [-1.0, "nan", "x", True, [0.5]], "experiment.survival_threshold"),
    ("experiment.lock_in", [2.0, -0.1, "x", True], "experiment.lock_in"),
    ("experiment.seeds", [0, -3, 10**6, "2", 1.5], "experiment.seeds"),
    ("experiment.stop_at_fixation", FLAG, "experiment.stop_at_fixation"),
    ("experiment.name", [1, "", "../up", "a/b", ".hidden", "x" * 300, "名/.."], "experiment.name"),
    ("experiment.description", [1, [], {"a": 1}], "experiment.description"),
    ("experiment.extra", [1, "x"], "experiment.extra"),
    ("arena.name", STRING, "arena.name"),
    ("arena.episodes", [0, -1, 10**12, "4", 1.5, True], "arena.episodes"),
    ("arena.group_size", [0, 1, 3, 10**6, "4", 2.5], "arena"),
    ("arena.steps", [0, -5, 10**9, "6", 6.5], "arena.steps"),
    ("arena.unknown_parameter", [1.0], "arena"),
    ("selection.kind", STRING, "selection.kind"),
    ("selection.intensity", [-1.0, 1e308, 1e6, "nan", "x", True], "selection.intensity"),
    ("selection.rule", [1, "", "quadratic"], "selection.rule"),
    ("selection.bogus", [1], "selection.bogus"),
    ("mutation.rate", [-1.0, 2.0, "x", True], "mutation.rate"),
    ("mutation.distribution", [1, "cauchy-ish", ""], "mutation"),
    ("matching.kind", [1, "", "ring"], "matching.kind"),
    ("matching.play", [1, "everyone", "all_pairs"], "matching.play"),
    ("reflection.enabled", FLAG, "reflection.enabled"),
    ("reflection.rule", [1, "cynical"], "reflection.rule"),
    ("reflection.every", [0, 10**9, "1"], "reflection.every"),
    ("reflection.cost", [-1.0, 1e300, "x"], "reflection.cost"),
    ("reflection.weaken", [-0.5, 1.5], "reflection.weaken"),
    ("reflection.successors", [1, "clone"], "reflection.successors"),
    ("training.reward", [1, "money"], "training.reward"),
    ("training.penalty", [-1.0, 1e300, "x"], "training.penalty"),
    ("training.exploration", [0.9, -0.1], "training.exploration"),
    ("training.violations", ["take", ["nonsense"], ["take", "take"], [1]], "training.violations"),
    ("control.neutral_drift", FLAG, "control.neutral_drift"),
    ("population.mix.0.share", [-0.5, 1.5, "x", True, "nan"], "population.mix"),
    ("population.mix.0.decider", [1, "oracle", ""], "population.mix[0].decider"),
    ("population.mix.0.profile", [1, "", "no-such-profile", "../../etc/passwd", "/dev/zero"], "profile"),
    ("population.mix.0.capability.candidates", [0, -1, 10**6, "2", 2.5], "candidates"),
    ("population.mix.0.capability.rollouts", [0, 10**6, "1"], "rollouts"),
    ("population.mix.0.capability.horizon", [-1, "x"], "horizon"),
    ("population.mix.0.power", [-1.0, 1e9, "x", True, "nan"], "population.mix[0].power"),
    ("arena.sanction_event", ["take"], "arena"),  # the commons has no sanctions: an unknown key
    ("arena.detection", [0.5], "arena"),
    ("population.mix.0.policy", [1, "greedy", [0.5]], "population.mix[0].policy"),
    ("population.mix.0.policy.harvest", [2.0, -1.0, "x"], "population.mix[0].policy.harvest"),
    ("population.mix.0.policy.unknown", [0.5], "population.mix[0].policy.unknown"),
]

# focal entries (`decider = "focal"`): a policy from outside, by callable or by train run
FOCAL = (("population.mix.0.decider", "focal"), ("population.mix.0.capability", _DELETE))
PETTINGZOO = (
    ("arena.name", "pettingzoo"),
    ("arena.env", "pettingzoo.classic.rps_v2:parallel_env"),
    ("arena.group_size", 2),
)
FOCAL_CASES: list[Case] = (
    [
        (
            f"focal policy_fn={value!r}"[:80],
            _validate_experiment(*FOCAL, ("population.mix.0.policy_fn", value)),
            field,
        )
        for value, field in [
            (1, "population.mix[0].policy_fn"),
            ("", "population.mix[0].policy_fn"),
            ("act", "population.mix[0].policy_fn"),
            (":act", "population.mix[0].policy_fn"),
            ("nowhere_at_all:act", "population.mix[0].policy_fn"),
            ("../../etc/passwd:x", "population.mix[0].policy_fn"),
            ("os:getcwd", "population.mix[0].policy_fn"),  # the commons arena plays no such policy
        ]
    ]
    + [
        (
            f"pettingzoo focal policy_fn={value!r}",
            _validate_experiment(*PETTINGZOO, *FOCAL, ("population.mix.0.policy_fn", value)),
            "population.mix[0].policy_fn",
        )
        for value in ("builtins:len", "numpy:zeros", "os:getcwd", "numpy:pi", "builtins:list", "math:inf")
    ]
    + [
        (
            f"focal trained={value!r}"[:80],
            _validate_experiment(*FOCAL, ("population.mix.0.trained", value)),
            field,
        )
        for value, field in [
            (1, "population.mix[0].trained"),
            ("", "population.mix[0].trained"),
            ("/dev/zero", "population.mix[0].trained"),
            ("/etc", "population.mix[0].trained"),
            ("../../nowhere", "population.mix[0].trained"),
        ]
    ]
    + [
        ("focal with neither source", _validate_experiment(*FOCAL), "population.mix[0].policy_fn"),
        (
            "focal with both sources",
            _validate_experiment(
                *FOCAL, ("population.mix.0.policy_fn", "os:getcwd"), ("population.mix.0.trained", "x")
            ),
            "population.mix[0].policy_fn",
        ),
        (
            "focal agent with a policy_fn",
            _validate_experiment(*PETTINGZOO, *FOCAL, ("population.mix.0.agent", 1)),
            "population.mix[0]",
        ),
        (
            "policy_fn on a planner",
            _validate_experiment(("population.mix.0.policy_fn", "os:getcwd")),
            "policy_fn",
        ),
        (
            "trained on a fixed entry",
            _validate_experiment(("population.mix.0.decider", "fixed"), ("population.mix.0.trained", "x")),
            "trained",
        ),
    ]
)

KEY_CASES: list[Case] = [
    (f"{key}={value!r}"[:80], _validate_experiment((key, value)), expect)
    for key, values, expect in KEYS
    for value in values
]

STRUCTURE_CASES: list[Case] = [
    ("no experiment table", _validate_experiment(("experiment", _DELETE)), "profile"),
    ("no arena", _validate_experiment(("arena", _DELETE)), "arena"),
    ("no population", _validate_experiment(("population", _DELETE)), "population"),
    ("empty mix", _validate_experiment(("population.mix", [])), "population.mix"),
    ("mix not tables", _validate_experiment(("population.mix", [1, 2])), "population.mix"),
    ("shares sum 0.7", _validate_experiment(("population.mix.0.share", 0.2)), "population.mix.share"),
    ("arena a string", _validate_experiment(("arena", "commons")), "arena"),
    ("experiment a list", _validate_experiment(("experiment", [1])), "experiment"),
    ("top-level junk", _validate_experiment(("junk", 1)), "junk"),
    (
        "graph path_graph n=1e9",
        _validate_experiment(
            ("matching.kind", "graph"), ("matching.generator", "path_graph"), ("matching.args", {"n": 10**9})
        ),
        "matching.args",
    ),
    (
        "graph degree too low",
        _validate_experiment(
            ("matching.kind", "graph"), ("matching.generator", "cycle_graph"), ("matching.args", {"n": 8})
        ),
        "matching.generator",
    ),
    (
        "graph wrong size",
        _validate_experiment(
            ("matching.kind", "graph"), ("matching.generator", "complete_graph"), ("matching.args", {"n": 9})
        ),
        "matching",
    ),
    (
        "graph unknown generator",
        _validate_experiment(("matching.kind", "graph"), ("matching.generator", "draw_graph")),
        "matching.generator",
    ),
    (
        "graph generator and file",
        _validate_experiment(
            ("matching.kind", "graph"), ("matching.generator", "cycle_graph"), ("matching.file", "g.edgelist")
        ),
        "matching.generator",
    ),
    (
        "graph file /dev/zero",
        _validate_experiment(("matching.kind", "graph"), ("matching.file", "/dev/zero")),
        "/dev/zero",
    ),
    (
        "graph file missing",
        _validate_experiment(("matching.kind", "graph"), ("matching.file", "missing.edgelist")),
        "missing.edgelist",
    ),
    (
        "graph grid 1e5 x 1e5",
        _validate_experiment(
            ("matching.kind", "graph"),
            ("matching.generator", "grid_2d_graph"),
            ("matching.args", {"m": 10**5, "n": 10**5}),
        ),
        "matching.args",
    ),
    (
        "graph list argument of 1e3",
        _validate_experiment(
            ("matching.kind", "graph"),
            ("matching.generator", "grid_graph"),
            ("matching.args", {"dim": [2] * 1000}),
        ),
        "matching.args",
    ),
    (
        "all_pairs with group of 4",
        _validate_experiment(("matching.play", "all_pairs")),
        "matching.play",
    ),
    (
        "reflection on with nothing to do",
        _validate_experiment(("reflection.enabled", True)),
        "reflection",
    ),
    (
        "population 10,000,000 does not fit",
        _validate_experiment(("experiment.population", 10_000_000)),
        "memory",
    ),
    (
        "candidates = rollouts = 100000",
        _validate_experiment(
            ("population.mix.0.capability.candidates", 100_000),
            ("population.mix.0.capability.rollouts", 100_000),
        ),
        "memory",
    ),
    (
        "group_size 400 plans cubically",
        _validate_experiment(
            ("arena.group_size", 400),
            ("experiment.population", 400),
            ("population.mix.0.capability.candidates", 64),
            ("population.mix.0.capability.rollouts", 64),
        ),
        "memory",
    ),
]


def _profile(scratch: Path, text: str, name: str = "mine.toml") -> Path:
    path = scratch / name
    path.write_text(text)
    return path


def _with_profile(text: str, *changes) -> Callable[[Path], list[str]]:
    def build(scratch: Path) -> list[str]:
        _profile(scratch, text)
        return ["validate", str(experiment(scratch, ("population.mix.1.profile", "mine.toml"), *changes))]

    return build


PROFILE_EDITS = [
    ("profile name empty", ('name = "mine"', 'name = ""'), "profile.name"),
    ("profile name a number", ('name = "mine"', "name = 3"), "profile.name"),
    ("profile no name", ('name = "mine"\n', ""), "profile.name"),
    ("profile unknown key", ("[profile]\n", "[profile]\ncolour = 1\n"), "profile.colour"),
    ("profile no terms", ("[[outcome]]", "[[nothing]]"), "nothing"),
    ("measure unknown", ('"own_wealth"', '"happiness"'), "outcome[0].measure"),
    ("event unknown", ('"take"', '"steal"'), "constraint[0].event"),
    ("scope unknown", ('"self"', '"everyone"'), "constraint[0].scope"),
    ("weight negative", ("weight = 2.0", "weight = -2.0"), "constraint[0].weight"),
    ("weight nan", ("weight = 2.0", "weight = nan"), "constraint[0].weight"),
    ("weight -inf", ("weight = 2.0", "weight = -inf"), "constraint[0].weight"),
    ("weight string", ("weight = 2.0", 'weight = "heavy"'), "constraint[0].weight"),
    ("outcome inf", ("weight = 1.0", "weight = inf"), "outcome[0].weight"),
    ("endorsed string", ("weight = 2.0", 'weight = 2.0\nendorsed = "yes"'), "constraint[0].endorsed"),
    ("framing unknown", ("weight = 2.0", 'weight = 2.0\nframing = "bonus"'), "constraint[0].framing"),
    (
        "framing reward on a hard term",
        ("weight = 2.0", 'weight = inf\nframing = "reward"'),
        "constraint[0].framing",
    ),
    (
        "constraint twice",
        ("weight = 2.0", 'weight = 2.0\n[[constraint]]\nevent = "take"\nscope = "self"\nweight = 1.0'),
        "constraint",
    ),
    ("profile a list", ("[profile]", "profile = [1]\n[x]"), "profile"),
    (
        "standing without threshold",
        ("[[outcome]]", '[[standing]]\nproperty = "commons_above"\nweight = 1.0\n[[outcome]]'),
        "standing[0].threshold",
    ),
    (
        "standing unknown property",
        ("[[outcome]]", '[[standing]]\nproperty = "sky_blue"\nthreshold = 0.2\nweight = 1.0\n[[outcome]]'),
        "standing[0].property",
    ),
    ("a term table that is a string", ("[[outcome]]", 'constraint = "take"\n[[outcome]]'), "constraint"),
]


def _edited(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


PROFILE_CASES: list[Case] = [
    (f"profile: {label}", lambda s, e=edit: ["validate", str(_profile(s, _edited(PROFILE, *e)))], expect)
    for label, edit, expect in PROFILE_EDITS
] + [
    (f"profile in mix: {label}", _with_profile(_edited(PROFILE, *edit)), "mine.toml")
    for label, edit, expect in PROFILE_EDITS
    if label not in ("profile a list",)
]

NAME_CASES: list[Case] = [
    (
        "two profiles named alike",
        lambda s: [
            "validate",
            str(
                experiment(
                    s,
                    ("population.mix.0.profile", str(_profile(s, PROFILE, "a.toml"))),
                    ("population.mix.1.profile", str(_profile(s, PROFILE.replace("2.0", "5.0"), "b.toml"))),
                )
            ),
        ],
        "named 'mine'",
    ),
    (
        "user profile named like a library profile",
        lambda s: [
            "validate",
            str(
                experiment(
                    s,
                    ("population.mix.1.profile", str(_profile(s, PROFILE.replace('"mine"', '"steward"')))),
                )
            ),
        ],
        "library",
    ),
    (
        "user profile named like the other library profile in the mix",
        lambda s: [
            "validate",
            str(
                experiment(
                    s,
                    (
                        "population.mix.1.profile",
                        str(_profile(s, PROFILE.replace('"mine"', '"consequentialist"'))),
                    ),
                )
            ),
        ],
        "consequentialist",
    ),
]


def _sweep(scratch: Path, text: str) -> Path:
    experiment(scratch)
    path = scratch / "sweep.toml"
    path.write_text(text)
    return path


SWEEP_HEAD = '[sweep]\nname = "s"\nexperiment = "exp.toml"\n'
SWEEP_TEXTS = [
    ("seeds 1e9", SWEEP_HEAD + "seeds = 1000000000\n", "sweep.seeds"),
    ("seeds 0", SWEEP_HEAD + "seeds = 0\n", "sweep.seeds"),
    ("seeds negative list", SWEEP_HEAD + "seeds = [-1, 2]\n", "sweep.seeds"),
    (
        "seeds 2**63",
        SWEEP_HEAD + "seeds = [9223372036854775807, 1]\n[grid]\n'experiment.seeds' = [2]\n",
        "seed",
    ),
    ("seeds empty list", SWEEP_HEAD + "seeds = []\n", "sweep.seeds"),
    ("seeds a string", SWEEP_HEAD + 'seeds = "3"\n', "sweep.seeds"),
    ("seeds true", SWEEP_HEAD + "seeds = true\n", "sweep.seeds"),
    (
        "grid 1e5 runs",
        SWEEP_HEAD + "seeds = 100\n[grid]\n'selection.intensity' = " + str([0.1] * 1000) + "\n",
        "grid",
    ),
    (
        "grid value not a list",
        SWEEP_HEAD + "[grid]\n'selection.intensity' = 0.1\n",
        "grid.selection.intensity",
    ),
    ("grid empty list", SWEEP_HEAD + "[grid]\n'selection.intensity' = []\n", "grid.selection.intensity"),
    ("grid unknown key", SWEEP_HEAD + "[grid]\n'selection.speed' = [1]\n", "selection.speed"),
    ("grid bad value", SWEEP_HEAD + "[grid]\n'experiment.population' = [7]\n", "experiment.population"),
    (
        "grid index out of range",
        SWEEP_HEAD + "[grid]\n'population.mix.9.share' = [1.0]\n",
        "grid.population.mix.9.share",
    ),
    ("grid into a value", SWEEP_HEAD + "[grid]\n'experiment.name.x' = [1]\n", "grid.experiment.name.x"),
    ("no experiment", '[sweep]\nname = "s"\n', "sweep.experiment"),
    ("experiment missing", '[sweep]\nname = "s"\nexperiment = "none.toml"\n', "sweep.experiment"),
    ("experiment a folder", '[sweep]\nname = "s"\nexperiment = "."\n', "sweep.experiment"),
    ("name too long", '[sweep]\nname = "' + "s" * 300 + '"\nexperiment = "exp.toml"\n', "sweep.name"),
    ("name escapes", '[sweep]\nname = "../s"\nexperiment = "exp.toml"\n', "sweep.name"),
    ("max_concurrent 0", SWEEP_HEAD + "max_concurrent = 0\n", "sweep.max_concurrent"),
    ("split_above 1", SWEEP_HEAD + "split_above = 1\n", "sweep.split_above"),
    ("unknown sweep key", SWEEP_HEAD + "speed = 1\n", "sweep.speed"),
    ("sweep a list", "sweep = [1]\n", "sweep"),
]
SWEEP_CASES: list[Case] = [
    (f"sweep: {label}", lambda s, t=text: ["validate", str(_sweep(s, t))], expect)
    for label, text, expect in SWEEP_TEXTS
] + [
    (
        f"sweep run: {label}",
        lambda s, t=text: ["sweep", str(_sweep(s, t)), "--out", str(s / "out"), "--workers", "0", "--quiet"],
        expect,
    )
    for label, text, expect in SWEEP_TEXTS[:8]
]


def _fifo(scratch: Path) -> Path:
    path = scratch / "fifo.toml"
    os.mkfifo(path)
    return path


def _big(scratch: Path) -> Path:
    path = scratch / "big.toml"
    with path.open("w") as handle:
        handle.write("# " + "x" * (5 * 2**20) + "\n")
    return path


def _deep(depth: int, kind: str) -> Callable[[Path], Path]:
    def build(scratch: Path) -> Path:
        path = scratch / f"deep{depth}{kind}.toml"
        if kind == "array":
            path.write_text("x = " + "[" * depth + "]" * depth + "\n")
        else:
            path.write_text("x = " + "{a = " * depth + "1" + "}" * depth + "\n")
        return path

    return build


def _bytes(data: bytes, name: str = "bytes.toml") -> Callable[[Path], Path]:
    def build(scratch: Path) -> Path:
        path = scratch / name
        path.write_bytes(data)
        return path

    return build


def _link_to(target: str) -> Callable[[Path], Path]:
    def build(scratch: Path) -> Path:
        path = scratch / "link.toml"
        path.symlink_to(target)
        return path

    return build


FILES: list[tuple[str, Callable[[Path], Path], str]] = [
    ("/dev/zero", lambda s: Path("/dev/zero"), "regular file"),
    ("/dev/urandom", lambda s: Path("/dev/urandom"), "regular file"),
    ("/dev/null", lambda s: Path("/dev/null"), "regular file"),
    ("a FIFO", _fifo, "regular file"),
    ("a link to /dev/zero", _link_to("/dev/zero"), "regular file"),
    ("a folder", lambda s: s, "directory"),
    ("a missing file", lambda s: s / "missing.toml", "existing file"),
    ("a 5 MiB file", _big, "at most"),
    ("arrays 500 deep", _deep(500, "array"), "nested"),
    ("tables 500 deep", _deep(500, "table"), "nested"),
    ("arrays 40 deep", _deep(40, "array"), "nested"),
    ("binary garbage", _bytes(bytes(range(256))), "valid TOML"),
    ("latin-1 text", _bytes("name = 'café'".encode("latin-1")), "valid TOML"),
    ("an empty file", _bytes(b""), "a profile"),
    ("a lone key", _bytes(b"x = 1\n"), "a profile"),
]
COMMANDS = [
    ("validate", lambda p, s: ["validate", str(p)]),
    ("run", lambda p, s: ["run", str(p), "--out", str(s / "runs"), "--workers", "0", "--quiet"]),
    ("train", lambda p, s: ["train", str(p), "--out", str(s / "runs"), "--workers", "0", "--quiet"]),
    ("power", lambda p, s: ["power", str(p)]),
    ("invade", lambda p, s: ["invade", str(p), "--resident", "a", "--mutant", "b", "--workers", "0"]),
    ("sweep", lambda p, s: ["sweep", str(p), "--out", str(s / "sweeps"), "--workers", "0", "--quiet"]),
]
FILE_CASES: list[Case] = [
    (f"{command} {label}", lambda s, b=build, c=argv: c(b(s), s), expect)
    for label, build, expect in FILES
    for command, argv in COMMANDS
    if not (command != "validate" and expect == "a profile")
]


def _options(command: str, *extra: str) -> Callable[[Path], list[str]]:
    def build(scratch: Path) -> list[str]:
        path = str(experiment(scratch))
        if command in ("run", "train"):
            return [command, path, "--out", str(scratch / "runs"), "--workers", "0", "--quiet", *extra]
        if command == "invade":
            return ["invade", path, "--resident", "consequentialist", "--mutant", "lineage-keeper", *extra]
        return [command, path, *extra]

    return build


def _out_file(scratch: Path) -> str:
    (scratch / "afile").write_text("x")
    return str(scratch / "afile")


def _out(target: Callable[[Path], str]) -> Callable[[Path], list[str]]:
    return lambda s: ["run", str(experiment(s)), "--out", target(s), "--workers", "0", "--quiet"]


NOBODY = "127.0.0.1:1"  # a port nothing listens on: a connection is refused at once
_KEEP: list = []  # listeners of the cases below, alive until this process ends


def _silent() -> str:
    """A port that accepts connections (the kernel's backlog) and never says a word."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=8)
    _KEEP.append(listener)
    return f"127.0.0.1:{listener.getsockname()[1]}"


class _Quiet(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # the case's stderr is purity's alone
        pass


def _web() -> str:
    """A port where a web server answers: something listens, and it is not Ray."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _KEEP.append(server)
    return f"127.0.0.1:{server.server_address[1]}"


def _at_address(command: str, where: Callable[[], str] = lambda: NOBODY) -> Callable[[Path], list[str]]:
    """A run, sweep or invasion sent to a Ray cluster that is not there."""

    def build(scratch: Path) -> list[str]:
        if command == "invade":
            return [*_options("invade", "--repeats", "2")(scratch), "--address", where()]
        path = str(_sweep(scratch, SWEEP_HEAD) if command == "sweep" else experiment(scratch))
        return [command, path, "--out", str(scratch / "out"), "--address", where(), "--quiet"]

    return build


OPTION_CASES: list[Case] = [
    ("run --seed -1", _options("run", "--seed", "-1"), "--seed"),
    ("run --seed 2**63", _options("run", "--seed", str(2**63)), "--seed"),
    ("run --seed 2**64", _options("run", "--seed", str(2**64)), "--seed"),
    ("run --workers -2", _options("run", "--workers", "-2"), "--workers"),
    ("run --workers 1e6", _options("run", "--workers", "1000000"), "--workers"),
    ("run --workers 0 --address", _options("run", "--address", NOBODY), "--workers"),
    ("train --seed -1", _options("train", "--seed", "-1"), "--seed"),
    ("train without a learner", _options("train"), "learner"),
    ("run --out a file", _out(_out_file), "--out"),
    ("run --out /dev/null", _out(lambda s: "/dev/null"), "--out"),
    ("run --out below a file", _out(lambda s: _out_file(s) + "/runs"), "--out"),
    ("run --out /proc/1/x", _out(lambda s: "/proc/1/x"), "--out"),
    ("run --out /proc", _out(lambda s: "/proc"), "proc"),
    ("run without a file", lambda s: ["run", "--out", str(s)], "experiment"),
    ("run --resume with a file", lambda s: ["run", str(experiment(s)), "--resume", str(s)], "--resume"),
    ("run --resume missing", lambda s: ["run", "--resume", str(s / "none")], "--resume"),
    ("run --resume a file", lambda s: ["run", "--resume", str(experiment(s))], "--resume"),
    ("run --resume /dev/null", lambda s: ["run", "--resume", "/dev/null"], "--resume"),
    ("run --resume an empty folder", lambda s: ["run", "--resume", str(s)], "--resume"),
    ("invade --seed -1", _options("invade", "--seed", "-1"), "--seed"),
    ("invade --seed 2**64", _options("invade", "--seed", str(2**64)), "--seed"),
    ("invade --workers -2", _options("invade", "--workers", "-2"), "--workers"),
    ("invade --repeats 0", _options("invade", "--repeats", "0"), "--repeats"),
    ("invade --repeats 1e12", _options("invade", "--repeats", str(10**12)), "--repeats"),
    ("invade --episodes 1e12", _options("invade", "--episodes", str(10**12)), "--episodes"),
    ("invade --episodes 0", _options("invade", "--episodes", "0"), "--episodes"),
    ("invade --engine-repeats -1", _options("invade", "--engine-repeats", "-1"), "--engine-repeats"),
    ("invade --engine-repeats 1e9", _options("invade", "--engine-repeats", str(10**9)), "--engine-repeats"),
    (
        "invade unknown resident",
        lambda s: ["invade", str(experiment(s)), "--resident", "x", "--mutant", "y"],
        "--resident",
    ),
    ("power --effect 0", _options("power", "--effect", "0"), "--effect"),
    ("power --effect 2", _options("power", "--effect", "2"), "--effect"),
    ("power --alpha 1", _options("power", "--alpha", "1"), "--alpha"),
    ("power --power 0", _options("power", "--power", "0"), "--power"),
    ("power --replicates 10", _options("power", "--replicates", "10"), "--replicates"),
    ("power --replicates 1e12", _options("power", "--replicates", str(10**12)), "--replicates"),
    ("power --seed -1", _options("power", "--seed", "-1"), "--seed"),
    ("power on a sweep", lambda s: ["power", str(_sweep(s, SWEEP_HEAD))], "EXPERIMENT"),
    ("sweep no file", lambda s: ["sweep"], "sweep"),
    ("sweep file and --resume", lambda s: ["sweep", str(_sweep(s, SWEEP_HEAD)), "--resume", str(s)], "sweep"),
    ("sweep --resume --force", lambda s: ["sweep", "--resume", str(s), "--force"], "--force"),
    ("sweep --workers -1", lambda s: ["sweep", str(_sweep(s, SWEEP_HEAD)), "--workers", "-1"], "--workers"),
    (
        "sweep --max-concurrent 0",
        lambda s: ["sweep", str(_sweep(s, SWEEP_HEAD)), "--max-concurrent", "0"],
        "--max-concurrent",
    ),
    (
        "sweep --max-concurrent 1e12",
        lambda s: ["sweep", str(_sweep(s, SWEEP_HEAD)), "--max-concurrent", str(10**12)],
        "--max-concurrent",
    ),
    ("power --effect 101 times", _options("power", *["--effect", "0.1"] * 101), "--effect"),
    (
        "sweep --out a file",
        lambda s: ["sweep", str(_sweep(s, SWEEP_HEAD)), "--out", _out_file(s), "--workers", "0"],
        "--out",
    ),
    (
        "sweep --out /dev/null",
        lambda s: ["sweep", str(_sweep(s, SWEEP_HEAD)), "--out", "/dev/null", "--workers", "0"],
        "--out",
    ),
    ("sweep --resume missing", lambda s: ["sweep", "--resume", str(s / "none")], "--resume"),
    ("report missing", lambda s: ["report", str(s / "none")], "none"),
    ("report a file", lambda s: ["report", str(experiment(s))], "exp.toml"),
    ("report /dev/null", lambda s: ["report", "/dev/null"], "/dev/null"),
    ("report an empty folder", lambda s: ["report", str(s)], "manifest.json"),
    ("report json of an empty folder", lambda s: ["report", str(s), "--format", "json"], "manifest.json"),
    (
        "report --run-reports of an empty folder",
        lambda s: ["report", str(s), "--run-reports"],
        "manifest.json",
    ),
    ("run --address with nothing listening", _at_address("run"), "--address"),
    ("sweep --address with nothing listening", _at_address("sweep"), "--address"),
    ("invade --address with nothing listening", _at_address("invade"), "--address"),
    ("run --address where a web server answers", _at_address("run", _web), "not Ray"),
    ("sweep --address where a web server answers", _at_address("sweep", _web), "not Ray"),
    ("invade --address where a web server answers", _at_address("invade", _web), "not Ray"),
    ("run --address where a listener never answers", _at_address("run", _silent), "timed out"),
    ("train --address with --workers 0", _options("train", "--address", NOBODY), "--workers"),
    ("invade --format json --seed -1", _options("invade", "--format", "json", "--seed", "-1"), "--seed"),
    ("power --format json --alpha 0", _options("power", "--format", "json", "--alpha", "0"), "--alpha"),
    ("run --force --out /dev/null", lambda s: [*_out(lambda _: "/dev/null")(s), "--force"], "--out"),
    ("run --verbose --seed -1", _options("run", "--verbose", "--seed", "-1"), "--seed"),
    ("validate --quiet /dev/zero", lambda s: ["validate", "--quiet", "/dev/zero"], "regular file"),
    ("validate --verbose a folder", lambda s: ["validate", "--verbose", str(s)], "directory"),
    ("train --force --seed 2**64", _options("train", "--force", "--seed", str(2**64)), "--seed"),
    ("train --verbose --workers -2", _options("train", "--verbose", "--workers", "-2"), "--workers"),
    ("report --verbose missing", lambda s: ["report", "--verbose", str(s / "none")], "none"),
    ("report --quiet /dev/null", lambda s: ["report", "--quiet", "/dev/null"], "/dev/null"),
    ("invade --verbose --repeats 0", _options("invade", "--verbose", "--repeats", "0"), "--repeats"),
    ("invade --quiet --episodes 0", _options("invade", "--quiet", "--episodes", "0"), "--episodes"),
    ("power --verbose --effect 0", _options("power", "--verbose", "--effect", "0"), "--effect"),
    ("power --quiet --power 1", _options("power", "--quiet", "--power", "1"), "--power"),
    ("sweep --resume --verbose missing", lambda s: ["sweep", "--resume", str(s / "none"), "-v"], "--resume"),
    ("atlas --workers -1", lambda s: ["atlas", "--runs", str(s), "--workers", "-1"], "--workers"),
    ("atlas --out a file", lambda s: ["atlas", "--runs", str(s), "--out", _out_file(s)], "--out"),
    ("atlas --runs /dev/null", lambda s: ["atlas", "--runs", "/dev/null"], "--runs"),
    ("atlas --resume with no atlas", lambda s: ["atlas", "--runs", str(s), "--resume", "-q"], "--resume"),
    (
        "atlas --full --resume with no atlas",
        lambda s: ["atlas", "--runs", str(s), "--full", "--resume", "-v"],
        "atlas-full",
    ),
    (
        "atlas --address with --workers 0",
        lambda s: ["atlas", "--runs", str(s), "--address", NOBODY, "--workers", "0"],
        "--workers",
    ),
]


def _broken_sweep(content: str | bytes) -> Callable[[Path], list[str]]:
    def build(scratch: Path) -> list[str]:
        folder = scratch / "s"
        folder.mkdir()
        (folder / "sweep.json").write_bytes(content if isinstance(content, bytes) else content.encode())
        return ["sweep", "--resume", str(folder), "--workers", "0", "--quiet"]

    return build


SWEEP_JSON = [
    ("garbage", b"\x00\xff garbage"),
    ("[]", "[]"),
    ("{}", "{}"),
    ("null", "null"),
    ("runs a list", '{"name": "s", "base": "x", "runs": []}'),
    ("run a string", '{"name": "s", "base": "x", "runs": {"run-0001": "x"}}'),
    (
        "run without experiment",
        '{"name": "s", "base": "x", "runs": {"run-0001": {"settings": {}, "seed": 1, "status": "pending"}}}',
    ),
    (
        "experiment outside",
        '{"name": "s", "base": "x", "runs": {"run-0001": {"settings": {}, "seed": 1, "status": "pending", "experiment": "../../etc/passwd"}}}',
    ),
    (
        "run name escapes",
        '{"name": "s", "base": "x", "runs": {"../x": {"settings": {}, "seed": 1, "status": "pending", "experiment": "e.toml"}}}',
    ),
    (
        "experiment missing",
        '{"name": "s", "base": "x", "runs": {"run-0001": {"settings": {}, "seed": 1, "status": "pending", "experiment": "experiments/run-0001.toml"}}}',
    ),
    (
        "seed a string",
        '{"name": "s", "base": "x", "runs": {"run-0001": {"settings": {}, "seed": "1", "status": "pending", "experiment": "e.toml"}}}',
    ),
    ("nested 500 deep", "[" * 500 + "]" * 500),
    ("truncated", '{"name": "s", "runs": {'),
]
SWEEP_JSON_CASES: list[Case] = [
    (
        f"sweep --resume with sweep.json {label}",
        _broken_sweep(content),
        "run-0001.toml" if label == "experiment missing" else "sweep",
    )
    for label, content in SWEEP_JSON
]

ARGPARSE_CASES: list[Case] = [
    (f"argparse: {' '.join(argv)}", lambda s, a=argv: list(a), "")
    for argv in (
        [],
        ["nonsense"],
        ["run", "x.toml", "--seed", "1e12"],
        ["run", "x.toml", "--workers", "two"],
        ["invade", "x.toml", "--resident", "a"],
        ["invade", "x.toml", "--resident", "a", "--mutant", "b", "--episodes", "1e12"],
        ["invade", "x.toml", "--resident", "a", "--mutant", "b", "--repeats", "1e12"],
        ["power", "x.toml", "--effect", "big"],
        ["report", "x", "--format", "pdf"],
        ["validate"],
        ["run", "--bogus"],
        ["sweep", "x.toml", "--max-concurrent", "x"],
        ["profiles", "extra"],
        ["profiles", "--verbose", "extra"],
        ["profiles", "--quiet", "--seed", "1"],
        ["invade", "x.toml", "--resident", "a", "--mutant", "b", "--format", "xml"],
        ["power", "x.toml", "--format", "xml"],
        ["report", "x", "--run-reports", "yes"],
        ["schema"],
        ["schema", "toml"],
        ["schema", "--verbose", "experiment", "extra"],
        ["schema", "--quiet", "profiles"],  # "profile" is a valid kind: this one is not
    )
]


def all_static() -> list[Case]:
    """Every case that needs nothing but its scratch folder."""
    cases = (
        KEY_CASES
        + FOCAL_CASES
        + STRUCTURE_CASES
        + PROFILE_CASES
        + NAME_CASES
        + SWEEP_CASES
        + FILE_CASES
        + OPTION_CASES
        + SWEEP_JSON_CASES
        + ARGPARSE_CASES
    )
    ids = [case[0] for case in cases]
    assert len(set(ids)) == len(ids), sorted(i for i in ids if ids.count(i) > 1)
    return cases


def copy_run(source: Path, scratch: Path) -> Path:
    target = scratch / "run"
    shutil.copytree(source, target, symlinks=True)
    return target


def set_manifest(run_dir: Path, **changes) -> None:
    path = run_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest.update(changes)
    path.write_text(json.dumps(manifest))
