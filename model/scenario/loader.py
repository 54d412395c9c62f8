"""Scenario files: finding them, reading them safely, resolving ``extends:`` chains.

A scenario is a YAML file in ``scenarios/`` (shipped as the package ``model.scenarios``)
or any path. :func:`load_scenario` resolves ``extends:`` chains (deep merge of
mappings, lists replaced whole) and validates the result against the schema
(:mod:`model.scenario.schema`).
"""

from __future__ import annotations

import importlib.resources
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from model.errors import ScenarioError
from model.safe_yaml import MAX_BYTES, clip, load_yaml, show
from model.scenario.schema import PICTURE_KEYS, Scenario, validate_scenario

#: Longest extends: chain (a scenario, its parent, its grandparent, ...).
MAX_EXTENDS = 20


def package_folder(package: str) -> Path:
    """The folder of ``package``'s data files, found with :mod:`importlib.resources`.

    Built-in scenarios and designs are package data (``model.scenarios``, mapped from the
    repository's top-level ``scenarios/`` folder in ``pyproject.toml``, and
    ``experiments.designs``), so a checkout, an editable install and an installed wheel all find
    them wherever the command runs. Only packages installed as plain folders are
    supported (pip's default); a zipped install would have no folder to glob.
    """
    folder = importlib.resources.files(package)
    if not isinstance(folder, Path):  # a zip import: no folder to list
        raise ScenarioError(f"{package} is installed as a zip archive; install alliance-cohesion with pip")
    return folder


#: Folder of the scenarios shipped with the project (package ``model.scenarios``).
SCENARIO_DIR = package_folder("model.scenarios")
#: Folder of the calibration data and its source list, ``SOURCES.md`` (package ``model.data``).
DATA_DIR = package_folder("model.data")
# --------------------------------------------------------------------------- loading


def available_scenarios(folder: Path = SCENARIO_DIR) -> list[Path]:
    """The scenario files in ``folder``, sorted by name."""
    return sorted(folder.glob("*.yaml"))


def resolve_path(name_or_path: str | Path, *, folder: Path = SCENARIO_DIR, kind: str = "scenario") -> Path:
    """Find a YAML file by path, or by bare name in ``folder`` (scenarios by default).

    Args:
        name_or_path: a path, or a name of a file in ``folder`` with or without ``.yaml``.
        folder: where bare names are looked up.
        kind: what the file is, for the error message ("scenario", "design").

    Raises:
        ScenarioError: no such file; the message lists the built-in names.

    """
    path = Path(name_or_path)
    try:
        if path.is_file():
            return path
        for candidate in (folder / path, folder / f"{path}.yaml"):
            if candidate.is_file():
                return candidate
        if path.is_dir():
            raise ScenarioError(f"{clip(str(path), 200)}: is a folder; expected a {kind} file (YAML)")
        if path.exists():
            raise ScenarioError(
                f"{clip(str(path), 200)}: is not a regular file (a pipe or a device); "
                f"expected a {kind} file (YAML)"
            )
    except ScenarioError:  # a ValueError too, with its own message
        raise
    except (OSError, ValueError) as exc:  # a name too long for the file system, a NUL byte, ...
        raise ScenarioError(
            f"{clip(str(name_or_path), 200)}: not a usable path ({_reason(exc)}); allowed a {kind} "
            "name or a path to a YAML file"
        ) from None
    names = ", ".join(p.stem for p in available_scenarios(folder))
    raise ScenarioError(f"{clip(str(name_or_path), 200)}: no such {kind} file; built-in {kind}s: {names}")


def read_yaml(path: Path, *, kind: str = "scenario") -> dict[str, Any]:
    """Load a YAML mapping through the hardened loader (:mod:`model.safe_yaml`), with one-line errors.

    A file larger than 1 MiB, with aliases expanding past 10,000 values, nested
    deeper than 50 levels, with a duplicate key, a merge key (``<<``) or a tag
    such as ``!!python/object`` is refused.

    Args:
        path: the file.
        kind: what it should be ("scenario", "design"), for messages.

    Raises:
        ScenarioError: missing file, too big, not UTF-8, YAML syntax error, a refused
            construct, or not a mapping.

    """
    data = load_yaml(path, max_bytes=MAX_BYTES, what=f"a {kind} file")
    if not isinstance(data, dict):
        got = "the file is empty" if data is None else f"top level is {_yaml_type(data)}"
        raise ScenarioError(f"{path}: {got}; a {kind} must be a YAML mapping")
    return data


def _yaml_type(value: Any) -> str:
    return {list: "list", str: "str", bool: "bool", int: "int", float: "float"}.get(
        type(value), type(value).__name__
    )


_NOT_A_SCENARIO = (
    "is not a scenario file (expected a YAML mapping with name, description, states, powers, ...)"
)


def _scenario_keys() -> set[str]:
    return {*Scenario.model_fields, "extends"}


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_parent(path: Path, ref: str, *, own: bool) -> dict[str, Any]:
    """Read a file named by ``extends:``; say only that it is not a scenario when it is not one.

    Nothing of a file that is not a scenario (a password file, a design) is echoed. A
    parent in the user's own scenario folder tree (``own``) or a built-in one gets the
    detailed message of its YAML error (a duplicate key, a bad tag: the user's own file to
    fix); a parent reached by an absolute path elsewhere gets only the generic line, since a
    YAML error message quotes the file (a duplicated key may be a secret).
    """
    try:
        data = read_yaml(path)
    except ScenarioError as exc:
        text = str(exc)
        looks_like_yaml = path.suffix in (".yaml", ".yml")
        if (
            not own
            or not looks_like_yaml
            or any(m in text for m in ("not valid YAML", "top level is", "is empty", "not UTF-8"))
        ):
            raise ScenarioError(f"extends: {show(ref)} {_NOT_A_SCENARIO}") from None
        raise
    if not set(data) <= _scenario_keys():
        raise ScenarioError(f"extends: {show(ref)} {_NOT_A_SCENARIO}")
    return data


