"""Fixed facts the model is built around: the poles, the institutions, the states.

These are not scenario parameters (nothing here is calibrated or varied): the
poles an alignment is spread over, the institutions whose membership is an
outcome, the membership-status vocabulary, and for each state its ISO 3166
alpha-3 code, English name and capital (used to place states on a map).
"""

from __future__ import annotations

from typing import Final, Literal

#: The poles an alignment is spread over, in the order used by every array.
POLES: Final = ("russia", "west", "china", "turkey")
Pole = Literal["russia", "west", "china", "turkey"]
POLE_LABELS: Final = {"russia": "Russia", "west": "West", "china": "China", "turkey": "Türkiye"}

#: Trade partners: the poles plus everyone else.
PARTNERS: Final = (*POLES, "other")
Partner = Literal["russia", "west", "china", "turkey", "other"]

#: The Russia-led institutions whose membership the model produces.
INSTITUTIONS: Final = ("cis", "csto", "eaeu")
Institution = Literal["cis", "csto", "eaeu"]

#: Membership statuses, with the rung of the ladder each stands on
#: (3 full member, 2 partial, 1 observer, 0 out).
STATUS_TIER: Final = {
    "member": 3,
    "frozen": 2,
    "suspended": 2,
    "associate": 2,
    "observer": 1,
    "withdrawn": 0,
    "none": 0,
}
Status = Literal["member", "frozen", "suspended", "associate", "observer", "withdrawn", "none"]

#: The status a member falls to when it steps down one rung, per institution.
#: CIS: associate (Turkmenistan 2005); CSTO: frozen (Armenia 2024); the EAEU
#: treaty has no suspension, so an EAEU member leaves outright.
STEP_DOWN: Final = {"cis": "associate", "csto": "frozen", "eaeu": "withdrawn"}
#: The status an outsider rises to first: EAEU accession starts as observer
#: (Moldova 2017, Uzbekistan 2020); CIS and CSTO re-entry is direct
#: (Uzbekistan rejoined the CSTO in 2006).
STEP_UP_FROM_OUT: Final = {"cis": "member", "csto": "member", "eaeu": "observer"}

#: ISO code -> (English name, capital, longitude, latitude of the capital).
STATES: Final = {
    "ARM": ("Armenia", "Yerevan", 44.51, 40.18),
    "AZE": ("Azerbaijan", "Baku", 49.87, 40.41),
    "BLR": ("Belarus", "Minsk", 27.56, 53.90),
    "KAZ": ("Kazakhstan", "Astana", 71.45, 51.17),
    "KGZ": ("Kyrgyzstan", "Bishkek", 74.59, 42.87),
    "TJK": ("Tajikistan", "Dushanbe", 68.79, 38.56),
    "TKM": ("Turkmenistan", "Ashgabat", 58.38, 37.96),
    "UZB": ("Uzbekistan", "Tashkent", 69.24, 41.30),
    "GEO": ("Georgia", "Tbilisi", 44.79, 41.72),
    "MDA": ("Moldova", "Chisinau", 28.86, 47.01),
    "UKR": ("Ukraine", "Kyiv", 30.52, 50.45),
}
StateCode = Literal["ARM", "AZE", "BLR", "KAZ", "KGZ", "TJK", "TKM", "UZB", "GEO", "MDA", "UKR"]

#: Moscow, for drawing the leader on a map.
RUSSIA_CAPITAL: Final = ("Moscow", 37.62, 55.76)

#: Central Asian states (used by validation checks and the docs).
CENTRAL_ASIA: Final = ("KAZ", "KGZ", "TJK", "TKM", "UZB")
