"""Experiment designs: the schema, the loader and the samplers.

A design is a YAML file in ``experiments/`` naming a base scenario, the factors
to vary (any numeric key path of the scenario, e.g. ``powers.russia.pressure``
or ``states.KAZ.hedging``) with value lists or ranges, a sampler, the number of
replications and quarters, the outputs to keep and a master seed.

Designs go through the same machinery as scenarios (:mod:`model.scenario`): a
pydantic model that rejects unknown keys, :func:`~model.scenario.read_yaml`, and
one-line :class:`~model.errors.ScenarioError` messages naming the file, the key
path, the bad value and what is allowed. Factor paths and ranges are checked
against the scenario schema (its ``ge``/``le`` bounds) when the design is loaded,
before any run. Joint constraints of the scenario (e.g. a ladder's thresholds must
stay ordered) can only be checked per sampled point; a point that breaks one is a
failed run, recorded by the sweep.

Integer key paths (e.g. ``institutions.patience``) take sampled values rounded to
the nearest whole number, and the rounded values are stored; with Morris this
makes a step slightly unequal to the sampler's delta, so prefer real-valued
factors for screening.

Samplers: the full factorial grid; Latin hypercube (McKay, Beckman and Conover
1979), Sobol sequences with Saltelli's scheme (Saltelli et al. 2010) and Morris
elementary-effects trajectories (Morris 1991; Campolongo, Cariboni and Saltelli
2007), the last three through SALib (Herman and Usher 2017; Iwanaga, Usher and
Herman 2022).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, Self, get_args, get_origin

import annotated_types
import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from experiments.posterior import ParameterDraws, parameter_draws
from model.errors import ScenarioError
from model.extras import require
from model.model import MODEL_FIELDS
from model.scenario import (
    Number,
    Scenario,
    Whole,
    describe_error,
    load_scenario,
    package_folder,
    read_yaml,
    resolve_path,
)

#: Folder of the designs shipped with the project (``experiments/designs/``, package ``experiments.designs``).
DESIGN_DIR = package_folder("experiments.designs")

#: End-of-run measures a design can keep: every numeric column of the model table.
MEASURES: tuple[str, ...] = tuple(name for name in MODEL_FIELDS if name != "quarter")

SAMPLERS = ("grid", "latin", "sobol", "morris")

#: Largest seed accepted (seeds are stored as signed 64-bit integers).
MAX_SEED = 2**63 - 1


class _Strict(BaseModel):
    # Numbers are finite and never booleans (``Number``, ``Whole``), as in a scenario.
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True, allow_inf_nan=False)


# --------------------------------------------------------------------------- schema


def _factor_input(value: Any) -> Any:
    """Accept a list of values or a mapping; say what is allowed otherwise."""
    if isinstance(value, list | tuple):
        if not value:
            raise ValueError("empty list of values; give at least one value or {min, max}")
        return {"values": list(value)}
    if isinstance(value, dict):
        return value
    raise ValueError(
        f"{value!r} is neither a list of values nor a range; write [0.1, 0.5] or "
        "{min: 0.1, max: 0.9, num: 5}"
    )


class FactorSpec(_Strict):
    """Values of one factor: a list of values (grid only) or a range."""

    values: list[Number] | None = Field(None, description="The values to run (grid sampler).")
    min: Number | None = Field(None, description="Lower end of the range.")
    max: Number | None = Field(None, description="Upper end of the range.")
    num: Whole | None = Field(
        None, ge=2, le=100_000, description="Evenly spaced values from min to max (grid sampler)."
    )

    @model_validator(mode="after")
    def _shape(self) -> Self:
        ranged = self.min is not None or self.max is not None
        if self.values is not None:
            if ranged or self.num is not None:
                raise ValueError("give either a list of values or {min, max[, num]}, not both")
            if not all(math.isfinite(v) for v in self.values):
                raise ValueError(f"values must be finite numbers (got {self.values})")
            return self
        if self.min is None or self.max is None:
            raise ValueError("a range needs both min and max")
        if not (math.isfinite(self.min) and math.isfinite(self.max)):
            raise ValueError(f"range ends must be finite (got min {self.min}, max {self.max})")
        if self.min >= self.max:
            raise ValueError(
                f"empty range: min {self.min:g} is not below max {self.max:g}; "
                "for a single value write [value]"
            )
        return self


Factor = Annotated[FactorSpec, BeforeValidator(_factor_input)]


class Sampler(_Strict):
    """How points are drawn from the factor space."""

    method: Literal["grid", "latin", "sobol", "morris"] = Field(
        "grid",
        description="grid: full factorial; latin: Latin hypercube; sobol: Saltelli's scheme for "
        "Sobol indices; morris: elementary-effects trajectories.",
    )
    n: Whole | None = Field(
        None,
        ge=1,
        le=2**24,
        description="latin: number of points; sobol: base sample size N (a power of two).",
    )
    second_order: bool = Field(
        False,
        description="sobol: also estimate second-order indices (N*(2D+2) points instead of N*(D+2)).",
    )
    trajectories: Whole | None = Field(
        None, ge=2, le=100_000, description="morris: number of trajectories (each D+1 points)."
    )
    levels: Whole = Field(4, ge=2, le=100, description="morris: grid levels per factor (even).")

    @model_validator(mode="after")
    def _parameters(self) -> Self:
        need = {"latin": "n", "sobol": "n", "morris": "trajectories"}.get(self.method)
        if need and getattr(self, need) is None:
            raise ValueError(f"the {self.method} sampler needs {need}")
        if self.method in ("grid", "morris") and self.n is not None:
            raise ValueError(f"n does not apply to the {self.method} sampler")
        if self.method != "morris" and self.trajectories is not None:
            raise ValueError(f"trajectories applies to the morris sampler, not {self.method}")
        if self.method != "sobol" and self.second_order:
            raise ValueError(f"second_order applies to the sobol sampler, not {self.method}")
        if self.method == "sobol" and self.n & (self.n - 1):
            low = 1 << (self.n.bit_length() - 1)
            raise ValueError(
                f"n = {self.n} is not a power of two; Sobol sampling needs one (nearest: {low} or {2 * low})"
            )
        if self.method == "morris" and self.levels % 2:
            raise ValueError(
                f"levels = {self.levels} is odd; Morris sampling needs an even number "
                f"(e.g. {self.levels + 1})"
            )
        return self


class Series(_Strict):
    """Per-step series to keep (opt-in; large)."""

    every: Whole = Field(1, ge=1, le=400, description="Keep every k-th quarter (and the last).")
    measures: list[str] | None = Field(
        None, min_length=1, description="Measures to keep per step (default: the run measures)."
    )


class Outputs(_Strict):
    """What each run keeps."""

    measures: list[str] | None = Field(
        None,
        min_length=1,
        description="End-of-run measures to keep (default: every numeric model measure).",
    )
    series: Series | None = Field(None, description="Per-step series (omitted: none).")


class Design(_Strict):
    """A batch experiment: factors over a base scenario, sampled and replicated."""

    name: str = Field(pattern=r"^[a-z0-9_]+$", description="Unique snake_case name.")
    description: str = Field(min_length=1, description="One line saying what the design asks.")
    scenario: str = Field(
        "baseline", min_length=1, description="Base scenario: a built-in name or a YAML path."
    )
    factors: dict[str, Factor] = Field(
        min_length=1, description="Factors keyed by scenario key path, e.g. powers.russia.pressure."
    )
    sampler: Sampler = Field(default_factory=Sampler, description="How points are drawn.")
    replications: Whole = Field(1, ge=1, le=100_000, description="Runs per point, each with its own seed.")
    quarters: Whole | None = Field(
        None, ge=1, le=400, description="Quarters per run (default: the scenario's horizon)."
    )
    outputs: Outputs = Field(default_factory=Outputs, description="What each run keeps.")
    seed: Whole = Field(ge=0, le=MAX_SEED, description="Master seed; run i gets child i of it.")
    parameters: Literal["posterior", "median"] = Field(
        "posterior",
        description="The calibrated behavioural parameters: drawn from the posterior per replication "
        "(where the scenario holds their median and no factor sets them), or the scenario's own "
        "values (median).",
    )


# --------------------------------------------------------------------------- factor paths


@dataclass(frozen=True)
class FactorInfo:
    """A factor after checking its key path against the scenario schema.

    Attributes:
        path: dotted key path in the scenario (also the column name in the store).
        integer: the scenario field is an integer (sampled values are rounded).
        values: the grid values (None for a range sampled by latin, sobol or morris).
        low: lower end of the range (or smallest value).
        high: upper end of the range (or largest value).
    """

    path: str
    integer: bool
    values: tuple[float, ...] | None
    low: float
    high: float

    def as_json(self) -> dict[str, Any]:
        """The factor as written in the resolved design."""
        spec: dict[str, Any] = {"integer": self.integer}
        if self.values is not None:
            spec["values"] = list(self.values)
        else:
            spec.update(min=self.low, max=self.high)
        return spec


def _bounds(metadata: list[Any]) -> tuple[float, float, bool, bool]:
    """Lower and upper bounds from a pydantic field's metadata, and whether each is strict."""
    low, high, low_strict, high_strict = -math.inf, math.inf, False, False
    for item in metadata:
        if isinstance(item, annotated_types.Ge):
            low = item.ge
        elif isinstance(item, annotated_types.Gt):
            low, low_strict = item.gt, True
        elif isinstance(item, annotated_types.Le):
            high = item.le
        elif isinstance(item, annotated_types.Lt):
            high, high_strict = item.lt, True
    return low, high, low_strict, high_strict


