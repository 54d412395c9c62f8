"""Agents: member states that choose an alignment, and powers that press and court them.

The agents are thin: what a state or a power is made of lives in the model's
:class:`~model.rules.world.World` (one run), and the rules that move it are the
functions of :mod:`model.rules`, which the ensemble engine runs on many runs at
once. An agent reads and writes its own row of that world, so there is no second
copy of a driver that could go stale and no cache that a write could bypass.

* A :class:`MemberState` weighs the security benefit, economic benefit and
  autonomy cost of aligning with each pole (Russia, the West, China, Türkiye),
  plus coercion, identity and its tied neighbours' alignment, and moves part of
  the way toward the mix that maximises utility plus an entropy bonus set by its
  multi-vector (hedging) preference (:mod:`model.rules.utility`,
  :mod:`model.rules.choice`). It climbs or descends its institutional ladders
  (:mod:`model.rules.institutions`).
* A :class:`Power` spreads pressure and inducements over the states within its
  capacity (:mod:`model.rules.powers`).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
from mesa import Agent
from mesa.discrete_space import FixedAgent

from model.catalogue import INSTITUTIONS, POLES, STATES
from model.rules.choice import preferred_mix, temperature
from model.rules.world import POWER, STATUSES

if TYPE_CHECKING:
    from collections.abc import Mapping

    from model.model import AllianceModel


class _Scalar:
    """A state driver stored in ``world.scalars[name][0, index]``."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, agent: MemberState | None, owner: type | None = None) -> Any:
        if agent is None:
            return self
        return float(agent.model.world.scalars[self.name][0, agent.index])

    def __set__(self, agent: MemberState, value: float) -> None:
        agent.model.world.scalars[self.name][0, agent.index] = value


class _Row:
    """A per-partner or per-pole row stored in ``world.<name>[0, index]`` (a writable view)."""

    def __init__(self, doc: str | None = None) -> None:
        if doc:
            self.__doc__ = doc

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, agent: MemberState | None, owner: type | None = None) -> Any:
        if agent is None:
            return self
        return getattr(agent.model.world, self.name)[0, agent.index]

    def __set__(self, agent: MemberState, value: Any) -> None:
        getattr(agent.model.world, self.name)[0, agent.index] = value


class MemberState(FixedAgent):
    """A post-Soviet state choosing its alignment and its institutional ties.

    Its drivers are read from the scenario entry (``StateParams``) into the model's
    world; reading or writing one here reads or writes that world.

    Attributes:
        code: ISO 3166 alpha-3 code.
        name: English name.
        index: its row in the world (and its node on the network).
    """

    remittances = _Scalar()
    energy_dependence = _Scalar()
    external_threat = _Scalar()
    threat_from_russia = _Scalar()
    russian_forces = _Scalar()
    opinion_russia = _Scalar()
    opinion_anchor = _Scalar()
    trust_russia = _Scalar()
    hedging = _Scalar()
    sovereignty = _Scalar()
    trade = _Row()
    arms = _Row()
    defence_pacts = _Row()
    affinity = _Row()
    access = _Row()
    alignment = _Row("Weights over (Russia, West, China, Türkiye), on the simplex.")
    utility = _Row("This quarter's utility of aligning with each pole.")

    def __init__(self, model: AllianceModel, code: str, index: int) -> None:
        """Create the state; ``index`` is its row in the model's world."""
        super().__init__(model)
        self.code = code
        self.name = STATES[code][0]
        self.index = index

    @property
    def economic_weight(self) -> float:
        """Size of the economy (GDP, US$ bn)."""
        return float(self.model.world.sizes[0, self.index])

    @property
    def neutral(self) -> bool:
        """Permanent neutrality: joins no military alliance."""
        return bool(self.model.world.neutral[0, self.index])

    @property
    def commitment(self) -> dict[str, float]:
        """This quarter's commitment to each institution (see ``rules.institutions.commitments``)."""
        return dict(zip(INSTITUTIONS, self.model.world.commitment[0, self.index].tolist(), strict=True))

    @property
    def status(self) -> Mapping[str, str]:
        """Institution -> status (read only: memberships are outcomes of the model)."""
        codes = self.model.world.status[0, self.index]
        return MappingProxyType(
            {inst: STATUSES[c] for inst, c in zip(INSTITUTIONS, codes.tolist(), strict=True)}
        )

    @property
    def streak(self) -> Mapping[str, int]:
        """Institution -> quarters in a row pushing up (> 0) or down (< 0)."""
        values = self.model.world.streak[0, self.index].tolist()
        return MappingProxyType(dict(zip(INSTITUTIONS, values, strict=True)))

    @property
    def air_defence(self) -> bool:
        """Inside the unified CIS air-defence system."""
        return bool(self.model.world.air_defence[0, self.index])

    @property
    def air_defence_streak(self) -> int:
        """Quarters in a row pushing into (> 0) or out of (< 0) air defence."""
        return int(self.model.world.air_streak[0, self.index])

    @property
    def boycotts(self) -> int:
        """Summits boycotted so far."""
        return int(self.model.world.boycotts[0, self.index])

    @property
    def undecided(self) -> bool:
        """Whether a threshold streak is running (the state is part-way to acting)."""
        return self.air_defence_streak != 0 or any(self.streak.values())

    def preferred(self) -> np.ndarray:
        """The alignment this state would choose now (before inertia and noise)."""
        tau = temperature(self.model.world)[0, self.index]
        return preferred_mix(self.utility, tau)


class Power(Agent):
    """An external power: Russia, the West, China or Türkiye.

    Its levels (pressure, engagement, capacity, security_credibility, arms_supply,
    dominance, reaction) live in ``world.powers[name][0, index]``; reading or
    writing an attribute here reads or writes that world. Each quarter the powers
    spread pressure and inducements over the states (``rules.powers``).
    """

    model: AllianceModel

    def __init__(self, model: AllianceModel, pole: str) -> None:
        """Create the power; its levels come from the scenario through the model's world."""
        super().__init__(model)
        self.pole = pole
        self.index = POLES.index(pole)

    def __getattr__(self, name: str) -> float:
        """A level of the power (only called for names that are not ordinary attributes)."""
        if name in POWER:
            return float(self.model.world.powers[name][0, self.index])
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        """Set an attribute; a level is written into the world."""
        if name in POWER:
            self.model.world.powers[name][0, self.index] = value
        else:
            super().__setattr__(name, value)
