"""The scenario schema: the only place a default lives.

A scenario gives the starting drivers of every member state (trade, remittances,
energy routes, threats, hosted Russian forces, arms suppliers, hedging,
sovereignty, opinion) and their starting statuses in the CIS, CSTO and EAEU; the
levels at which Russia, the West, China and Türkiye press and court them; the
behavioural parameters of the decision rules; and scheduled shocks that change
drivers. Memberships and alignments after the start are outcomes of the model:
no key or shock can set them.

Validation turns every problem into a :class:`~model.errors.ScenarioError` whose
message is one line naming the key path, the bad value and what is allowed
(:func:`describe_error`). Reading files and ``extends:`` chains is
:mod:`model.scenario.loader`.
"""

from __future__ import annotations

import hashlib
import json
import re
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    Strict,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from model.catalogue import (
    POLES,
    STATES,
    Pole,
    StateCode,
    Status,
)
from model.errors import ScenarioError
from model.safe_yaml import clip, show

SHARE_TOLERANCE = 1e-3
_QUARTER = re.compile(r"^(\d{4})[-\s]?Q([1-4])$")


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a whole number is expected, not true/false")
    return value


#: A number: an int or a float, never a boolean or a string (pydantic strict mode).
Number = Annotated[float, Strict()]
#: A whole number, never a boolean, a float or a quoted number.
Whole = Annotated[int, BeforeValidator(_not_bool), Strict()]
#: A number in [0, 1].
Unit = Annotated[float, Strict(), Field(ge=0.0, le=1.0)]

#: Largest economic weight accepted, billion US$ (world GDP is about 110,000).
MAX_ECONOMIC_WEIGHT = 100_000.0
#: Longest scenario description and note, in characters.
MAX_TEXT = 1_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True, allow_inf_nan=False)


# --------------------------------------------------------------------------- dates