def _allowed(low: float, high: float, low_strict: bool, high_strict: bool) -> str:
    left = "(" if low_strict else "["
    right = ")" if high_strict else "]"
    return f"{left}{low:g}, {high:g}{right}"


def _leaf(path: str, scenario: Scenario) -> tuple[bool, tuple[float, float, bool, bool]]:
    """Walk a key path through the schema and the base scenario; return (integer, bounds).

    Raises:
        ValueError: an unknown key path, or a key that is not a number.
    """
    parts = path.split(".")
    node: Any = Scenario
    data: Any = scenario.model_dump(mode="json")
    for i, part in enumerate(parts):
        here = ".".join(parts[:i]) or "the top level"
        last = i == len(parts) - 1
        if isinstance(node, tuple):  # a mapping keyed by data (states, ties, conflicts)
            if part not in data:
                raise ValueError(
                    f"unknown key path ({part!r} is not in the base scenario's {here}; "
                    f"keys there: {', '.join(data)})"
                )
            node, data = node[1], data[part]
            if last:
                raise ValueError(f"{path} is a group of keys, not a number")
            continue
        fields = node.model_fields
        if part not in fields:
            raise ValueError(f"unknown key path ({part!r} not found; keys at {here}: {', '.join(fields)})")
        info = fields[part]
        annotation = info.annotation
        if last:
            if path == "horizon":
                raise ValueError("horizon cannot be a factor; set the design's quarters instead")
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                raise ValueError(
                    f"{path} is a group of keys ({', '.join(annotation.model_fields)}), not a number"
                )
            if annotation not in (int, float):
                kind = getattr(annotation, "__name__", str(annotation))
                raise ValueError(f"{path} is not a number (it is {kind}); only numeric keys can be factors")
            return annotation is int, _bounds(info.metadata)
        data = data[part]
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            node = annotation
        elif get_origin(annotation) is dict:
            node = ("mapping", get_args(annotation)[1])
        else:
            raise ValueError(f"{'.'.join(parts[: i + 1])} is a single value, not a group of keys")
    raise ValueError("empty key path")  # unreachable: split never returns no parts


