"""Every arena's batched core against a plain-Python PettingZoo env of the same rules (bench/plain,
held equal by tests/bench), timed fairly: the same random episode policies played the same way,
the episodes' noise drawn inside the timing on both sides, runs interleaved, medians of wall and
CPU time.

Engines per arena: the plain env (the baseline: one episode at a time, a Python policy per agent
and step); our `ParallelArenaEnv` wrapper of the core played the same way (a reference, not a
baseline); the core's `rollout` at B = 1, 64 and 4096; and for the commons, when numba is installed
(the `bench` extra), the same rules as one fused compiled loop (bench/fused_commons.py), the
single-thread limit.

    .venv/bin/python bench/arena_speed.py [--arena NAME ...] [--rounds 9] [--seconds 0.25] [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.plain import PLAIN  # noqa: E402
from bench.timing import Engine, Timing, interleave, load, machine  # noqa: E402
from purity.arenas.commons import CommonsArena  # noqa: E402
from purity.arenas.commons_sanctions import SanctionsCommonsArena, SanctionsParams  # noqa: E402
from purity.arenas.core import Arena  # noqa: E402
from purity.arenas.matrix import MatrixArena, MatrixParams  # noqa: E402
from purity.arenas.oversight import OversightArena  # noqa: E402
from purity.arenas.principal import PrincipalArena  # noqa: E402
from purity.arenas.principal_police import PoliceArena, PoliceParams  # noqa: E402
from purity.arenas.promises import PromisesArena  # noqa: E402
from purity.arenas.promises_sanctions import PromisesSanctionsArena, PromisesSanctionsParams  # noqa: E402
from purity.arenas.wrapper import ParallelArenaEnv  # noqa: E402

WORKLOADS = {  # the episodes of the earlier per-arena scripts
    "commons": lambda: CommonsArena(4, 50),
    "commons_sanctions": lambda: SanctionsCommonsArena(4, 50),
    "matrix": lambda: MatrixArena(2, 50),
    "matrix_continuous": lambda: MatrixArena(2, 50, MatrixParams(mode="continuous")),
    "principal": lambda: PrincipalArena(4, 20),
    "commons_sanctions_take": lambda: SanctionsCommonsArena(
        4, 50, SanctionsParams(sanction_event="take", detection=0.5)
    ),
    "principal_police": lambda: PoliceArena(4, 20),
    "principal_police_missable": lambda: PoliceArena(4, 20, PoliceParams(detection=0.5)),
    "promises": lambda: PromisesArena(4, 30),
    "promises_sanctions": lambda: PromisesSanctionsArena(4, 30, PromisesSanctionsParams(detection=0.5)),
    "oversight": lambda: OversightArena(4, 20),
}
BATCHES = (1, 64, 4096)
PLAIN_LABEL, WRAPPER_LABEL, FUSED_LABEL = "plain PettingZoo env", "our ParallelArenaEnv", "fused numba loop"


def episode_loop(env, act, policies: list, agents: list[str]):
    """One call plays one episode through a PettingZoo env, each agent's action from its
    episode policy by the plain `act` (the next of `policies` each episode)."""
    turn = iter(range(1 << 62))

    def call() -> None:
        policy = policies[next(turn) % len(policies)]
        obs, _ = env.reset()
        t = 0
        while env.agents:
            obs = env.step({a: act(policy[i], obs[a], t) for i, a in enumerate(agents)})[0]
            t += 1

    return call


def engines(arena: Arena, rng: np.random.Generator, batches=BATCHES) -> list[Engine]:
    n, steps, size = arena.n_agents, arena.steps, len(arena.policy_names)
    per_episode = n * steps
    plain = PLAIN[arena.name]
    policies = rng.random((64, n, size)).tolist()
    found = []
    for label, env in (
        (PLAIN_LABEL, plain.env(n, steps, arena.params)),
        (WRAPPER_LABEL, ParallelArenaEnv(arena)),
    ):
        env.reset(seed=int(rng.integers(1 << 31)))  # later resets continue its stream
        found.append(
            Engine(label, 1, per_episode, episode_loop(env, plain.act, policies, env.possible_agents))
        )
    for batch in batches:
        found.append(core_engine(arena, batch, np.random.default_rng(rng.integers(1 << 31))))
    if type(arena) is CommonsArena:
        fused = fused_engine(arena, batches[-1], np.random.default_rng(rng.integers(1 << 31)))
        found += [fused] if fused is not None else []
    return found


def core_engine(arena: Arena, batch: int, rng: np.random.Generator) -> Engine:
    policy = rng.random((batch, arena.n_agents, len(arena.policy_names)))
    label = f"{type(arena).__name__}.rollout"
    return Engine(
        label,
        batch,
        batch * arena.n_agents * arena.steps,
        lambda: arena.rollout(policy, arena.noise(rng, batch)),
    )


def fused_engine(arena: CommonsArena, batch: int, rng: np.random.Generator) -> Engine | None:
    try:
        from bench.fused_commons import FusedCommons

        fused = FusedCommons(arena)
    except RuntimeError as missing:
        print(f"(no fused loop: {missing})")
        return None
    policy = rng.random((batch, arena.n_agents, len(arena.policy_names)))
    return Engine(
        FUSED_LABEL,
        batch,
        batch * arena.n_agents * arena.steps,
        lambda: fused.rollout(policy, arena.noise(rng, batch)),
    )


def table(name: str, arena: Arena, timings: list[Timing]) -> dict:
    """Print one arena's Markdown table; returns its figures."""
    base = timings[0]
    print(f"\n### {name}: {arena.n_agents} agents × {arena.steps} steps\n")
    print(
        "| engine | B | ms per call | M agent-steps/s wall | M agent-steps/s CPU | CPU / wall | vs plain, wall | vs plain, CPU | spread |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = []
    for timing in timings:
        wall, cpu = timing.rate("wall"), timing.rate("cpu")
        row = {
            "engine": timing.engine.label,
            "batch": timing.engine.batch,
            "ms_per_call": timing.seconds_per_call() * 1e3,
            "wall_rate": wall,
            "cpu_rate": cpu,
            "vs_plain_wall": wall / base.rate("wall"),
            "vs_plain_cpu": cpu / base.rate("cpu"),
            "spread": timing.spread(),
            "rounds_wall_s": timing.wall,
            "rounds_cpu_s": timing.cpu,
            "calls_per_round": timing.calls,
        }
        rows.append(row)
        print(
            f"| {row['engine']} | {row['batch']} | {row['ms_per_call']:.3f} | {wall / 1e6:.3f} | {cpu / 1e6:.3f} | "
            f"{wall / cpu:.2f} | {row['vs_plain_wall']:.1f}× | {row['vs_plain_cpu']:.1f}× | {row['spread']:.0%} |"
        )
    print(f"\nplain env: {1e6 / base.rate('cpu'):.2f} µs CPU per agent-step")
    fused = next((t for t in timings if t.engine.label == FUSED_LABEL), None)
    if fused is not None:
        core = next(t for t in timings if t.engine.batch == fused.engine.batch and t is not fused)
        print(
            f"fused loop / core at B = {fused.engine.batch}: {fused.rate('wall') / core.rate('wall'):.2f}× wall, "
            f"{fused.rate('cpu') / core.rate('cpu'):.2f}× CPU"
        )
    return {"n_agents": arena.n_agents, "steps": arena.steps, "rows": rows}


def summary(results: dict) -> None:
    """One line per arena: the plain env's cost, and every engine against it (wall / CPU)."""
    labels = [(row["engine"], row["batch"]) for row in next(iter(results.values()))["rows"][1:]]
    head = " | ".join(f"{'core' if 'rollout' in e else e} B={b}" for e, b in labels)
    print(f"\n### Against the plain env (wall / CPU)\n\n| arena | plain µs per agent-step (CPU) | {head} |")
    print("|---|---:|" + "---:|" * len(labels))
    for name, result in results.items():
        rows = result["rows"]
        cells = {(r["engine"] if "rollout" not in r["engine"] else "core", r["batch"]): r for r in rows[1:]}
        line = []
        for engine, batch in labels:
            row = cells.get(("core" if "rollout" in engine else engine, batch))
            line.append(f"{row['vs_plain_wall']:.1f}× / {row['vs_plain_cpu']:.1f}×" if row else "–")
        print(f"| {name} | {1e6 / rows[0]['cpu_rate']:.2f} | " + " | ".join(line) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arena", action="append", choices=list(WORKLOADS), help="default: all")
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds (default 9)")
    parser.add_argument("--seconds", type=float, default=0.25, help="per engine and round (default 0.25)")
    parser.add_argument("--quick", action="store_true", help="3 short rounds: a smoke test, not figures")
    parser.add_argument("--json", type=Path, help="also write every round's figures to this file")
    args = parser.parse_args()
    rounds, seconds = (3, 0.02) if args.quick else (args.rounds, args.seconds)
    names = args.arena or list(WORKLOADS)
    print(f"# Arena speed, {time.strftime('%Y-%m-%d %H:%M')}\n")
    print(f"{machine()}; numpy {np.__version__}; {rounds} interleaved rounds of ~{seconds} s per engine")
    print(f"load average before: {load()}{' (--quick: not figures)' if args.quick else ''}")
    results, rng = {}, np.random.default_rng(0)
    for name in names:
        arena = WORKLOADS[name]()
        results[name] = table(name, arena, interleave(engines(arena, rng), rounds, seconds))
    summary(results)
    print(f"\nload average after: {load()}")
    if args.json:
        args.json.write_text(
            json.dumps({"machine": machine(), "load_after": load(), "arenas": results}, indent=1)
        )


if __name__ == "__main__":
    main()
