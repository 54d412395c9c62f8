"""The built-in scenarios, installed as the package data of ``model.scenarios``.

This folder is the top-level ``scenarios/`` of the repository; ``pyproject.toml``
maps it to the package ``model.scenarios`` so that a wheel carries the files and
:data:`model.scenario.SCENARIO_DIR` finds them with ``importlib.resources``.
"""
