"""The model's rules, written once, over arrays with a leading replication axis.

Every array of a :class:`~model.rules.world.World` starts with the run axis:
``[runs, states, ...]`` for what belongs to a state, ``[runs, poles]`` for the
powers, ``[runs, 1, 1]`` for a scenario's scalar parameters. One function per
rule, one module per mechanism:

==========================  ==============================================  ===============
module                      rule                                            docs/model.md
==========================  ==============================================  ===============
:mod:`.powers`              targeting and spread of pressure, inducements   4.1
:mod:`.utility`             utility of each pole, part by part              4.2
:mod:`.choice`              preferred mix, move, starting equilibrium       4.3
:mod:`.drift`               trade, arms, opinion, trust; abandonment        4.4
:mod:`.institutions`        commitments, ladders, air defence, boycotts     4.5
:mod:`.shocks`              scheduled changes of drivers                    5
:mod:`.measures`            cohesion index, counts, landscape energy        6
:mod:`.quarter`             the order of a quarter                          3
==========================  ==============================================  ===============

The Mesa model (:class:`model.model.AllianceModel`) runs these functions on a
world of one run; the ensemble engine (:mod:`model.ensemble`) on many. Nothing
here imports Mesa or pandas.
"""
