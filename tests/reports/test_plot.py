"""purity.plot draws exactly the numbers of the metrics frames: the data of every line, band, bar
and cell is read back from the matplotlib objects and compared, never pixels. The hand-built
runs of conftest.py give the known answers."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap

import matplotlib
import numpy as np
import polars as pl
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from run_fixtures import write_still_null  # noqa: E402

import purity  # noqa: E402
import purity.reports  # noqa: E402
from purity import plot  # noqa: E402
from purity.reports import metrics, price, replicates, training  # noqa: E402
from purity.reports.load import load, load_replicates  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def lines(ax) -> dict[str, tuple[list, list]]:
    return {
        line.get_label(): (list(line.get_xdata()), [float(y) for y in line.get_ydata()]) for line in ax.lines
    }


def nans(values: list) -> list[float]:
    return [math.nan if v is None else v for v in values]


def band(ax, index: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The lower and upper edge of the index-th filled band over n points. fill_between's polygon
    runs (x0, high0), the low edge forward, (x_last, high_last), the high edge backward."""
    vertices = ax.collections[index].get_paths()[0].vertices
    low, high = vertices[1 : n + 1], vertices[n + 2 : 2 * n + 2][::-1]
    return low[:, 1], high[:, 1]


def test_survival_lines_are_the_survival_frame_and_the_drift_twin_dashed(run_with_drift):
    run = load(run_with_drift)
    ax = plot.survival(run)
    drawn = lines(ax)
    expected = metrics.survival(run)
    for term, rows in expected.group_by("label", maintain_order=True):
        xs, ys = drawn[term[0]]
        assert xs == rows.get_column("generation").to_list()
        assert ys == rows.get_column("share").to_list()
    assert drawn["never take (self)"][1] == [0.75, 0.5, 0.25]  # the documented known answer
    twin = metrics.survival(run.drift)
    dashed = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert len(dashed) == twin.get_column("term").n_unique()
    for line in dashed:
        label = line.get_label().removesuffix(" (drift)")
        assert list(line.get_ydata()) == twin.filter(pl.col("label") == label).get_column("share").to_list()
        solid = next(other for other in ax.lines if other.get_label() == label)
        assert line.get_color() == solid.get_color()


def test_survival_draws_the_recorded_null_dotted_with_its_band(run_with_drift):
    """The null's median run (the null curve's `median`) dotted, its 95% band filled; none
    without a recorded null, and none when asked not to."""
    assert not [line for line in plot.survival(load(run_with_drift)).lines if line.get_linestyle() == ":"]
    write_still_null(run_with_drift)  # every null run keeps its start share: 0.75 for never take (self)
    ax = plot.survival(load(run_with_drift))
    dotted = {line.get_label(): list(line.get_ydata()) for line in ax.lines if line.get_linestyle() == ":"}
    assert dotted["never take (self) (drift null, 95% of single runs)"] == [0.75, 0.75, 0.75]
    assert len(dotted) == metrics.survival(load(run_with_drift)).get_column("term").n_unique()
    assert not [
        line for line in plot.survival(load(run_with_drift), null=False).lines if line.get_linestyle() == ":"
    ]


def test_no_drift_twin_no_dashed_line(run_dir):
    ax = plot.survival(load(run_dir))
    assert ax.lines and not [line for line in ax.lines if line.get_linestyle() == "--"]


def test_replicates_survival_mean_line_and_min_max_band(reps_dir):
    reps = load_replicates(reps_dir)
    ax = plot.survival(reps)
    frame = replicates.survival(reps).filter(pl.col("label") == "never take (self)")
    xs, ys = lines(ax)["never take (self)"]
    assert ys == pytest.approx([0.5, 0.5, 1 / 3])  # conftest: the mean over seeds 10, 11, 12
    assert ys == frame.get_column("mean").to_list()
    low, high = band(ax, 0, 3)
    assert low.tolist() == frame.get_column("min").to_list() == [0.5, 0.25, 0.0]
    assert high.tolist() == frame.get_column("max").to_list() == [0.5, 0.75, 0.75]


def test_violation_bars_are_the_violation_frame(run_dir):
    run = load(run_dir)
    ax = plot.violations(run)
    frame = metrics.violations(run)
    columns = ["rate", "delegated_rate", "rate_watched", "rate_unwatched"]
    heights = [patch.get_height() for patch in ax.patches]
    expected = [v for c in columns for v in frame.get_column(c).to_list()]
    assert len(heights) == len(expected)
    for got, want in zip(heights, expected):
        assert (math.isnan(got) and want is None) or got == want
    keeper = frame.filter(pl.col("profile") == "keeper", pl.col("event") == "take").row(0, named=True)
    assert (keeper["rate"], keeper["rate_watched"], keeper["rate_unwatched"]) == (0.3, 0.0, 0.6)
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        f"{p}\n{e}" for p, e in frame.select("profile", "event").iter_rows()
    ]


