"""Tests for model.landscape (Axelrod and Bennett 1993 landscape theory)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from model import landscape
from model.landscape import (
    Configuration,
    energy,
    frustration,
    load_landscape,
    minima,
    minima_as_json,
    validate,
)

EXAMPLE = Path(__file__).parent / "data" / "landscape_example.yaml"


# ---------------------------------------------------------------------------
# Helpers (independent brute force, no use of the module's internals)
# ---------------------------------------------------------------------------


def all_bits(n: int) -> np.ndarray:
    """All 2**n configurations; row c has bit k of c as actor k's bloc."""
    c = np.arange(1 << n)
    return (c[:, None] >> np.arange(n)) & 1


def brute_energies(sizes, propensity) -> np.ndarray:
    """Energy of every configuration straight from the double-sum definition."""
    s = np.asarray(sizes, dtype=float)
    p = np.asarray(propensity, dtype=float)
    bits = all_bits(len(s))
    d = bits[:, :, None] != bits[:, None, :]
    return np.einsum("i,j,ij,cij->c", s, s, p, d)


def brute_minima(sizes, propensity, tol=0.0) -> tuple[set[tuple[int, ...]], float]:
    """Normalised local minima and global minimum energy by brute force."""
    n = len(sizes)
    e = brute_energies(sizes, propensity)
    bits = all_bits(n)
    idx = np.arange(1 << n)
    found = set()
    for c in idx:
        if bits[c, 0] != 0:
            continue
        neighbours = e[c ^ (1 << np.arange(n))]
        if np.all(neighbours >= e[c] - tol):
            found.add(tuple(int(v) for v in bits[c]))
    return found, float(e.min())


def switched(blocs, k):
    out = list(blocs)
    out[k] = 1 - out[k]
    return out


def is_local_minimum(sizes, propensity, blocs, tol) -> bool:
    e0 = energy(sizes, propensity, blocs)
    return all(energy(sizes, propensity, switched(blocs, k)) >= e0 - tol for k in range(len(blocs)))


def scale_of(sizes, propensity) -> float:
    s = np.asarray(sizes, dtype=float)
    return float(np.abs(np.outer(s, s) * np.asarray(propensity)).sum()) + 1.0


def symmetric(n: int, rng: np.random.Generator, low=-1.0, high=1.0) -> np.ndarray:
    a = rng.uniform(low, high, size=(n, n))
    a = np.triu(a, 1)
    return a + a.T


@st.composite
def float_landscapes(draw, min_n=1, max_n=8):
    n = draw(st.integers(min_n, max_n))
    value = st.floats(-5, 5, allow_nan=False, allow_infinity=False)
    sizes = draw(st.lists(st.floats(0, 5), min_size=n, max_size=n))
    upper = draw(st.lists(value, min_size=n * n, max_size=n * n))
    p = np.triu(np.array(upper).reshape(n, n), 1)
    diag = draw(st.lists(value, min_size=n, max_size=n))
    p = p + p.T + np.diag(diag)  # diagonal is arbitrary: it must be ignored
    blocs = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    return np.array(sizes), p, blocs


@st.composite
def integer_landscapes(draw, min_n=1, max_n=8):
    """Integer sizes and propensities: energies are exact, ties are real ties."""
    n = draw(st.integers(min_n, max_n))
    sizes = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    upper = draw(st.lists(st.integers(-3, 3), min_size=n * n, max_size=n * n))
    p = np.triu(np.array(upper, dtype=float).reshape(n, n), 1)
    return np.array(sizes, dtype=float), p + p.T


# ---------------------------------------------------------------------------
# Known answers worked by hand
# ---------------------------------------------------------------------------


def test_two_actors_positive_propensity_stay_together():
    # s = (2, 3), p12 = +1.
    # Together: d12 = 0 -> E = 0.
    # Apart: E = s1 s2 p12 + s2 s1 p21 = 6 + 6 = 12 (ordered pairs counted twice).
    s, p = [2.0, 3.0], [[0, 1], [1, 0]]
    assert energy(s, p, [0, 0]) == 0.0
    assert energy(s, p, [0, 1]) == 12.0
    result = minima(s, p)
    assert result == [Configuration((0, 0), 0.0)]