def _resolve_extends(path: Path, root: Path, chain: tuple[Path, ...]) -> dict[str, Any]:
    if len(chain) == 1:
        data = read_yaml(path)
        if not set(data) & _scenario_keys():
            raise ScenarioError(f"{path}: {_NOT_A_SCENARIO}")
    else:
        own = path.parent == SCENARIO_DIR or path.is_relative_to(root)
        data = _read_parent(path, str(path), own=own)
    parent_ref = data.pop("extends", None)
    if parent_ref is None:
        return data
    if not isinstance(parent_ref, str) or not parent_ref.strip():
        raise ScenarioError(f"{path}: extends: {show(parent_ref)} must be a scenario name or path")
    if len(chain) > MAX_EXTENDS:
        raise ScenarioError(
            f"{chain[0]}: extends: chain longer than {MAX_EXTENDS} files "
            f"({chain[0].name} -> {chain[1].name} -> ... -> {path.name}); allowed at most {MAX_EXTENDS}"
        )
    try:
        parent = _locate_parent(path, root, parent_ref)
    except ScenarioError:  # a ValueError too, with its own message
        raise
    except (OSError, ValueError) as exc:  # a name too long for the file system, a NUL byte, ...
        raise ScenarioError(
            f"{path}: extends: {show(parent_ref)} is not a usable path ({_reason(exc)}); "
            "allowed a scenario name or a path to a YAML file"
        ) from None
    if parent in chain:
        cycle = " -> ".join(p.name for p in (*chain, parent))
        raise ScenarioError(f"{path}: extends: cycle {clip(cycle, 200)}")
    try:
        inherited = _resolve_extends(parent, root, (*chain, parent))
    except ScenarioError as exc:
        if str(exc).startswith("extends: "):  # a parent that is not a scenario: name who points at it
            raise ScenarioError(f"{path}: {exc}") from None
        raise
    return _merge(inherited, data)


def _reason(exc: BaseException) -> str:
    """A short reason for an OS-level path failure, without the path echoed back."""
    return clip(getattr(exc, "strerror", None) or str(exc), 80)


def _locate_parent(path: Path, root: Path, parent_ref: str, key: str = "extends") -> Path:
    """The file that ``extends: parent_ref`` (or ``key``) in ``path`` names; one-line errors if not allowed.

    Raises:
        ScenarioError: the parent leaves the scenario folder or does not exist.
        OSError, ValueError: the reference is not a path the system can look up.

    """
    ref = Path(parent_ref)
    if ref.is_absolute():
        parent = ref  # an absolute path is an explicit choice to leave the folder tree
    else:
        parent = (path.parent / ref).resolve()
        if not parent.suffix:
            parent = parent.with_suffix(".yaml")
            if not parent.is_file() and (SCENARIO_DIR / parent.name).is_file():
                parent = SCENARIO_DIR / parent.name  # a built-in scenario by name
        if parent.parent != SCENARIO_DIR and not parent.is_relative_to(root):
            raise ScenarioError(
                f"{path}: {key}: {show(parent_ref)} leaves the scenario folder {root}; "
                "give an absolute path to name a file elsewhere"
            )
    if not parent.is_file():
        raise ScenarioError(
            f"{path}: {key}: {show(parent_ref)} not found (looked for {clip(str(parent), 200)})"
        )
    return parent


def _resolve_start(path: Path, root: Path, data: dict[str, Any]) -> dict[str, Any]:
    """Replace ``start_from: <name or path>`` by that scenario's drivers and levels (a Picture).

    A scenario naming itself starts from its own drivers (recorded as a picture, so
    that design points and overrides of its levers keep starting from it). The
    named scenario's own ``start_from`` plays no part.
    """
    ref = data.get("start_from")
    if not isinstance(ref, str):
        return data  # absent, null, or a picture written out: the schema checks it
    if not ref.strip():
        raise ScenarioError(f"{path}: start_from: {show(ref)} must be a scenario name or path")
    try:
        target = _locate_parent(path, root, ref, key="start_from")
    except ScenarioError:
        raise
    except (OSError, ValueError) as exc:  # a name too long for the file system, a NUL byte, ...
        raise ScenarioError(
            f"{path}: start_from: {show(ref)} is not a usable path ({_reason(exc)}); "
            "allowed a scenario name or a path to a YAML file"
        ) from None
    if target.resolve() == path:
        source = data
    else:
        try:
            source = _resolve_extends(target, root, (path, target))
        except ScenarioError as exc:
            if str(exc).startswith("extends: "):
                raise ScenarioError(f"{path}: start_from: {show(ref)} {_NOT_A_SCENARIO}") from None
            raise
    picture: dict[str, Any] = {"name": str(source.get("name", target.stem))}
    picture.update({key: source[key] for key in PICTURE_KEYS if key in source})
    return {**data, "start_from": picture}


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load, resolve ``extends:`` and validate a scenario.

    Args:
        name_or_path: a path to a YAML file, or the name of a built-in scenario.

    Returns:
        The validated scenario.

    Raises:
        ScenarioError: with a one-line message naming file, key path, value and what is allowed.

    """
    if not isinstance(name_or_path, str | os.PathLike):
        raise ScenarioError(
            f"scenario: got {type(name_or_path).__name__}; allowed a scenario name or a path to a YAML file"
        )
    path = resolve_path(name_or_path).resolve()
    data = _resolve_extends(path, path.parent, (path,))
    data = _resolve_start(path, path.parent, data)
    return validate_scenario(data, source=str(path))
