"""Invariants of sweeps, checked with Hypothesis: results do not depend on how runs are
chunked or in which order chunks finish, and resuming from any subset of stored parts
yields the uninterrupted tables."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from experiments.design import validate_design
from experiments.runs import context_of, plan_chunks, run_chunk
from experiments.store import Store
from experiments.sweep import sweep

DESIGN = {
    "name": "props",
    "description": "Twelve short runs: three points, four replications.",
    "factors": {"powers.russia.pressure": [0.1, 0.5, 0.9]},
    "replications": 4,
    "quarters": 2,
    "outputs": {"series": {"every": 1, "measures": ["cohesion"]}},
    "seed": 99,
}


@pytest.fixture(scope="module")
def design(tmp_path_factory):
    return validate_design(DESIGN, source=tmp_path_factory.mktemp("props") / "props.yaml")


@pytest.fixture(scope="module")
def reference(design, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("props") / "reference"
    sweep(design, out, workers=1, chunk_size=12, progress=False)
    return out


SETTINGS = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(size=st.integers(1, 12), order=st.randoms(use_true_random=False))
def test_chunking_and_completion_order_do_not_change_the_runs(design, reference, size, order):
    chunks = list(plan_chunks(np.arange(12), design.sample(), 4, size))
    order.shuffle(chunks)
    results = [run_chunk(context_of(design), chunk) for chunk in chunks]
    runs = pd.concat([r.runs for r in results]).sort_values("run_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(runs, Store(reference).read("runs"))


@SETTINGS
@given(
    first=st.integers(1, 6), keep=st.lists(st.booleans(), min_size=12, max_size=12), second=st.integers(1, 6)
)
def test_resuming_from_any_stored_subset_gives_the_uninterrupted_tables(
    design, reference, first, keep, second
):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "store"
        sweep(design, out, workers=1, chunk_size=first, progress=False)
        for part, kept in zip(sorted((out / "runs").glob("part-*")), keep, strict=False):
            if not kept:
                part.unlink()  # as if killed before this chunk's commit
        sweep(design, out, workers=1, chunk_size=second, resume=True, progress=False)
        for table in ("runs", "series"):
            pd.testing.assert_frame_equal(Store(out).read(table), Store(reference).read(table))
        shutil.rmtree(out)