def test_two_actors_negative_propensity_split():
    # s = (2, 3), p12 = -0.5. Apart: E = 2 * s1 * s2 * p12 = 2 * 6 * -0.5 = -6
    # = -2 s1 s2 |p|. Together: E = 0, so switching either actor lowers E by 6.
    s, p = [2.0, 3.0], [[0, -0.5], [-0.5, 0]]
    assert energy(s, p, [0, 1]) == -6.0
    assert energy(s, p, [1, 0]) == -6.0
    result = minima(s, p)
    assert result == [Configuration((0, 1), -6.0)]
    assert result[0].energy == -2 * 2.0 * 3.0 * 0.5


def test_three_actors_two_friends_against_third():
    # Actors 1, 2, 3 (indices 0, 1, 2), sizes (1, 1, 1); p12 = +1, p13 = p23 = -1.
    # Normalised configurations (actor 1 in bloc 0) and energies:
    #   {1,2,3}       : nobody apart                      -> E = 0
    #   {1,2} vs {3}  : apart pairs 13, 23 -> 2*(s1 s3 p13 + s2 s3 p23)
    #                                          = 2*(-1 - 1) = -4
    #   {1,3} vs {2}  : apart pairs 12, 23 -> 2*(+1 - 1) = 0
    #   {1} vs {2,3}  : apart pairs 12, 13 -> 2*(+1 - 1) = 0
    # {1,2} vs {3} is the only local minimum; each other configuration reaches
    # it with one switch that lowers E from 0 to -4:
    #   {1,2,3}: switch 3;  {1,3}|{2}: switch 1 (gives {3}|{1,2});
    #   {1}|{2,3}: switch 2 (gives {1,2}|{3}).
    s = [1.0, 1.0, 1.0]
    p = [[0, 1, -1], [1, 0, -1], [-1, -1, 0]]
    assert energy(s, p, [0, 0, 1]) == -4.0
    assert energy(s, p, [0, 1, 0]) == 0.0
    assert energy(s, p, [0, 1, 1]) == 0.0
    assert energy(s, p, [0, 0, 0]) == 0.0
    result = minima(s, p)
    assert result == [Configuration((0, 0, 1), -4.0)]
    assert result[0].groups(["one", "two", "three"]) == [["one", "two"], ["three"]]


def test_frustrated_triangle_has_three_degenerate_minima():
    # Sizes 1, all p = -1. Any 2-1 split has two apart pairs: E = 2*(-1 - 1) = -4.
    # All together: E = 0. From a 2-1 split, moving the lone actor back gives
    # E = 0 (higher); moving one of the pair gives another 2-1 split with E = -4
    # (a tie, which does not count as lowering). So all three 2-1 splits are
    # local minima, each reported once (actor 0 in bloc 0), sorted by blocs.
    s = [1.0, 1.0, 1.0]
    p = -np.ones((3, 3))
    result = minima(s, p)
    assert [c.blocs for c in result] == [(0, 0, 1), (0, 1, 0), (0, 1, 1)]
    assert [c.energy for c in result] == [-4.0, -4.0, -4.0]


FOUR_SIZES = [1.0, 1.0, 1.0, 1.0]
# Actors A, B, C, D.
FOUR_P = [
    [0, -2, -2, 1],  # A
    [-2, 0, -1, 1],  # B
    [-2, -1, 0, 3],  # C
    [1, 1, 3, 0],  # D
]