def _check_factor(path: str, spec: FactorSpec, scenario: Scenario, method: str) -> FactorInfo:
    integer, (low, high, low_strict, high_strict) = _leaf(path, scenario)
    if spec.values is not None and method != "grid":
        raise ValueError(f"a list of values needs the grid sampler; the {method} sampler needs {{min, max}}")
    if spec.values is None and method == "grid" and spec.num is None:
        raise ValueError("a range on the grid sampler needs num (how many values)")
    if spec.num is not None and method != "grid":
        raise ValueError(f"num applies to the grid sampler only, not {method}")
    ends = spec.values if spec.values is not None else [spec.min, spec.max]
    for value in ends:
        if value < low or value > high or (low_strict and value == low) or (high_strict and value == high):
            raise ValueError(
                f"{value:g} is out of range; allowed {_allowed(low, high, low_strict, high_strict)}"
            )
    if integer and spec.values is not None:
        bad = [v for v in spec.values if v != int(v)]
        if bad:
            raise ValueError(f"{path} is a whole number; got {bad[0]:g}")
    if spec.values is not None:
        values = tuple(float(v) for v in spec.values)
    elif method == "grid":
        values = tuple(np.linspace(spec.min, spec.max, spec.num).tolist())
        if integer:
            values = tuple(dict.fromkeys(float(round(v)) for v in values))
    else:
        values = None
    return FactorInfo(
        path=path,
        integer=integer,
        values=values,
        low=float(min(ends)),
        high=float(max(ends)),
    )


