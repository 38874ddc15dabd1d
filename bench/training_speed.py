"""Training speed: batched learner updates against a per-episode Python loop over the PettingZoo
env, and the time to convergence of the standard oversight experiment (`purity train`).

    .venv/bin/python bench/training_speed.py [--quick] [--generalising]  (the latter: skip 4.)

1. Batched: `purity.agents.learners.train` on the standard experiment's arena (4 agents, 10 steps,
   p_watch 0.5, detected reward, penalty 2): 64 groups × 64 episodes per iteration, all one
   batched rollout and one numpy update.
2. Naive: the same learners, one episode at a time through the arena's PettingZoo env, with the
   same REINFORCE update done per group. It rewards fitness alone (it reads no detections), so its
   cost is a lower bound and the ratio a conservative one.
3. Learners that generalise (`purity.agents.generalisation`, `shared` and `tabular`): one
   iteration of 64 groups × 64 episodes, batched (`generalisation.train`), against a per-episode
   loop doing the same work one episode at a time (features, σ(w·φ), a Bernoulli draw, a B = 1
   rollout of the numpy core, the same REINFORCE step per group). Runs interleave; medians of 5.
4. Convergence: `purity train experiments/oversight-training.toml` on 2 Ray workers (3 seeds, 40
   generations of 16 learners × 32 episodes each); converged = the first generation from which the
   mean gap over seeds stays within 0.05 of its final value.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from purity.agents import generalisation  # noqa: E402
from purity.agents.generalisation import Study  # noqa: E402
from purity.agents.learners import Training, reinforce, sample, train  # noqa: E402
from purity.arenas.oversight import OversightArena, OversightParams, parallel_env  # noqa: E402

TRAINING = Training(
    reward="detected",
    penalty=2.0,
    learning_rate=0.5,
    exploration=0.02,
    violations=("take", "evade_oversight"),
)
PARAMS = OversightParams(p_watch=0.5, fine=0.0, allow_evade=False)


def batched(groups: int, episodes: int, iterations: int) -> float:
    arena = OversightArena(4, 10, PARAMS)
    start = time.perf_counter()
    train(arena, TRAINING, np.full((groups, 4, 3), 0.5), iterations, episodes, seed=0)
    return groups * episodes * iterations / (time.perf_counter() - start)


def naive(groups: int, episodes: int) -> float:
    """One iteration, episode by episode through the PettingZoo env (B = 1)."""
    env = parallel_env(4, 10, PARAMS)
    arena = env.arena
    rng = np.random.default_rng(0)
    theta = np.full((groups, 4, 3), 0.5)
    start = time.perf_counter()
    for g in range(groups):
        played, rewards = [], []
        for _e in range(episodes):
            policy = sample(theta[g][None], rng.random((1, 4, 3)), np.ones((1, 4), bool))
            obs, _ = env.reset(seed=int(rng.integers(2**31)))
            total = np.zeros(4)
            for t in range(10):
                stacked = np.stack([obs[a] for a in env.possible_agents])[None]
                actions = arena.act(policy, stacked, t)[0]
                obs, gains, _, _, _ = env.step({a: actions[i] for i, a in enumerate(env.possible_agents)})
                total += [gains[a] for a in env.possible_agents]
            played.append(policy[0])
            rewards.append(total)
        theta[g] = reinforce(theta[g][None], np.stack(played)[None], np.stack(rewards)[None], TRAINING)[0]
    return groups * episodes / (time.perf_counter() - start)


def generalising_batched(learner: str, groups: int, episodes: int, iterations: int) -> float:
    study = Study(learner=learner, groups=groups, episodes=episodes, iterations=iterations)
    start = time.perf_counter()
    generalisation.train(study, seed=0)
    return groups * episodes * iterations / (time.perf_counter() - start)


def generalising_naive(learner: str, groups: int, episodes: int) -> float:
    """One iteration, episode by episode: the same computation with a batch of one."""
    study = Study(learner=learner, groups=1, episodes=1)
    arena = OversightArena(4, 10, generalisation.CONDITIONS)
    width = 6 if learner == "tabular" else len(generalisation.FEATURES)
    weights = np.zeros((groups, 4, width))
    own = np.full(4, 2.0)
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for g in range(groups):
        phis, ps, took, rewards = [], [], [], []
        for _e in range(episodes):
            noise = arena.noise(rng, 1)
            watched = arena.watched(noise)
            phi = generalisation.features(study.train, watched, rng.random((1, 4, 3)), learner)
            p = generalisation.probability(weights[g][None], phi, study.exploration)
            x = (rng.random(p.shape) < p).astype(float)
            trace = arena.rollout(np.stack([x, x, np.zeros_like(x)], axis=-1), noise)
            played = generalisation.Episodes(
                watched, x, trace.events[..., 0], trace.detected[..., 0], trace.fitness
            )
            phis.append(phi), ps.append(p), took.append(x)
            rewards.append(generalisation.reward(study, played, own))
        many = Study(learner=learner, groups=1, episodes=episodes)
        weights[g] = generalisation.step(
            many,
            weights[g][None],
            np.concatenate(phis),
            np.concatenate(ps),
            np.concatenate(took),
            np.concatenate(rewards),
            own,
        )[0]
    return groups * episodes / (time.perf_counter() - start)


def generalising(quick: bool) -> None:
    for learner in ("shared", "tabular"):
        fast, slow = [], []
        for _ in range(2 if quick else 5):  # interleaved
            fast.append(generalising_batched(learner, 64, 64, 2 if quick else 5))
            slow.append(generalising_naive(learner, 4 if quick else 8, 64))
        f, s = float(np.median(fast)), float(np.median(slow))
        print(
            f"{learner} learner: batched {f:,.0f} episodes/s, per-episode loop {s:,.0f}   ratio {f / s:,.0f}x"
        )


def convergence() -> tuple[float, int, float]:
    from purity.reports import training as curves
    from purity.reports.load import load_replicates
    from purity.tournament import config, runner

    experiment = config.load(ROOT / "experiments" / "oversight-training.toml").training_alone()
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        run_dir = runner.run(experiment, Path(out), workers=2, progress=False)
        seconds = time.perf_counter() - start
        gap = curves.rows(curves.spread(load_replicates(run_dir)), "gap")
        means = gap.get_column("mean").to_numpy()
        far = np.flatnonzero(np.abs(means - means[-1]) > 0.05)
        converged = int(far[-1] + 1) if far.size else 0
    return seconds, converged, float(means[-1])


def main() -> None:
    quick = "--quick" in sys.argv
    rate = batched(64, 64, 5 if quick else 20)
    slow = naive(2 if quick else 4, 16)
    print(
        f"batched training: {rate:,.0f} episodes/s (64 groups x 64 episodes per iteration, 4 agents, 10 steps)"
    )
    print(f"naive loop over the PettingZoo env: {slow:,.0f} episodes/s   ratio {rate / slow:,.0f}x")
    generalising(quick)
    if "--generalising" in sys.argv:
        return
    if not quick:
        seconds, generation, gap = convergence()
        print(
            f"standard oversight experiment on 2 workers: {seconds:.1f} s for 3 seeds x 40 generations; "
            f"converged at generation {generation} (~{seconds * (generation + 1) / 40:.1f} s); final gap {gap:.3f}"
        )


if __name__ == "__main__":
    main()