def test_four_actors_two_local_minima_of_different_energy():
    # Energies of all 8 normalised configurations (sizes 1, so E = 2 * sum of
    # p over the unordered pairs that are apart):
    #   AB CD (0,0,0,0): none apart                          -> 0
    #   (0,0,0,1) D alone: AD+BD+CD = 1+1+3 = 5               -> 10
    #   (0,0,1,0) C alone: AC+BC+CD = -2-1+3 = 0              -> 0
    #   (0,0,1,1) AB|CD:   AC+AD+BC+BD = -2+1-1+1 = -1        -> -2
    #   (0,1,0,0) B alone: AB+BC+BD = -2-1+1 = -2             -> -4
    #   (0,1,0,1) AC|BD:   AB+AD+BC+CD = -2+1-1+3 = 1         -> 2
    #   (0,1,1,0) AD|BC:   AB+AC+BD+CD = -2-2+1+3 = 0         -> 0
    #   (0,1,1,1) A alone: AB+AC+AD = -2-2+1 = -3             -> -6
    # Neighbours of A|BCD (-6): switch A -> 0, B -> AB|CD -2, C -> AC|BD 2,
    #   D -> AD|BC 0: all higher, a strict local minimum (the global one).
    # Neighbours of ACD|B (-4): switch A -> AB|CD -2, B -> all together 0,
    #   C -> AD|BC 0, D -> AC|BD 2: all higher, a second strict local minimum.
    # Every other configuration has a lowering switch (e.g. AB|CD -> A|BCD).
    expected = {
        (0, 0, 0, 0): 0,
        (0, 0, 0, 1): 10,
        (0, 0, 1, 0): 0,
        (0, 0, 1, 1): -2,
        (0, 1, 0, 0): -4,
        (0, 1, 0, 1): 2,
        (0, 1, 1, 0): 0,
        (0, 1, 1, 1): -6,
    }
    for blocs, e in expected.items():
        assert energy(FOUR_SIZES, FOUR_P, blocs) == e
    result = minima(FOUR_SIZES, FOUR_P)
    assert result == [
        Configuration((0, 1, 1, 1), -6.0),
        Configuration((0, 1, 0, 0), -4.0),
    ]
    out = minima_as_json(list("ABCD"), result)
    assert out == {
        "minima": [
            {"energy": -6.0, "blocs": [["A"], ["B", "C", "D"]]},
            {"energy": -4.0, "blocs": [["A", "C", "D"], ["B"]]},
        ]
    }


def test_frustration_by_hand():
    # Four-actor example in A|BCD: F_A = s_B p_AB + s_C p_AC + s_D p_AD
    # = -2 - 2 + 1 = -3; F_B = s_A p_AB = -2; F_C = p_AC = -2; F_D = p_AD = 1.
    # E = sum s_i F_i = -3 - 2 - 2 + 1 = -6.
    f = frustration(FOUR_SIZES, FOUR_P, [0, 1, 1, 1])
    np.testing.assert_array_equal(f, [-3.0, -2.0, -2.0, 1.0])
    # Own size is excluded: scaling s_A changes the others' frustration only.
    f2 = frustration([10.0, 1.0, 1.0, 1.0], FOUR_P, [0, 1, 1, 1])
    np.testing.assert_array_equal(f2, [-3.0, -20.0, -20.0, 10.0])


def test_diagonal_is_ignored():
    p = np.array(FOUR_P, dtype=float)
    p_diag = p + np.diag([5.0, -7.0, 100.0, 1.0])
    for blocs in all_bits(4):
        assert energy(FOUR_SIZES, p_diag, blocs) == energy(FOUR_SIZES, p, blocs)
        np.testing.assert_array_equal(
            frustration(FOUR_SIZES, p_diag, blocs), frustration(FOUR_SIZES, p, blocs)
        )
    assert minima(FOUR_SIZES, p_diag) == minima(FOUR_SIZES, p)


def test_energy_accepts_bools_and_complement_invariance():
    assert energy(FOUR_SIZES, FOUR_P, [False, True, True, True]) == -6.0
    assert energy(FOUR_SIZES, FOUR_P, np.array([1, 0, 0, 0])) == -6.0
    assert isinstance(energy(FOUR_SIZES, FOUR_P, [0, 0, 0, 0]), float)


