"""The built-in experiment designs (YAML), installed as the package data of ``experiments.designs``.

:data:`experiments.design.DESIGN_DIR` finds them with ``importlib.resources``, so
``cohesion sweep sobol_drivers`` works from a checkout and from an installed wheel.
"""
