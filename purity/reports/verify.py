"""A run directory checked against its own manifest before anything is reported from it: the
generations the manifest counts are all there, once each, so a report never pools a damaged or
half-deleted run silently."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl


def check_agents(path: Path, manifest: dict[str, Any], agents: pl.DataFrame, error) -> None:
    """Generations 0 … done − 1 (done: the manifest's `generations_done`) each hold one row per
    agent id; a run cut off mid-write may hold one generation more, never a gap or a repeat."""
    done = manifest.get("generations_done")
    if isinstance(done, bool) or not isinstance(done, int):
        return  # a manifest from before the count existed: nothing to check against
    found = sorted(set(agents.get_column("generation").cast(int).to_list())) if agents.height else []
    expected = list(range(len(found)))
    if found != expected:
        gaps = sorted(set(range(max(found) + 1)) - set(found)) if found else []
        raise error(
            path / "agents",
            f"generations 0 … {done - 1} (generation {gaps[0] if gaps else found[0]} is missing)",
        )
    if len(found) < done:
        what = "the agents/ folder is missing or empty" if not found else f"only {len(found)} are there"
        raise error(path / "agents", f"the {done} generations manifest.json counts as complete ({what})")
    if len(found) > done + 1:
        raise error(
            path / "agents",
            f"at most {done + 1} generations (manifest.json counts {done}; found {len(found)})",
        )
    repeated = agents.select("generation", "id").is_duplicated()
    if repeated.any():
        row = agents.filter(repeated).row(0, named=True)
        raise error(
            path / "agents",
            f"each agent once per generation (agent {row['id']} appears more than once in generation {row['generation']})",
        )