def test_single_actor_and_zero_interactions():
    assert minima([3.0], [[0.0]]) == [Configuration((0,), 0.0)]
    assert minima([3.0], [[0.0]], exact_limit=0) == [Configuration((0,), 0.0)]
    # No interactions: every switch is a tie, so every partition is a minimum.
    result = minima([1.0, 1.0, 1.0], np.zeros((3, 3)))
    assert [c.blocs for c in result] == [(0, 0, 0), (0, 0, 1), (0, 1, 0), (0, 1, 1)]
    assert all(c.energy == 0.0 for c in result)


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(float_landscapes())
def test_energy_equals_size_weighted_frustration(case):
    s, p, blocs = case
    e = energy(s, p, blocs)
    f = frustration(s, p, blocs)
    assert e == pytest.approx(float(s @ f), rel=1e-9, abs=1e-9 * scale_of(s, p))
    # and equals twice the sum over unordered pairs that are apart
    n = len(s)
    pairs = sum(s[i] * s[j] * p[i, j] for i in range(n) for j in range(i + 1, n) if blocs[i] != blocs[j])
    assert e == pytest.approx(2 * pairs, rel=1e-9, abs=1e-9 * scale_of(s, p))


@settings(max_examples=200, deadline=None)
@given(float_landscapes())
def test_switch_delta_from_frustration(case):
    # delta_k = 2 s_k (sum_{j != k} s_j p_kj - 2 F_k(X)) = E(X with k switched) - E(X)
    s, p, blocs = case
    tol = 1e-9 * scale_of(s, p)
    f = frustration(s, p, blocs)
    off = p - np.diag(np.diag(p))
    total = off @ s
    e0 = energy(s, p, blocs)
    for k in range(len(s)):
        delta = 2 * s[k] * (total[k] - 2 * f[k])
        e1 = energy(s, p, switched(blocs, k))
        assert e1 - e0 == pytest.approx(delta, abs=tol)
        if delta < -tol:
            assert e1 < e0
    # the vectorised spin formula used by minima() agrees
    w = landscape._weights(*validate(s, p))
    deltas = landscape._switch_deltas(w, np.array(blocs))
    np.testing.assert_allclose(deltas, 2 * s * (total - 2 * f), atol=tol)


@settings(max_examples=150, deadline=None)
@given(integer_landscapes())
def test_exact_minima_match_brute_force_integer(case):
    s, p = case
    result = minima(s, p)
    expected, global_e = brute_minima(s, p)
    got = [c.blocs for c in result]
    assert len(got) == len(set(got))
    assert set(got) == expected
    assert result[0].energy == global_e
    for c in result:
        assert c.energy == energy(s, p, c.blocs)
    # sorted by energy then blocs
    keys = [(c.energy, c.blocs) for c in result]
    assert keys == sorted(keys)


@settings(max_examples=150, deadline=None)
@given(float_landscapes())
def test_exact_minima_are_local_and_global_float(case):
    s, p, _ = case
    tol = 1e-8 * scale_of(s, p)
    result = minima(s, p)
    assert result
    _, global_e = brute_minima(s, p)
    assert result[0].energy == pytest.approx(global_e, abs=tol)
    for c in result:
        assert c.blocs[0] == 0
        assert c.energy == pytest.approx(energy(s, p, c.blocs), abs=tol)
        assert is_local_minimum(s, p, c.blocs, tol)
    energies = [c.energy for c in result]
    assert all(b >= a - tol for a, b in itertools.pairwise(energies))


@settings(max_examples=100, deadline=None)
@given(integer_landscapes(min_n=2))
def test_no_partition_reported_twice(case):
    s, p = case
    result = minima(s, p)
    partitions = set()
    for c in result:
        assert c.blocs[0] == 0
        groups = frozenset(frozenset(i for i, b in enumerate(c.blocs) if b == side) for side in (0, 1))
        assert groups not in partitions
        partitions.add(groups)
        complement = tuple(1 - b for b in c.blocs)
        assert complement not in [x.blocs for x in result]


def test_chunked_enumeration_matches_single_chunk(monkeypatch):
    rng = np.random.default_rng(7)
    s = rng.uniform(0, 2, 9)
    p = symmetric(9, rng)
    whole = minima(s, p)
    monkeypatch.setattr(landscape, "_CHUNK_ROWS", 5)
    chunked = minima(s, p)
    assert chunked == whole
    expected, _ = brute_minima(s, p, tol=1e-12)
    assert {c.blocs for c in whole} == expected


