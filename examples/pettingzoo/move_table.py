"""A small "trained" rock-paper-scissors policy for the pettingzoo arena's focal decider: a table
of move probabilities by the opponent's last move (what PettingZoo's rps shows each player),
sampled with the uniform draws purity passes, so episodes are the same on any number of Ray
workers. The numbers are written by hand; a policy trained elsewhere (RLlib, CleanRL, …) is
called the same way: `act(observations, draws)` → one action per observation."""

import numpy as np

# rows: the opponent's last move (rock, paper, scissors, none yet); columns: rock, paper, scissors
PROBABILITIES = np.array(
    [
        [0.1, 0.8, 0.1],  # after rock: mostly paper
        [0.1, 0.1, 0.8],  # after paper: mostly scissors
        [0.8, 0.1, 0.1],  # after scissors: mostly rock
        [1 / 3, 1 / 3, 1 / 3],  # first move
    ]
)


def act(observations: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """[m] opponent's last moves and [m] uniform draws → [m] moves (0 rock, 1 paper, 2 scissors)."""
    cumulative = PROBABILITIES[np.asarray(observations, dtype=int)].cumsum(axis=1)
    return np.minimum((cumulative < draws[:, None]).sum(axis=1), 2)