def test_the_caller_s_axes_are_drawn_into_and_no_style_is_set(run_with_drift):
    before = dict(matplotlib.rcParams)
    figure, (left, right) = plt.subplots(1, 2)
    run = load(run_with_drift)
    assert plot.survival(run, ax=left) is left
    assert plot.violations(run, ax=right) is right
    assert right.figure is figure and len(plt.get_fignums()) == 1
    assert dict(matplotlib.rcParams) == before


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trained")
    experiment = folder / "watch.toml"
    experiment.write_text(
        textwrap.dedent(
            """
            [experiment]
            name = "watch"
            seed = 5
            generations = 6
            population = 8

            [arena]
            name = "oversight"
            episodes = 8
            group_size = 4
            steps = 10
            p_watch = 0.5

            [[population.mix]]
            profile = "self-keeper"
            share = 0.5
            decider = "learner"
            policy = { shortcut_watched = 0.5, shortcut_unwatched = 0.5 }

            [[population.mix]]
            profile = "consequentialist"
            share = 0.5
            decider = "fixed"
            policy = { shortcut_watched = 1.0, shortcut_unwatched = 1.0 }

            [training]
            reward = "detected"
            penalty = 2.0
            """
        )
    )
    return purity.run(experiment, out=folder / "runs", report=False)


def test_training_gap_lines_and_shaded_gap_are_the_training_curves(trained):
    ax = plot.training_gap(trained)
    curves = training.curves(trained)
    drawn = lines(ax)
    for measure, label in (
        ("rate_watched", "violation rate, watched"),
        ("rate_unwatched", "violation rate, unwatched"),
    ):
        xs, ys = drawn[label]
        assert xs == curves.get_column("generation").to_list()
        assert ys == nans(curves.get_column(measure).to_list())
    low, high = band(ax, 0, curves.height)
    assert low.tolist() == nans(curves.get_column("rate_watched").to_list())
    assert high.tolist() == nans(curves.get_column("rate_unwatched").to_list())
    assert ax.collections[0].get_label() == "gap"


def test_price_lines_are_the_cumulative_decomposition(trained, run_with_drift):
    for run in (trained, load(run_with_drift)):
        ax = plot.price_forces(run)
        cumulative = price.cumulative(price.decompose(run)).filter(pl.col("trait") == "process_share")
        drawn = lines(ax)
        assert drawn["observed change"][1] == cumulative.get_column("observed").to_list()
        mutation = (cumulative.get_column("mutation") + cumulative.get_column("copy")).to_list()
        for force, values in (
            ("selection", cumulative.get_column("selection").to_list()),
            ("mutation", mutation),
        ):
            moved = max(abs(v) for v in values) > price.TINY
            assert (price.FORCE_LABELS[force] in drawn) == moved
            if moved:
                assert drawn[price.FORCE_LABELS[force]][1] == values
        plt.close("all")


def test_price_of_an_unknown_trait_names_the_known_ones(run_dir):
    with pytest.raises(ValueError, match="process_share"):
        plot.price_forces(load(run_dir), "nope")


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    from purity.tournament.cli import main

    folder = tmp_path_factory.mktemp("swept")
    (folder / "small.toml").write_text(
        textwrap.dedent(
            """
            [experiment]
            name = "small"
            seed = 3
            generations = 3
            population = 8
            survival_threshold = 0.5

            [arena]
            name = "commons"
            episodes = 2
            group_size = 4
            steps = 8

            [[population.mix]]
            profile = "consequentialist"
            share = 0.5
            decider = "fixed"
            policy = { harvest = 0.6 }

            [[population.mix]]
            profile = "lineage-keeper"
            share = 0.5
            capability = { candidates = 4, rollouts = 2 }

            [mutation]
            rate = 0.5
            """
        )
    )
    (folder / "sweep.toml").write_text(
        '[sweep]\nname = "s"\nexperiment = "small.toml"\nseeds = 2\n'
        '[grid]\n"selection.intensity" = [0.0, 0.3, 0.6]\n"mutation.rate" = [0.1, 0.5]\n'
    )
    argv = ["sweep", str(folder / "sweep.toml"), "--out", str(folder), "--workers", "0", "--quiet"]
    assert main(argv) == 0
    return purity.load(folder / "s")


def test_sweep_heatmap_cells_are_the_means_over_seeds(swept):
    ax = plot.sweep_heatmap(swept, "mean_process_share", "selection.intensity", "mutation.rate")
    cells = np.asarray(ax.images[0].get_array())
    assert cells.shape == (2, 3)  # rows: mutation.rate, columns: selection.intensity
    table = purity.reports.sweep_figures(swept.path)  # each run's figures, as the sweep report has them
    for i, rate in enumerate([0.1, 0.5]):
        for j, intensity in enumerate([0.0, 0.3, 0.6]):
            values = table.filter(
                pl.col("set:mutation.rate") == rate, pl.col("set:selection.intensity") == intensity
            ).get_column("mean_process_share")
            assert values.len() == 2  # two seeds
            assert cells[i, j] == pytest.approx(values.mean(), rel=1e-15)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.0", "0.3", "0.6"]
    assert len(ax.figure.axes) == 2  # and its colour bar


def test_sweep_heatmap_bad_names_are_one_clear_error(swept):
    with pytest.raises(ValueError, match="selection.intensity"):
        plot.sweep_heatmap(swept, "mean_process_share", "nope", "mutation.rate")
    with pytest.raises(ValueError, match="mean_process_share"):
        plot.sweep_heatmap(swept, "nope", "selection.intensity", "mutation.rate")


def test_without_matplotlib_one_clear_message(tmp_path):
    """A blocker on the import path stands in for an environment without matplotlib."""
    (tmp_path / "matplotlib.py").write_text("raise ImportError('No module named matplotlib')\n")
    code = "import purity.plot"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": str(tmp_path)}
    )
    assert done.returncode == 1
    assert "ImportError: purity.plot draws with matplotlib, which is not installed" in done.stderr
    assert "pip install 'purity-tournaments[plot]'" in done.stderr