def test_n20_exact_is_correct():
    """Speed is measured in benchmarks/bench_latency.py, not asserted here."""
    rng = np.random.default_rng(2024)
    n = 20
    s = rng.uniform(0.1, 1.0, n)
    p = symmetric(n, rng)
    result = minima(s, p)
    tol = 1e-8 * scale_of(s, p)
    assert result
    for c in result[:5]:
        assert is_local_minimum(s, p, c.blocs, tol)
    heuristic = minima(s, p, exact_limit=5, rng=0)
    assert result[0].energy <= heuristic[0].energy + tol
    assert {c.blocs for c in heuristic} <= {c.blocs for c in result}


# ---------------------------------------------------------------------------
# Heuristic path
# ---------------------------------------------------------------------------


def test_heuristic_returns_true_local_minima_and_is_deterministic():
    rng = np.random.default_rng(11)
    n = 10
    s = rng.uniform(0.1, 2.0, n)
    p = symmetric(n, rng)
    tol = 1e-8 * scale_of(s, p)
    a = minima(s, p, exact_limit=5, restarts=50, rng=123)
    b = minima(s, p, exact_limit=5, restarts=50, rng=123)
    c = minima(s, p, exact_limit=5, restarts=50, rng=np.random.default_rng(123))
    assert a == b == c
    assert a
    for conf in a:
        assert conf.blocs[0] == 0
        assert is_local_minimum(s, p, conf.blocs, tol)
        assert conf.energy == pytest.approx(energy(s, p, conf.blocs), abs=tol)
    exact = minima(s, p)
    assert {conf.blocs for conf in a} <= {conf.blocs for conf in exact}
    assert len({conf.blocs for conf in a}) == len(a)


def test_heuristic_finds_global_minimum_on_small_instance():
    rng = np.random.default_rng(3)
    n = 6
    s = rng.uniform(0.1, 2.0, n)
    p = symmetric(n, rng)
    exact = minima(s, p)
    heuristic = minima(s, p, exact_limit=3, restarts=200, rng=0)
    assert heuristic[0] == exact[0]
    assert heuristic[0].energy == pytest.approx(brute_energies(s, p).min())


def test_heuristic_on_known_four_actor_case():
    result = minima(FOUR_SIZES, FOUR_P, exact_limit=2, restarts=100, rng=5)
    assert result == minima(FOUR_SIZES, FOUR_P)


@settings(max_examples=40, deadline=None)
@given(integer_landscapes(min_n=2, max_n=8), st.integers(0, 2**32 - 1))
def test_heuristic_subset_of_exact(case, seed):
    s, p = case
    heuristic = minima(s, p, exact_limit=1, restarts=20, rng=seed)
    expected, _ = brute_minima(s, p)
    assert {c.blocs for c in heuristic} <= expected


# ---------------------------------------------------------------------------
# Configuration helpers and JSON
# ---------------------------------------------------------------------------


def test_groups_actor_zero_first_and_empty_second():
    assert Configuration((1, 0, 1), 0.0).groups(["a", "b", "c"]) == [["a", "c"], ["b"]]
    assert Configuration((0, 0), 0.0).groups(["a", "b"]) == [["a", "b"], []]
    with pytest.raises(ValueError, match="one name per actor"):
        Configuration((0, 0), 0.0).groups(["a"])


def test_configuration_is_frozen():
    c = Configuration((0, 1), -1.0)
    with pytest.raises(AttributeError):
        c.energy = 0.0  # type: ignore[misc]


def test_minima_as_json_sorts_and_serialises():
    configs = minima(FOUR_SIZES, FOUR_P)
    out = minima_as_json(list("ABCD"), list(reversed(configs)))
    assert [m["energy"] for m in out["minima"]] == [-6.0, -4.0]
    assert json.loads(json.dumps(out)) == out
    assert minima_as_json(["A"], []) == {"minima": []}
    with pytest.raises(ValueError, match="one bloc per name"):
        minima_as_json(["A", "B"], configs)


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------