@dataclass(frozen=True, order=True)
class Quarter:
    """A calendar quarter, written ``2025Q1`` in YAML."""

    year: int
    q: int

    @classmethod
    def parse(cls, value: Any) -> Quarter:
        """Read ``2025Q1`` (also ``2025-Q1``, a date, or a Quarter).

        Raises:
            ValueError: not a quarter between 1991Q1 and 2100Q4.

        """
        if isinstance(value, Quarter):
            return value
        if isinstance(value, date):
            return cls(value.year, (value.month - 1) // 3 + 1)
        match = _QUARTER.match(str(value).strip())
        if not match or not 1991 <= int(match[1]) <= 2100:
            raise ValueError("not a quarter between 1991Q1 and 2100Q4; write it like 2025Q1")
        return cls(int(match[1]), int(match[2]))

    def __str__(self) -> str:
        return f"{self.year}Q{self.q}"

    @property
    def index(self) -> int:
        """Quarters since year 0, so that differences count quarters."""
        return self.year * 4 + self.q - 1

    def plus(self, quarters: int) -> Quarter:
        """The quarter ``quarters`` later."""
        i = self.index + quarters
        return Quarter(i // 4, i % 4 + 1)

    def first_day(self) -> date:
        """The first calendar day of the quarter."""
        return date(self.year, 3 * (self.q - 1) + 1, 1)

    def last_day(self) -> date:
        """The last calendar day of the quarter."""
        return date(self.year, 3 * self.q, 31 if self.q in (1, 4) else 30)


QuarterField = Annotated[
    Quarter,
    BeforeValidator(Quarter.parse),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d{4}-?Q[1-4]$", "examples": ["2025Q1"]}),
]


# --------------------------------------------------------------------------- shares


class _Shares(_Strict):
    """Shares over partners: each in [0, 1], summing to 1 (within 0.001)."""

    @model_validator(mode="after")
    def _sums_to_one(self) -> Self:
        total = sum(getattr(self, name) for name in type(self).model_fields)
        if abs(total - 1.0) > SHARE_TOLERANCE:
            raise ValueError(f"shares sum to {total:.4g}; they must sum to 1 (within {SHARE_TOLERANCE})")
        return self

    def as_list(self) -> list[float]:
        """Shares in catalogue order, rescaled to sum exactly to 1."""
        values = [getattr(self, name) for name in type(self).model_fields]
        total = sum(values)
        return [v / total for v in values]


class TradeShares(_Shares):
    """Shares of a state's foreign trade (exports plus imports) by partner."""

    russia: Unit = Field(description="Share of trade with Russia.")
    west: Unit = Field(description="Share of trade with the EU, US and UK.")
    china: Unit = Field(description="Share of trade with China.")
    turkey: Unit = Field(description="Share of trade with Türkiye.")
    other: Unit = Field(description="Share of trade with everyone else.")


class ArmsShares(_Shares):
    """Shares of a state's arms imports by supplier (SIPRI trend-indicator values)."""

    russia: Unit = Field(description="Share of arms imports from Russia.")
    west: Unit = Field(description="Share from the US, EU members and UK.")
    china: Unit = Field(description="Share from China.")
    turkey: Unit = Field(description="Share from Türkiye.")
    other: Unit = Field(description="Share from others (Israel, India, Belarus, ...).")


class PoleValues(_Strict):
    """A value in [0, 1] for each of the four poles."""

    russia: Unit = Field(0.0, description="Value for Russia.")
    west: Unit = Field(0.0, description="Value for the West.")
    china: Unit = Field(0.0, description="Value for China.")
    turkey: Unit = Field(0.0, description="Value for Türkiye.")

    def as_list(self) -> list[float]:
        """Values in pole order."""
        return [getattr(self, p) for p in POLES]


class Affinity(_Strict):
    """Cultural and identity proximity to the non-Russian poles, in [0, 1].

    Proximity to Russia is the dynamic ``opinion_russia`` instead.
    """

    west: Unit = Field(description="Proximity to the West (EU aspiration, diaspora).")
    china: Unit = Field(description="Proximity to China.")
    turkey: Unit = Field(description="Proximity to Türkiye (Turkic language and ties).")


class Statuses(_Strict):
    """Starting status in each Russia-led institution (an initial condition only)."""

    cis: Status = Field(description="Status in the Commonwealth of Independent States.")
    csto: Status = Field(description="Status in the Collective Security Treaty Organization.")
    eaeu: Status = Field(description="Status in the Eurasian Economic Union.")


# --------------------------------------------------------------------------- agents


class StateParams(_Strict):
    """Starting drivers of one member state (a MemberState agent)."""

    economic_weight: Number = Field(
        gt=0,
        le=MAX_ECONOMIC_WEIGHT,
        description="Size of the economy, GDP in billion US$; weights cohesion and energy.",
    )
    trade: TradeShares = Field(description="Trade shares by partner.")
    arms: ArmsShares = Field(description="Arms-import shares by supplier.")
    remittances: Unit = Field(
        description="Remittances from Russia as a share of GDP (share of GDP times share from Russia)."
    )
    energy_dependence: Unit = Field(
        description="Dependence on Russian energy supply and on transit routes through Russia."
    )
    external_threat: Unit = Field(
        description="Threat from outside the region (e.g. the Afghan border), 0 none to 1 acute."
    )
    threat_from_russia: Unit = Field(
        0.0, description="Threat the state perceives from Russia itself, 0 none to 1 at war."
    )
    russian_forces: Number = Field(
        0.0, ge=0, le=100, description="Russian troops hosted with consent, thousands."
    )
    defence_pacts: PoleValues = Field(
        default_factory=PoleValues,
        description="Strength of bilateral defence commitments by each pole, 0 none to 1 mutual defence.",
    )
    affinity: Affinity = Field(description="Cultural proximity to the West, China and Türkiye.")
    opinion_russia: Unit = Field(description="Public opinion of Russia, share favourable (survey based).")
    trust_russia: Unit = Field(
        1.0,
        description="Trust that Russia honours its guarantees, 1 full; lowered by past abandonment.",
    )
    hedging: Unit = Field(
        description="Multi-vector preference: how much the state values a spread alignment."
    )
    sovereignty: Unit = Field(description="Sovereignty sensitivity: how much coercion and dominance cost it.")
    neutral: bool = Field(
        False, description="Permanent neutrality: joins no military alliance (CSTO, air defence)."
    )
    status: Statuses = Field(description="Starting statuses in CIS, CSTO and EAEU.")
    air_defence: bool = Field(
        False, description="Starts inside the unified CIS air-defence system (agreed Dec 2024)."
    )


class PowerParams(_Strict):
    """Levels at which an external power acts (a Power agent)."""

    pressure: Unit = Field(description="Coercion: sanctions, threats, leverage, 0 none to 1 the most it can.")
    engagement: Unit = Field(
        description="Inducements: trade, credit, arms, guarantees, 0 none to 1 the most it can."
    )
    capacity: Number = Field(
        1.0, ge=0, le=3, description="Resources it spreads over the states (1 = Russia 2024)."
    )
    security_credibility: Unit = Field(description="Credibility of its security guarantees in the region.")
    arms_supply: Unit = Field(
        description="Arms it can deliver, relative to its pre-2022 level (1 = unconstrained)."
    )
    dominance: Unit = Field(description="How much aligning with it costs autonomy (hegemonic demands).")
    reaction: Number = Field(
        0.0,
        ge=-1,
        le=1,
        description="Response to a drifting state: -1 court it, 0 ignore, +1 escalate pressure.",
    )


class Powers(_Strict):
    """The four external powers."""

    russia: PowerParams = Field(description="Russia, the alliances' leader.")
    west: PowerParams = Field(description="The US, EU and NATO.")
    china: PowerParams = Field(description="China.")
    turkey: PowerParams = Field(description="Türkiye.")

    def __getitem__(self, pole: str) -> PowerParams:
        return getattr(self, pole)


# --------------------------------------------------------------------------- network


def _pair(key: Any) -> tuple[str, str]:
    """Read a pair key such as ``KAZ-KGZ`` into two state codes."""
    parts = str(key).split("-")
    if len(parts) != 2 or any(p not in STATES for p in parts):
        raise ValueError(f"{show(key)} is not a pair of state codes like KAZ-KGZ; codes: {', '.join(STATES)}")
    if parts[0] == parts[1]:
        raise ValueError(f"{show(key)} pairs a state with itself")
    return parts[0], parts[1]


Pair = Annotated[
    tuple[str, str],
    BeforeValidator(_pair),
    PlainSerializer(lambda p: f"{p[0]}-{p[1]}", return_type=str),
    WithJsonSchema({"type": "string", "pattern": "^[A-Z]{3}-[A-Z]{3}$"}),
]


class Tie(_Strict):
    """A cooperative tie along which states influence each other's alignment."""

    weight: Number = Field(gt=0, le=1, description="Strength of the tie.")
    note: str = Field("", max_length=MAX_TEXT, description="Why the tie exists.")


class Conflict(_Strict):
    """A bilateral conflict between two states (a dashed edge)."""

    intensity: Unit = Field(description="0 settled to 1 open war.")
    note: str = Field("", max_length=MAX_TEXT, description="What the conflict is.")


# --------------------------------------------------------------------------- shocks


class _Shock(_Strict):
    date: QuarterField = Field(description="Quarter in which the shock takes effect (e.g. 2026Q3).")
    delta: Number = Field(ge=-1, le=1, description="Change applied to the driver.")
    duration: Whole | None = Field(
        None, ge=1, le=400, description="Quarters it lasts; omitted means permanent."
    )
    note: str = Field(
        "", max_length=MAX_TEXT, description="What happened, with a source key where there is one."
    )


_STATE_LIST = "list of state codes or 'all'"


class StateShock(_Shock):
    """Changes a state driver: external or Russian threat, opinion of Russia, energy dependence, trust."""

    kind: Literal["threat", "opinion", "threat_from_russia", "energy_dependence", "trust"] = Field(
        description=(
            "Driver changed: threat, opinion of Russia, threat from Russia, energy dependence, "
            "trust in Russian guarantees (which then recovers at dynamics.trust_recovery)."
        )
    )
    states: list[StateCode] | Literal["all"] = Field(description=f"Affected states ({_STATE_LIST}).")


class TradeAccessShock(_Shock):
    """Opens (delta > 0) or closes (delta < 0) trade routes to a partner for some states."""

    kind: Literal["trade_access"] = Field(description="Trade-route access to a partner.")
    partner: Pole = Field(description="Trade partner whose access changes.")
    states: list[StateCode] | Literal["all"] = Field(description=f"Affected states ({_STATE_LIST}).")


class PowerShock(_Shock):
    """Changes a power's pressure, engagement, arms supply or guarantee credibility."""

    kind: Literal["pressure", "engagement", "arms_supply", "security_credibility"] = Field(
        description="Power level changed."
    )
    power: Pole = Field(description="The power whose level changes.")


class ConflictShock(_Shock):
    """A bilateral conflict flares up (delta > 0) or calms (delta < 0)."""

    kind: Literal["conflict"] = Field(description="Conflict intensity between two states.")
    states: tuple[StateCode, StateCode] = Field(description="The two parties.")


Shock = Annotated[StateShock | TradeAccessShock | PowerShock | ConflictShock, Field(discriminator="kind")]
SHOCK_KINDS = (
    "threat",
    "opinion",
    "threat_from_russia",
    "energy_dependence",
    "trust",
    "trade_access",
    "pressure",
    "engagement",
    "arms_supply",
    "security_credibility",
    "conflict",
)


# --------------------------------------------------------------------------- rules


class Weights(_Strict):
    """How a state weighs what each pole offers it (utility weights)."""

    security: Number = Field(1.0, ge=0, le=5, description="Weight of the security benefit.")
    economy: Number = Field(1.0, ge=0, le=5, description="Weight of the economic benefit.")
    autonomy: Number = Field(1.0, ge=0, le=5, description="Weight of the autonomy cost.")
    identity: Number = Field(0.6, ge=0, le=5, description="Weight of opinion and cultural affinity.")
    social: Number = Field(0.5, ge=0, le=5, description="Weight of tied neighbours' alignment.")
    inducement: Number = Field(
        0.5, ge=0, le=5, description="Economic benefit per unit of a power's inducement."
    )
    coercion: Number = Field(1.0, ge=0, le=5, description="Weight of the coercion term.")
    remittances: Number = Field(
        1.5, ge=0, le=10, description="Economic exposure per unit of remittance share of GDP."
    )
    energy: Number = Field(0.4, ge=0, le=5, description="Economic exposure per unit of energy dependence.")
    arms: Number = Field(0.4, ge=0, le=5, description="Security benefit per unit of arms share.")
    forces: Number = Field(
        0.3, ge=0, le=2, description="Added Russian guarantee (and autonomy cost) of 5,000 troops."
    )


class Dynamics(_Strict):
    """Rates of the quarterly updates."""

    adjustment: Number = Field(
        0.15, gt=0, le=1, description="Share of the gap to the preferred mix closed per quarter."
    )
    temperature: Number = Field(
        0.3, gt=0, le=5, description="Spread of the preferred mix of a state with no hedging."
    )
    hedging_temperature: Number = Field(
        0.6, ge=0, le=5, description="Added spread per unit of hedging preference."
    )
    noise: Number = Field(
        0.03,
        ge=0,
        le=1,
        description="Standard deviation of log-normal alignment noise per quarter.",
    )
    trade_drift: Number = Field(
        0.05, ge=0, le=1, description="Log-rate at which trade shares follow engagement and access."
    )
    arms_drift: Number = Field(
        0.04, ge=0, le=1, description="Log-rate at which arms shares follow supply and alignment."
    )
    opinion_recovery: Number = Field(
        0.1,
        ge=0,
        le=1,
        description="Share of the gap to its anchor that opinion closes per quarter.",
    )
    opinion_backlash: Number = Field(
        0.02,
        ge=0,
        le=1,
        description="Opinion moved per quarter per unit of coercion (or inducement).",
    )
    trust_recovery: Number = Field(
        0.005, ge=0, le=1, description="Share of lost trust in Russia regained per quarter."
    )
    abandonment: Number = Field(
        1.0,
        ge=0,
        le=5,
        description="Trust lost per unit of conflict flare-up Russia does not answer.",
    )
    reaction_gain: Number = Field(
        4.0, ge=0, le=50, description="Russian attention per unit of drift from a state's start."
    )


#: A ladder's thresholds in the order they must keep (:func:`ladder_ordered`).
RUNGS = ("leave", "step_down", "step_up", "join")


def ladder_ordered(leave: Any, step_down: Any, step_up: Any, join: Any) -> Any:
    """Whether thresholds keep ``leave <= step_down < step_up <= join``.

    The one statement of the rule: on numbers (the schema) or, elementwise, on arrays
    (every design point or posterior draw at once).
    """
    return (leave <= step_down) & (step_down < step_up) & (step_up <= join)


class Ladder(_Strict):
    """Thresholds on a state's commitment (0-1) for one institution, with hysteresis."""

    step_down: Unit = Field(description="A member below this steps down (freezes, suspends, leaves).")
    leave: Unit = Field(description="A partial member or observer below this leaves.")
    step_up: Unit = Field(description="A partial member or observer above this becomes a member.")
    join: Unit = Field(description="An outsider above this joins (or becomes observer).")
    cost: Number = Field(0.0, ge=0, le=1, description="Commitment lost per unit of sovereignty sensitivity.")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not ladder_ordered(self.leave, self.step_down, self.step_up, self.join):
            raise ValueError(
                "thresholds must satisfy leave <= step_down < step_up <= join "
                f"(got {self.leave}, {self.step_down}, {self.step_up}, {self.join})"
            )
        return self


class Institutions(_Strict):
    """Decision thresholds for exit, suspension, re-entry and summit boycotts."""

    cis: Ladder = Field(
        default_factory=lambda: Ladder(step_down=0.02, leave=0.0, step_up=0.3, join=0.5),
        description="CIS ladder: member, associate, withdrawn.",
    )
    csto: Ladder = Field(
        default_factory=lambda: Ladder(step_down=0.12, leave=0.06, step_up=0.35, join=0.5),
        description="CSTO ladder: member, frozen or suspended, withdrawn.",
    )
    eaeu: Ladder = Field(
        default_factory=lambda: Ladder(step_down=0.18, leave=0.12, step_up=0.5, join=0.9, cost=0.25),
        description="EAEU ladder: member, observer, none.",
    )
    air_defence_join: Unit = Field(0.3, description="CSTO commitment above which a state joins.")
    air_defence_leave: Unit = Field(0.12, description="CSTO commitment below which it leaves.")
    boycott: Unit = Field(
        0.15, description="A member whose commitment is below this boycotts the yearly summit."
    )
    cis_threat: Number = Field(
        0.5, ge=0, le=2, description="CIS commitment lost per unit of threat from Russia."
    )
    patience: Whole = Field(
        2, ge=1, le=20, description="Quarters a threshold must be crossed before a state acts."
    )

    def __getitem__(self, name: str) -> Ladder:
        return getattr(self, name)


# --------------------------------------------------------------------------- scenario


#: What a starting picture copies from the scenario it names (``start_from``).
PICTURE_KEYS = ("states", "powers", "ties", "conflicts")


class Picture(_Strict):
    """The observed picture a scenario starts from (``start_from``).

    The starting alignments, utilities, pressures and commitments are the model's
    equilibrium for these drivers and power levels (with the scenario's own
    behavioural parameters and starting statuses); the scenario's own drivers and
    levels act from its first quarter. A present-day scenario thus starts from the
    observed end-2024 picture whatever its levers say, and shows the response to
    its change. Written in YAML as ``start_from: <scenario name or path>``; the
    loader copies that scenario's drivers here.
    """

    name: str = Field(max_length=200, description="The scenario the picture was taken from.")
    states: dict[StateCode, StateParams] = Field(min_length=2, description="Its states' drivers.")
    powers: Powers = Field(description="Its power levels.")
    ties: dict[Pair, Tie] = Field(default_factory=dict, description="Its cooperative ties.")
    conflicts: dict[Pair, Conflict] = Field(default_factory=dict, description="Its conflicts.")


class Scenario(_Strict):
    """A complete scenario: drivers, powers, network, rules and shocks."""

    name: str = Field(pattern=r"^[a-z0-9_]+$", max_length=64, description="Unique snake_case name.")
    description: str = Field(
        min_length=1, max_length=MAX_TEXT, description="One line saying what the scenario asks."
    )
    start: QuarterField = Field(
        default_factory=lambda: Quarter(2025, 1), description="First quarter simulated."
    )
    horizon: Whole = Field(40, ge=1, le=400, description="Quarters simulated.")
    states: dict[StateCode, StateParams] = Field(min_length=2, description="Member states by code.")
    powers: Powers = Field(description="Russia, the West, China, Türkiye.")
    ties: dict[Pair, Tie] = Field(
        default_factory=dict, description="Cooperative ties, keyed by pair (e.g. KAZ-KGZ)."
    )
    conflicts: dict[Pair, Conflict] = Field(
        default_factory=dict, description="Bilateral conflicts, keyed by pair (e.g. ARM-AZE)."
    )
    weights: Weights = Field(default_factory=Weights, description="Utility weights.")
    dynamics: Dynamics = Field(default_factory=Dynamics, description="Update rates.")
    institutions: Institutions = Field(
        default_factory=Institutions, description="Membership decision thresholds."
    )
    shocks: list[Shock] = Field(default_factory=list, description="Scheduled shocks.")
    start_from: Picture | None = Field(
        None,
        description=(
            "Scenario (name or path) whose drivers and power levels give the starting picture; "
            "this scenario's own act from its first quarter. Omitted: its own drivers."
        ),
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        codes = set(self.states)
        if self.start_from is not None and set(self.start_from.states) != codes:
            raise ValueError(
                f"start_from: {clip(self.start_from.name, 80)} has the states "
                f"{', '.join(sorted(self.start_from.states))} but this scenario has "
                f"{', '.join(sorted(codes))}; a scenario with other states starts from its own picture "
                "(name itself in start_from, or leave it out)"
            )
        if self.start_from is not None:
            for field, edges in (("ties", self.start_from.ties), ("conflicts", self.start_from.conflicts)):
                for pair in edges:
                    if not set(pair) <= codes:
                        raise ValueError(
                            f"start_from.{field}: {'-'.join(pair)} names a state not in this scenario"
                        )
        for field, edges in (("ties", self.ties), ("conflicts", self.conflicts)):
            seen: set[frozenset[str]] = set()
            for pair in edges:
                key = "-".join(pair)
                for code in pair:
                    if code not in codes:
                        raise ValueError(
                            f"{field}.{key}: {code} is not in this scenario's states "
                            f"({', '.join(sorted(codes))})"
                        )
                if frozenset(pair) in seen:
                    raise ValueError(f"{field}.{key}: this pair is listed twice (in both orders)")
                seen.add(frozenset(pair))
        end = self.start.plus(self.horizon)
        for n, shock in enumerate(self.shocks):
            if not self.start.index <= shock.date.index < end.index:
                raise ValueError(
                    f"shocks[{n}].date: {shock.date} is outside the run; "
                    f"allowed {self.start} to {self.start.plus(self.horizon - 1)}"
                )
            targets = getattr(shock, "states", "all")
            if targets != "all":
                if not targets:
                    raise ValueError(
                        f"shocks[{n}].states: an empty list affects no state; list states, or write all"
                    )
                for k, code in enumerate(targets):
                    if code not in codes:
                        raise ValueError(
                            f"shocks[{n}].states: {code} is not in this scenario's states "
                            f"({', '.join(sorted(codes))})"
                        )
                    if code in targets[:k]:
                        raise ValueError(f"shocks[{n}].states: {code} is listed twice; list each state once")
        return self

    @model_validator(mode="after")
    def _remember(self) -> Self:
        """Note that this object passed validation (see :func:`checked`)."""
        _VALIDATED[id(self)] = self
        return self

    def run_for(self, quarters: int) -> Scenario:
        """The scenario run for ``quarters`` quarters, without the shocks scheduled after them.

        A shock that starts inside the run and lasts past its end is kept. Not validated
        here; :func:`checked` validates the copy once where it is run.
        """
        if quarters == self.horizon:
            return self
        end = self.start.plus(quarters).index
        shocks = [s for s in self.shocks if s.date.index < end]
        return self.model_copy(update={"horizon": quarters, "shocks": shocks})

    def pictured(self) -> Scenario:
        """The scenario at its starting picture: ``start_from``'s drivers and levels, no shocks.

        Its own statuses, air-defence membership, behavioural parameters, start and
        horizon are kept. Returns ``self`` when there is no picture or the picture
        holds this scenario's own drivers (the common case of the base scenario).
        Not validated again: every part of it already was.
        """
        picture = self.start_from
        if picture is None:
            return self
        key = id(self)
        kept = _PICTURED.get(key)
        if kept is not None and kept[0] is self:
            return kept[1]
        states = {
            code: picture.states[code].model_copy(
                update={"status": own.status, "air_defence": own.air_defence}
            )
            for code, own in self.states.items()
        }
        same = (
            states == self.states
            and picture.powers == self.powers
            and picture.ties == self.ties
            and picture.conflicts == self.conflicts
        )
        result = (
            self
            if same
            else self.model_copy(
                update={
                    "states": states,
                    "powers": picture.powers,
                    "ties": picture.ties,
                    "conflicts": picture.conflicts,
                    "shocks": [],
                    "start_from": None,
                }
            )
        )
        _PICTURED[key] = (self, result)
        while len(_PICTURED) > 64:
            del _PICTURED[next(iter(_PICTURED))]
        return result

    def digest(self) -> str:
        """SHA-256 of the resolved scenario, stable across key order and runs."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def with_overrides(self, overrides: Mapping[str, Any]) -> Scenario:
        """A validated copy with dotted key paths replaced, e.g. ``powers.russia.pressure``.

        Args:
            overrides: a mapping of dotted key paths (strings) to new values.

        Raises:
            ScenarioError: overrides is not such a mapping, an unknown key path or a
                value the schema rejects.

        """
        if not isinstance(overrides, Mapping):
            raise ScenarioError(
                f"overrides: got {type(overrides).__name__}; allowed a mapping of dotted key paths "
                "to values, e.g. {'powers.russia.pressure': 0.7}"
            )
        data = self.model_dump(mode="json")
        for path, value in overrides.items():
            if not isinstance(path, str):
                raise ScenarioError(
                    f"overrides: the key {show(path)} is a {type(path).__name__}; allowed dotted key "
                    "paths written as strings, e.g. 'powers.russia.pressure'"
                )
            node = data
            *parents, leaf = path.split(".")
            for key in parents:
                if not isinstance(node, dict) or key not in node:
                    raise ScenarioError(f"{clip(path)}: unknown key path ({show(key)} not found)")
                node = node[key]
            if not isinstance(node, dict) or leaf not in node:
                raise ScenarioError(f"{clip(path)}: unknown key path ({show(leaf)} not found)")
            node[leaf] = value
        return validate_scenario(data, source=f"{self.name} with overrides")


#: The starting pictures of the last few scenarios: id -> (scenario, pictured scenario).
#: The scenario is held so that its id cannot be reused while the entry lives.
_PICTURED: dict[int, tuple[Scenario, Scenario]] = {}

#: Scenario objects known to be valid, by id: those built by validation (``_remember``)
#: and unvalidated copies that :func:`checked` found equal to their validated form.
_VALIDATED: weakref.WeakValueDictionary[int, Scenario] = weakref.WeakValueDictionary()
#: Unvalidated copies that validation had to convert: id -> (weak reference, converted).
_CONVERTED: dict[int, tuple[weakref.ref[Scenario], Scenario]] = {}


def checked(scenario: Scenario) -> Scenario:
    """The scenario if it passed validation, else its validated form.

    pydantic does not validate ``model_copy(update=...)``, so a copy may carry a
    horizon of -5 or 2.5. Each object is validated at most once (about 0.1 ms);
    later calls with the same object are a dictionary look-up.

    Raises:
        ScenarioError: the object is not a valid scenario.

    """
    key = id(scenario)
    if _VALIDATED.get(key) is scenario:
        return scenario
    converted = _CONVERTED.get(key)
    if converted is not None and converted[0]() is scenario:
        return converted[1]
    source = f"scenario {getattr(scenario, 'name', None)!r} (changed after validation)"
    valid = validate_scenario(scenario.model_dump(warnings=False), source=source)
    if valid == scenario:
        _VALIDATED[key] = scenario
        return scenario
    _CONVERTED[key] = (weakref.ref(scenario, lambda _, key=key: _CONVERTED.pop(key, None)), valid)
    return valid


def validate_scenario(data: Mapping[str, Any], *, source: str) -> Scenario:
    """Validate an already-merged mapping; ``source`` names it in errors.

    Raises:
        ScenarioError: the first problem found, in one line.

    """
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{source}: {describe_error(exc)}") from None


# --------------------------------------------------------------------------- errors

_OUTCOME_KEYS = {"status", "cis", "csto", "eaeu", "membership", "alignment", "air_defence"}


def _dotted(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item == "[key]":
            continue
        elif item in SHOCK_KINDS and parts and parts[-1].startswith("["):
            continue  # pydantic's union tag, not a key the user wrote
        else:
            text = str(item)
            parts.append(("." if parts else "") + clip(text, 40))
    return "".join(parts) or "(top level)"


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    """Allowed keys of the schema object at ``loc`` (best effort)."""
    model: Any = Scenario
    for item in loc:
        if isinstance(item, int) or item == "[key]":
            continue
        if item in SHOCK_KINDS:
            model = {
                k: m
                for m in (StateShock, TradeAccessShock, PowerShock, ConflictShock)
                for k in m.model_fields["kind"].annotation.__args__
            }[item]
            continue
        if model is Scenario and item == "states":
            model = {"*": StateParams}
            continue
        if isinstance(model, dict):
            model = model["*"]
            if item in model.model_fields:
                model = _inner(model.model_fields[item].annotation)
            continue
        field = getattr(model, "model_fields", {}).get(item)
        if field is None:
            return []
        model = _inner(field.annotation)
    return list(getattr(model, "model_fields", {}))


def _inner(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    args = getattr(annotation, "__args__", ())
    for arg in args:
        inner = _inner(arg)
        if inner is not None:
            return inner
    return None


def describe_error(exc: ValidationError) -> str:
    """One line for the first error of a pydantic ValidationError."""
    errors = exc.errors(include_url=False)
    err = errors[0]
    loc = tuple(err["loc"])
    path = _dotted(loc)
    kind = err["type"]
    value = err.get("input")
    if kind == "extra_forbidden":
        key = loc[-1]
        if key in _OUTCOME_KEYS and "shocks" in loc:
            text = (
                f"{path}: {show(key)} cannot be set by a shock; memberships and alignments are "
                f"model outcomes; shock kinds allowed: {', '.join(SHOCK_KINDS)}"
            )
        else:
            allowed = ", ".join(_fields_at(loc[:-1])) or "none"
            text = f"{path}: unknown key {show(key)}; allowed keys here: {allowed}"
    elif kind == "missing":
        text = f"{path}: required key is missing"
    elif kind == "union_tag_invalid":
        text = f"{path}: kind {show(value.get('kind'))} is unknown; allowed: {', '.join(SHOCK_KINDS)}"
    elif kind == "union_tag_not_found":
        text = f"{path}: a shock needs 'kind'; allowed: {', '.join(SHOCK_KINDS)}"
    else:
        msg = err["msg"].removeprefix("Value error, ")
        shown = _show(value)
        text = f"{path}: {msg}" + (f" (got {shown})" if shown is not None else "")
    text = " ".join(text.split())
    if len(text) > _MAX_MESSAGE:
        text = text[: _MAX_MESSAGE - 3] + "..."
    if len(errors) > 1:
        text += f" [and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''}]"
    return text


#: Longest message describe_error gives (the allowed keys of a state fit).
_MAX_MESSAGE = 600


def _show(value: Any) -> str | None:
    """The value for "(got ...)", within 60 characters; None for a list or mapping too long to show."""
    shown = show(value)
    if isinstance(value, dict | list | tuple) and (len(shown) > 60 or "..." in shown):
        return None
    return shown


def json_schema() -> dict[str, Any]:
    """JSON Schema of a scenario file, for editors (YAML language servers)."""
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "alliance-cohesion scenario"
    props = schema.setdefault("properties", {})
    props["start_from"] = {
        "anyOf": [
            {"type": "string", "description": "Name or relative path of the scenario whose picture it is."},
            {"$ref": "#/$defs/Picture"},
            {"type": "null"},
        ],
        "description": props.get("start_from", {}).get("description", ""),
    }
    props["extends"] = {
        "type": "string",
        "description": "Name or relative path of the scenario this one modifies.",
    }
    return schema
