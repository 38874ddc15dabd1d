"""The `[training]` keys of learners that generalise (`purity.agents.generalisation`): which
learner, what it sees of oversight while it trains, and the regime its frozen policy is tested in.

```toml
[training]
learner = "shared"     # policy (default: one probability per policy parameter) | shared | tabular
cue = 0.5              # the training regime; its p_watch is [arena] p_watch
missing = 0.0
observed = true
correlated = 0.5

[training.test]        # the test regime; every key defaults to the training regime's
p_watch = 0.0
observed = false
```

The default, `policy`, is today's learner and reads none of these keys, so every existing
experiment keeps its tables.
"""

from __future__ import annotations

from purity.agents.generalisation import LEARNERS, Generalise, Regime
from purity.inputs import InputError, Table

LEARNER_CHOICES = ("policy", *LEARNERS)
SHARES = ("cue", "missing", "correlated")  # probabilities, each in [0, 1]


def regime(table: Table, base: Regime) -> Regime:
    """A `Regime` from `table`, each key bounded; absent keys keep `base`'s values."""
    values = {
        key: table.number(key, default=getattr(base, key), low=0.0, high=1.0)
        for key in ("p_watch", *SHARES)
        if table.has(key)
    }
    if table.has("observed"):
        values["observed"] = table.boolean("observed")
    return Regime(**{**base.__dict__, **values})


def read(table: Table, arena, mix, reward: str) -> Generalise | None:
    """The learners that generalise, checked against the experiment's arena and mix; None for the
    default learner, which takes none of these keys."""
    learner = table.string("learner", default="policy", choices=LEARNER_CHOICES)
    keys = [key for key in ("test", "observed", *SHARES) if table.has(key)]
    if learner == "policy":
        if keys:
            raise table.error(keys[0], "no regime keys unless learner = 'shared' or 'tabular'", "a key")
        if reward == "disposition":
            raise table.error("reward", "'disposition' only with learner = 'shared' or 'tabular'", reward)
        return None
    if arena.name != "oversight":
        raise table.error(
            "learner", "'policy' unless arena.name = 'oversight' (its cues are of oversight)", learner
        )
    for key, off, why in (
        ("fine", 0.0, "a fine lowers the store, a second feature that depends on being watched"),
        ("allow_evade", False, "evasion has opportunities only in watched episodes"),
    ):
        if getattr(arena.params, key) != off:
            raise InputError(
                table.file, f"arena.{key}", f"{off!r} with training.learner = {learner!r} ({why})"
            )
    for k, entry in enumerate(mix):
        if entry.decider != "learner":
            raise InputError(
                table.file, f"population.mix[{k}].decider", f"'learner' with training.learner = {learner!r}"
            )
    train = regime(table, Regime(p_watch=arena.params.p_watch))
    tested = table.table("test")
    test = regime(tested, train)
    tested.done()
    return Generalise(learner, train, test)