BAD_INPUTS = [
    ([1, 1, 1], np.zeros((3, 2)), ["square n x n", "got 3 x 2"]),
    ([1, 1], np.zeros((3, 3)), ["square n x n", "3 x 3", "2 actors"]),
    ([1, 1, 1], [0, 0, 0], ["square n x n", "1 dimension"]),
    ([1, 1], [[0, 1], [0]], ["square n x n", "ragged"]),
    (
        [1, 1, 1],
        [[0, 0, 0], [0, 0, 1], [0, 0.5, 0]],
        ["symmetric", "propensity[1][2] = 1", "propensity[2][1] = 0.5"],
    ),
    ([1, -0.5], np.zeros((2, 2)), ["sizes[1]", "-0.5", "size must be >= 0"]),
    ([1, float("nan")], np.zeros((2, 2)), ["sizes[1]", "nan", "finite"]),
    ([1, 1], [[0, float("inf")], [float("inf"), 0]], ["propensity[0][1]", "finite"]),
    ([[1, 1]], np.zeros((2, 2)), ["sizes must be a 1-D", "(1, 2)"]),
    ([], np.zeros((0, 0)), ["at least one actor"]),
    (["a", "b"], np.zeros((2, 2)), ["sizes must be a 1-D sequence of numbers"]),
]


@pytest.mark.parametrize(("sizes", "propensity", "facts"), BAD_INPUTS)
def test_validate_errors_are_one_clear_line(sizes, propensity, facts):
    for call in (
        lambda: validate(sizes, propensity),
        lambda: minima(sizes, propensity),
        lambda: energy(sizes, propensity, [0] * max(1, len(sizes))),
        lambda: frustration(sizes, propensity, [0] * max(1, len(sizes))),
    ):
        with pytest.raises(ValueError) as info:
            call()
        msg = str(info.value)
        assert "\n" not in msg
        for fact in facts:
            assert fact in msg, (fact, msg)


def test_validate_accepts_tiny_asymmetry_and_returns_float_arrays():
    p = [[0, 1.0], [1.0 + 1e-12, 0]]
    s, q = validate([1, 2], p)
    assert s.dtype == float and q.dtype == float
    assert q.shape == (2, 2) and s.shape == (2,)
    with pytest.raises(ValueError, match="symmetric"):
        validate([1, 2], [[0, 1.0], [1.0 + 1e-6, 0]])


def test_validate_does_not_alias_inputs():
    sizes = np.array([1.0, 2.0])
    p = np.zeros((2, 2))
    s, q = validate(sizes, p)
    s[0] = 99.0
    q[0, 0] = 99.0
    assert sizes[0] == 1.0 and p[0, 0] == 0.0


@pytest.mark.parametrize(
    ("blocs", "facts"),
    [
        ([0, 1], ["one 0/1 entry per actor", "3 actors"]),
        ([0, 2, 1], ["blocs[1] is 2", "0 or 1"]),
        (["a", "b", "c"], ["0/1"]),
    ],
)
def test_bad_blocs(blocs, facts):
    for fn in (energy, frustration):
        with pytest.raises(ValueError) as info:
            fn([1, 1, 1], np.zeros((3, 3)), blocs)
        msg = str(info.value)
        assert "\n" not in msg
        for fact in facts:
            assert fact in msg


def test_minima_option_errors():
    s, p = [1.0, 1.0], np.zeros((2, 2))
    with pytest.raises(ValueError, match="restarts must be an int >= 1"):
        minima(s, p, restarts=0)
    with pytest.raises(ValueError, match="exact_limit must be an int >= 0"):
        minima(s, p, exact_limit=-1)
    with pytest.raises(TypeError, match="restarts must be an int"):
        minima(s, p, restarts=2.5)
    with pytest.raises(TypeError, match="exact_limit must be an int"):
        minima(s, p, exact_limit=True)
    with pytest.raises(TypeError):
        minima(s, p, 5)  # type: ignore[misc]  # options are keyword-only


# ---------------------------------------------------------------------------
# YAML loading
# ---------------------------------------------------------------------------