# --------------------------------------------------------------------------- resolved design


@dataclass(frozen=True)
class ResolvedDesign:
    """A validated design with its base scenario loaded and its factors checked.

    Attributes:
        design: the design as written (validated).
        source: the design file, for messages.
        scenario: the base scenario, resolved and validated.
        factors: the checked factors, in the order written.
        quarters: quarters per run.
        measures: end-of-run measures kept.
        every: thinning of the per-step series, or None for no series.
        series_measures: measures kept per step.
    """

    design: Design
    source: str
    scenario: Scenario
    factors: tuple[FactorInfo, ...]
    quarters: int
    measures: tuple[str, ...]
    every: int | None
    series_measures: tuple[str, ...]

    @property
    def name(self) -> str:
        """The design's name."""
        return self.design.name

    @property
    def paths(self) -> tuple[str, ...]:
        """Factor key paths, in order (the factor columns of the store)."""
        return tuple(f.path for f in self.factors)

    @property
    def method(self) -> str:
        """The sampler's method."""
        return self.design.sampler.method

    @property
    def replications(self) -> int:
        """Runs per point."""
        return self.design.replications

    @property
    def seed(self) -> int:
        """The master seed."""
        return self.design.seed

    @property
    def n_points(self) -> int:
        """Number of distinct factor points the sampler yields."""
        sampler, d = self.design.sampler, len(self.factors)
        if sampler.method == "grid":
            return math.prod(len(f.values) for f in self.factors)
        if sampler.method == "latin":
            return sampler.n
        if sampler.method == "sobol":
            return sampler.n * (2 * d + 2 if sampler.second_order else d + 2)
        return sampler.trajectories * (d + 1)

    @property
    def n_runs(self) -> int:
        """Number of runs: points times replications."""
        return self.n_points * self.replications

    def problem(self) -> dict[str, Any]:
        """The SALib problem (names and bounds) of the factors."""
        return {
            "num_vars": len(self.factors),
            "names": list(self.paths),
            "bounds": [[f.low, f.high] for f in self.factors],
        }

    def sampler_seed(self) -> int:
        """Seed of the sampler, drawn from the master seed's own entropy pool.

        Run seeds are the master's spawned children, so the sampler's stream does
        not overlap any run's.
        """
        return int(np.random.SeedSequence(self.seed).generate_state(1, dtype=np.uint32)[0])

    def sample(self) -> np.ndarray:
        """The factor points, one row per point in the sampler's order (cached).

        Returns:
            Array of shape (n_points, number of factors); integer factors rounded.
        """
        return self._points

    @cached_property
    def _points(self) -> np.ndarray:
        sampler = self.design.sampler
        if sampler.method == "grid":
            points = np.array(list(itertools.product(*(f.values for f in self.factors))), float)
        elif sampler.method == "latin":
            latin = require("SALib.sample.latin", "experiments", "the latin sampler")
            points = latin.sample(self.problem(), sampler.n, seed=self.sampler_seed())
        elif sampler.method == "sobol":
            sobol = require("SALib.sample.sobol", "experiments", "the sobol sampler")
            points = sobol.sample(
                self.problem(),
                sampler.n,
                calc_second_order=sampler.second_order,
                scramble=True,
                seed=self.sampler_seed(),
            )
        else:
            morris = require("SALib.sample.morris", "experiments", "the morris sampler")
            points = morris.sample(
                self.problem(),
                sampler.trajectories,
                num_levels=sampler.levels,
                seed=self.sampler_seed(),
            )
        points = np.ascontiguousarray(points, dtype=float).reshape(self.n_points, len(self.factors))
        for k, factor in enumerate(self.factors):
            if factor.integer:
                points[:, k] = np.round(points[:, k])
        return points

    def sample_digest(self) -> str:
        """SHA-256 of the sample matrix (detects a sampler that changed between versions)."""
        return hashlib.sha256(self.sample().tobytes()).hexdigest()

    def as_json(self) -> dict[str, Any]:
        """The design as resolved: what was asked, with the base scenario written out."""
        sampler = self.design.sampler.model_dump(mode="json")
        return {
            "name": self.name,
            "description": self.design.description,
            "scenario": {
                "name": self.scenario.name,
                "digest": self.scenario.digest(),
                "resolved": self.scenario.model_dump(mode="json"),
            },
            "factors": {f.path: f.as_json() for f in self.factors},
            "sampler": sampler,
            "replications": self.replications,
            "quarters": self.quarters,
            "outputs": {
                "measures": list(self.measures),
                "series": None
                if self.every is None
                else {"every": self.every, "measures": list(self.series_measures)},
            },
            "seed": self.seed,
            "n_points": self.n_points,
            "n_runs": self.n_runs,
            "parameters": {"mode": self.design.parameters, "drawn": []}
            if self.draws is None
            else self.draws.as_json(),
        }

    @cached_property
    def draws(self) -> ParameterDraws | None:
        """The calibrated parameters each replication draws from the posterior (None: none).

        See :mod:`experiments.posterior`: replication r of every point takes the same draw.
        """
        return parameter_draws(self.scenario, seed=self.seed, mode=self.design.parameters, fixed=self.paths)

    @cached_property
    def digest(self) -> str:
        """SHA-256 of the resolved design, stable across key order."""
        text = json.dumps(self.as_json(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------------------- loading


def available_designs(folder: Path = DESIGN_DIR) -> list[Path]:
    """The design files in ``folder``, sorted by name."""
    return sorted(folder.glob("*.yaml"))


def resolve_design_path(name_or_path: str | Path, *, folder: Path = DESIGN_DIR) -> Path:
    """Find a design by path, or by bare name in the designs folder.

    Raises:
        ScenarioError: no such file.

    """
    return resolve_path(name_or_path, folder=folder, kind="design")


def _design_fields_at(loc: tuple[Any, ...]) -> list[str]:
    """Allowed keys of the design schema object at ``loc`` (for unknown-key messages)."""
    node: Any = Design
    for item in loc:
        if node is Design and item == "factors":
            node = FactorSpec
            continue
        if node is FactorSpec and item not in FactorSpec.model_fields:
            continue  # a factor's key path
        field_info = getattr(node, "model_fields", {}).get(item)
        if field_info is None:
            return []
        annotation = field_info.annotation
        inner = [a for a in (annotation, *get_args(annotation)) if isinstance(a, type)]
        node = next((a for a in inner if issubclass(a, BaseModel)), None)
    return list(getattr(node, "model_fields", {}))


def _describe(exc: ValidationError) -> str:
    """One line for a design's validation error (scenario machinery, design key names)."""
    err = exc.errors(include_url=False)[0]
    if err["type"] == "extra_forbidden":
        loc = tuple(err["loc"])
        path = ".".join(str(p) for p in loc)
        allowed = ", ".join(_design_fields_at(loc[:-1])) or "none"
        text = f"{path}: unknown key {loc[-1]!r}; allowed keys here: {allowed}"
        more = len(exc.errors()) - 1
        return text + (f" [and {more} more problem{'s' if more > 1 else ''}]" if more else "")
    return describe_error(exc)


def _base_scenario(reference: str, design_file: Path) -> Scenario:
    local = design_file.parent / reference
    for candidate in (local, local.with_suffix(".yaml")):
        if candidate.is_file() and candidate.suffix in (".yaml", ".yml"):
            return load_scenario(candidate)
    return load_scenario(reference)


def validate_design(data: dict[str, Any], *, source: str | Path) -> ResolvedDesign:
    """Validate a design mapping, load its base scenario and check its factors.

    Args:
        data: the design as read from YAML.
        source: the design file; names it in errors and anchors relative scenario paths.

    Returns:
        The resolved design.

    Raises:
        ScenarioError: the first problem, in one line naming the file and the key path.
    """
    source = Path(source)
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: a design is a mapping of keys, not {type(data).__name__}")
    try:
        design = Design.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{source}: {_describe(exc)}") from None
    try:
        scenario = _base_scenario(design.scenario, source)
    except ScenarioError as exc:
        raise ScenarioError(f"{source}: scenario: {exc}") from None
    factors = []
    for path, spec in design.factors.items():
        try:
            factors.append(_check_factor(path, spec, scenario, design.sampler.method))
        except ValueError as exc:
            raise ScenarioError(f"{source}: factors.{path}: {exc}") from None
    measures = tuple(design.outputs.measures or MEASURES)
    series = design.outputs.series
    series_measures = tuple(series.measures or measures) if series else ()
    for where, names in (("outputs.measures", measures), ("outputs.series.measures", series_measures)):
        for name in names:
            if name not in MEASURES:
                raise ScenarioError(
                    f"{source}: {where}: unknown measure {name!r}; allowed: {', '.join(MEASURES)}"
                )
        if len(set(names)) != len(names):
            raise ScenarioError(f"{source}: {where}: a measure is listed twice")
    return ResolvedDesign(
        design=design,
        source=str(source),
        scenario=scenario,
        factors=tuple(factors),
        quarters=design.quarters or scenario.horizon,
        measures=measures,
        every=series.every if series else None,
        series_measures=series_measures,
    )


def load_design(name_or_path: str | Path, **overrides: Any) -> ResolvedDesign:
    """Load and validate a design file.

    Args:
        name_or_path: a YAML path, or the name of a design in ``experiments/``.
        **overrides: top-level keys replaced before validation (e.g. ``quarters=4``),
            for tests and quick checks.

    Returns:
        The resolved design.

    Raises:
        ScenarioError: a one-line message naming the file, the key path and what is allowed.
    """
    if not isinstance(name_or_path, str | os.PathLike) or not str(name_or_path).strip():
        raise ScenarioError(f"design: {name_or_path!r} is not a design; allowed a design name or a YAML path")
    path = resolve_design_path(name_or_path).resolve()
    data = read_yaml(path)
    data.update(overrides)
    return validate_design(data, source=path)