def test_load_example_file():
    names, sizes, p = load_landscape(EXAMPLE)
    assert names == ["Russia", "Belarus", "Kazakhstan", "Armenia", "Azerbaijan"]
    np.testing.assert_array_equal(sizes, [1.0, 0.15, 0.3, 0.1, 0.15])
    assert p.shape == (5, 5)
    np.testing.assert_array_equal(p, p.T)
    assert p[0, 1] == 0.9  # Russia-Belarus
    assert p[3, 4] == -1.0  # Armenia-Azerbaijan
    result = minima(sizes, p)
    out = minima_as_json(names, result)
    first = out["minima"][0]["blocs"]
    assert "Russia" in first[0]
    # Armenia and Azerbaijan (strongly negative propensity) end up apart
    assert ("Armenia" in first[0]) != ("Azerbaijan" in first[0])


def test_load_round_trip(tmp_path):
    names, sizes, p = load_landscape(EXAMPLE)
    doc = {
        "description": "round trip",
        "actors": [{"name": n, "size": float(s)} for n, s in zip(names, sizes, strict=True)],
        "propensity": p.tolist(),
    }
    path = tmp_path / "copy.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    names2, sizes2, p2 = load_landscape(str(path))
    assert names2 == names
    np.testing.assert_array_equal(sizes2, sizes)
    np.testing.assert_array_equal(p2, p)


def test_load_integer_values_and_no_description(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text(
        "actors:\n  - {name: USSR, size: 1}\n  - {name: Germany, size: 0.8}\n"
        "propensity:\n  - [0, -1]\n  - [-1, 0]\n",
        encoding="utf-8",
    )
    names, sizes, p = load_landscape(path)
    assert names == ["USSR", "Germany"]
    assert sizes.dtype == float and p.dtype == float
    assert minima(sizes, p)[0].energy == pytest.approx(-1.6)


GOOD_ACTORS = "actors:\n  - {name: A, size: 1}\n  - {name: B, size: 2}\n"
GOOD_P = "propensity:\n  - [0, 1]\n  - [1, 0]\n"

BAD_FILES = [
    ("actors: [unclosed\n", ["not valid YAML", "line"]),
    ("", ["top level must be a mapping", "empty document"]),
    ("- a\n- b\n", ["top level must be a mapping", "list"]),
    ("just a string\n", ["top level must be a mapping", "string"]),
    (GOOD_ACTORS + GOOD_P + "extra: 1\n", ["unknown top-level key 'extra'", "allowed"]),
    (GOOD_ACTORS, ["missing required top-level key 'propensity'"]),
    (GOOD_P, ["missing required top-level key 'actors'"]),
    (GOOD_ACTORS + GOOD_P + "description: [1]\n", ["description must be a string"]),
    ("actors: {A: 1}\n" + GOOD_P, ["actors must be a non-empty list", "mapping"]),
    ("actors: []\n" + GOOD_P, ["actors must be a non-empty list", "empty list"]),
    ("actors:\n  - A\n  - B\n" + GOOD_P, ["actors[0]: must be a mapping"]),
    (
        "actors:\n  - {name: A, size: 1}\n  - {name: B}\n" + GOOD_P,
        ["actors[1]: missing key 'size'"],
    ),
    (
        "actors:\n  - {size: 1}\n  - {name: B, size: 1}\n" + GOOD_P,
        ["actors[0]: missing key 'name'"],
    ),
    (
        "actors:\n  - {name: A, size: 1, colour: red}\n  - {name: B, size: 1}\n" + GOOD_P,
        ["actors[0]: unknown key 'colour'", "name, size"],
    ),
    (
        "actors:\n  - {name: A, size: 1}\n  - {name: A, size: 1}\n" + GOOD_P,
        ["actors[1].name: duplicate name 'A'", "actors[0]"],
    ),
    (
        "actors:\n  - {name: 12, size: 1}\n  - {name: B, size: 1}\n" + GOOD_P,
        ["actors[0].name", "non-empty string"],
    ),
    (
        "actors:\n  - {name: A, size: big}\n  - {name: B, size: 1}\n" + GOOD_P,
        ["actors[0].size: 'big' is not a number"],
    ),
    (
        "actors:\n  - {name: A, size: true}\n  - {name: B, size: 1}\n" + GOOD_P,
        ["actors[0].size: True is not a number"],
    ),
    (
        "actors:\n  - {name: A, size: .inf}\n  - {name: B, size: 1}\n" + GOOD_P,
        ["actors[0].size", "not finite"],
    ),
    (GOOD_ACTORS + "propensity: 5\n", ["propensity must be a list of rows"]),
    (GOOD_ACTORS + "propensity: [1, 2]\n", ["propensity must be a list of rows"]),
    (
        GOOD_ACTORS + "propensity:\n  - [0, x]\n  - [1, 0]\n",
        ["propensity[0][1]: 'x' is not a number"],
    ),
    (
        GOOD_ACTORS + "propensity:\n  - [0, .nan]\n  - [.nan, 0]\n",
        ["propensity[0][1]", "not finite"],
    ),
    (
        GOOD_ACTORS + "propensity:\n  - [0, 1]\n",
        ["propensity has 1 rows but there are 2 actors", "2 x 2"],
    ),
    (
        GOOD_ACTORS + "propensity:\n  - [0, 1, 2]\n  - [1, 0, 2]\n",
        ["propensity[0] has 3 entries but there are 2 actors"],
    ),
    (
        GOOD_ACTORS + "propensity:\n  - [0, 1]\n  - [0.5, 0]\n",
        ["not symmetric", "propensity[0][1] = 1", "propensity[1][0] = 0.5", "A-B"],
    ),
]


@pytest.mark.parametrize(("content", "facts"), BAD_FILES)
def test_load_bad_files(tmp_path, content, facts):
    path = tmp_path / "bad.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError) as info:
        load_landscape(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: ")
    assert "\n" not in msg
    for fact in facts:
        assert fact in msg, (fact, msg)


def test_load_negative_size_exact_message(tmp_path):
    path = tmp_path / "neg.yaml"
    path.write_text(
        "actors:\n  - {name: A, size: 1}\n  - {name: B, size: 1}\n"
        "  - {name: C, size: -1}\n"
        "propensity:\n  - [0, 0, 0]\n  - [0, 0, 0]\n  - [0, 0, 0]\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError) as info:
        load_landscape(path)
    assert str(info.value) == f"{path}: actors[2].size: -1 is negative; sizes must be >= 0"


def test_load_missing_file_directory_and_binary(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ValueError) as info:
        load_landscape(missing)
    assert str(info.value) == f"{missing}: file not found"

    with pytest.raises(ValueError) as info:
        load_landscape(tmp_path)
    msg = str(info.value)
    assert msg.startswith(f"{tmp_path}: ") and "\n" not in msg

    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(ValueError) as info:
        load_landscape(binary)
    msg = str(info.value)
    assert msg.startswith(f"{binary}: ") and "UTF-8" in msg and "\n" not in msg


def test_load_rejects_python_tags(tmp_path):
    # safe_load only: arbitrary Python object tags must not be constructed.
    path = tmp_path / "evil.yaml"
    path.write_text("!!python/object/apply:os.system ['echo hi']\n", encoding="utf-8")
    with pytest.raises(ValueError) as info:
        load_landscape(path)
    assert str(info.value).startswith(f"{path}: line 1: the YAML tag !!python/object/apply:os.system")


def test_search_counts_every_minimum_and_returns_the_lowest_first():
    from model.landscape import minima, search

    sizes, flat = np.ones(6), np.zeros((6, 6))
    found, count = search(sizes, flat, limit=4)
    assert count == len(minima(sizes, flat)) == 32
    assert [c.blocs for c in found] == [c.blocs for c in minima(sizes, flat)[:4]]
    with pytest.raises(TypeError, match="limit must be an int"):
        search(sizes, flat, limit="4")
    with pytest.raises(ValueError, match="limit must be an int >= 0"):
        search(sizes, flat, limit=-1)
