"""Hardened YAML reading for every file a user hands the model: scenarios, designs, landscapes.

``yaml.safe_load`` builds only plain data, but a small hostile file can still
hang or exhaust the process: a 500-byte "billion laughs" alias bomb expands to
a structure too large to traverse or print, deep nesting overflows the Python
stack, and duplicate keys silently drop the first value. :func:`load_yaml`
reads through :class:`HardenedLoader`, a ``yaml.SafeLoader`` that refuses, with
one line naming the line of the file:

* files larger than a limit (1 MiB by default), read no further than that;
* more values (YAML nodes) than a limit, counting every alias as a copy of
  what it names, so an alias bomb stops after a few thousand nodes;
* nesting deeper than :data:`MAX_DEPTH` levels;
* duplicate mapping keys (both lines named), merge keys (``<<``) and keys
  that are lists or mappings;
* tags other than the plain ones (null, booleans, numbers, strings, dates,
  lists, mappings): no ``!!python/...``, ``!!binary``, ``!!set``, ...;
* integers beyond 64 bits.

:func:`show` formats a value for an error message within a fixed length,
without building the ``repr`` of a big structure.
"""

from __future__ import annotations

import math
import os
import reprlib
import stat
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from model.errors import ScenarioError

#: Largest scenario or design file read, in bytes (1 MiB; the shipped ones are under 16 KB).
MAX_BYTES = 1 << 20
#: Most YAML nodes (keys, values, list items) in a file, counting each alias as a full copy.
MAX_NODES = 10_000
#: Deepest nesting of lists and mappings.
MAX_DEPTH = 50
#: Longest text of a value shown in an error message.
SHOW_LIMIT = 60

_TAG = "tag:yaml.org,2002:"
_ALLOWED_TAGS = frozenset(
    _TAG + t for t in ("null", "bool", "int", "float", "str", "seq", "map", "timestamp")
)
_INT_LIMIT = 2**63

_repr = reprlib.Repr(maxlevel=3, maxdict=4, maxlist=4, maxtuple=4, maxset=4, maxstring=40, maxlong=24)
_repr.maxother = 40


def show(value: Any, limit: int = SHOW_LIMIT) -> str:
    """A bounded text of ``value`` for an error message (at most about ``limit`` characters).

    Finite floats are written with ``:g``; everything else with a ``repr`` whose
    strings, lists, mappings and integers are cut short, so that no large
    structure is ever traversed whole.
    """
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:g}"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**24:
        return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits"
    text = _repr.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def clip(text: str, limit: int = SHOW_LIMIT) -> str:
    """``text`` cut to ``limit`` characters (with "..."), for names and paths in messages."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def clip_path(path: str | Path, limit: int = 200) -> str:
    """``path`` for a message: whole up to ``limit`` characters, else its start and its end."""
    text = str(path)
    if len(text) <= limit:
        return text
    tail = (limit - 3) * 2 // 3
    return text[: limit - 3 - tail] + "..." + text[-tail:]


class LimitError(yaml.MarkedYAMLError):
    """A file the hardened loader refuses (too big, too deep, a duplicate key, a tag...)."""


class HardenedLoader(yaml.SafeLoader):
    """A ``yaml.SafeLoader`` with limits on size, aliases, depth, keys, tags and integers.

    Args:
        stream: the text to parse.
        max_nodes: most nodes, counting each alias as a copy of the node it names.
        max_depth: deepest nesting of lists and mappings.
    """

    def __init__(self, stream: str, *, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH) -> None:
        super().__init__(stream)
        self.max_nodes = max_nodes
        self.max_depth = max_depth
        self._depth = 0
        self._expanded = 0  # nodes so far, aliases counted at their full size
        self._anchor_size: dict[str, int] = {}

    # --- composing: aliases, depth, tags -----------------------------------------

    def _count(self, n: int, mark: Any) -> None:
        self._expanded += n
        if self._expanded > self.max_nodes:
            raise LimitError(
                None,
                None,
                f"more than {self.max_nodes:,} values once aliases are expanded "
                "(an alias bomb?); write the values out or use fewer aliases",
                mark,
            )

    def compose_node(self, parent: Node | None, index: Any) -> Node:  # noqa: D102
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            node = super().compose_node(parent, index)  # the anchored node, or an error
            size = self._anchor_size.get(event.anchor)
            if size is None:
                raise LimitError(
                    None, None, "an alias refers to a list or mapping that contains it", event.start_mark
                )
            self._count(size, event.start_mark)
            return node
        event = self.peek_event()
        if self._depth >= self.max_depth:
            raise LimitError(None, None, f"nested deeper than {self.max_depth} levels", event.start_mark)
        self._depth += 1
        before = self._expanded
        self._count(1, event.start_mark)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if node.tag not in _ALLOWED_TAGS:
            raise LimitError(None, None, _tag_problem(node), node.start_mark)
        if event.anchor is not None:
            self._anchor_size[event.anchor] = self._expanded - before
        return node

    # --- constructing: keys and integers --------------------------------------------

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Any, Any]:
        """A mapping, refusing merge keys, non-scalar keys and duplicate keys (naming both lines)."""
        if isinstance(node, MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                line = key_node.start_mark.line + 1
                if not isinstance(key_node, ScalarNode):
                    raise LimitError(
                        None,
                        None,
                        "a key must be a single value (a name or a number), not a list or mapping",
                        key_node.start_mark,
                    )
                key = self.construct_object(key_node)
                if key in seen:
                    raise LimitError(
                        None,
                        None,
                        f"duplicate key {show(key)} (first on line {seen[key]}, again on line {line}); "
                        "each key may appear once in a mapping",
                        key_node.start_mark,
                    )
                seen[key] = line
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: ScalarNode) -> int:
        """An integer within 64 bits (seeds are stored as 64-bit integers)."""
        text = str(self.construct_scalar(node))
        if len(text.replace("_", "")) > 24:
            raise LimitError(None, None, _INT_PROBLEM, node.start_mark)
        value = super().construct_yaml_int(node)
        if not -_INT_LIMIT <= value < _INT_LIMIT:
            raise LimitError(None, None, _INT_PROBLEM, node.start_mark)
        return value

    def construct_object(self, node: Node, deep: bool = False) -> Any:  # noqa: D102
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError, TypeError) as exc:  # e.g. a date 2025-13-01
            raise LimitError(
                None, None, f"cannot read this value ({show(str(exc), 80)})", node.start_mark
            ) from None


_INT_PROBLEM = "integer out of range; integers must lie within 64 bits (about ±9.2e18)"
HardenedLoader.add_constructor(_TAG + "int", HardenedLoader.construct_yaml_int)


def _tag_problem(node: Node) -> str:
    if node.tag == _TAG + "merge":
        return "merge keys (<<) are not supported; write the keys out (or use extends: in a scenario)"
    tag = node.tag.replace(_TAG, "!!", 1) if node.tag.startswith(_TAG) else node.tag
    return f"the YAML tag {clip(tag, 50)} is not allowed; only plain values, lists and mappings"


def _yaml_problem(exc: yaml.YAMLError, text: str) -> str:
    """One bounded line for a YAML error: what, and where."""
    if isinstance(exc, yaml.reader.ReaderError):
        char = exc.character if isinstance(exc.character, int) else ord(exc.character or "?")
        line = text.count("\n", 0, exc.position) + 1
        return f"not valid YAML at line {line}: the character #x{char:04x} is not allowed in YAML text"
    mark = getattr(exc, "problem_mark", None)
    problem = " ".join(str(getattr(exc, "problem", None) or "invalid YAML").split())
    if len(problem) > 120:
        problem = problem[:117] + "..."
    if isinstance(exc, LimitError):
        return f"line {mark.line + 1}: {problem}"
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"not valid YAML{where}: {problem}"


def read_bytes(path: Path, *, max_bytes: int, what: str, missing_ok: bool = False) -> bytes | None:
    """The bytes of a regular file no larger than ``max_bytes``, read without blocking.

    The file is opened non-blocking and checked before any byte is read, so a
    FIFO, a device (``/dev/zero``) or a socket is refused at once instead of
    waiting for a writer or reading forever.

    Raises:
        ScenarioError: missing (None instead if ``missing_ok``), a folder, not a
            regular file, unreadable, or larger than the limit; one line starting
            with the (clipped) path.
    """
    where = clip_path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except ValueError as exc:  # a NUL byte in the name
        raise ScenarioError(f"{where}: not a usable path ({exc})") from None
    except FileNotFoundError:
        if missing_ok:
            return None
        raise ScenarioError(f"{where}: file not found") from None
    except IsADirectoryError:
        raise ScenarioError(f"{where}: is a folder; expected {what}") from None
    except OSError as exc:
        raise ScenarioError(f"{where}: cannot be read ({exc.strerror or exc.__class__.__name__})") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ScenarioError(f"{where}: is a folder; expected {what}")
        if not stat.S_ISREG(info.st_mode):
            raise ScenarioError(f"{where}: is not a regular file (a pipe or a device); expected {what}")
        if info.st_size > max_bytes:
            raise ScenarioError(
                f"{where}: larger than {_size(max_bytes)}, the limit for {what}; is it the right file?"
            )
        with os.fdopen(fd, "rb", closefd=False) as stream:
            data = stream.read(max_bytes + 1)
    except OSError as exc:
        raise ScenarioError(f"{where}: cannot be read ({exc.strerror or exc.__class__.__name__})") from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:  # grew while being read
        raise ScenarioError(
            f"{where}: larger than {_size(max_bytes)}, the limit for {what}; is it the right file?"
        )
    return data


def read_text(path: Path, *, max_bytes: int = MAX_BYTES, what: str = "a YAML file") -> str:
    """The UTF-8 text of a regular file no larger than ``max_bytes`` (see :func:`read_bytes`).

    Raises:
        ScenarioError: missing, a folder, not a regular file, unreadable, larger than
            the limit, or not UTF-8.
    """
    data = read_bytes(path, max_bytes=max_bytes, what=what)
    assert data is not None  # a missing file is an error here
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"{clip_path(path)}: not UTF-8 text (byte {exc.start}); expected {what}, saved as UTF-8"
        ) from None


def _size(n: int) -> str:
    return f"{n >> 20} MiB" if n % (1 << 20) == 0 else f"{n:,} bytes"


def load_yaml(
    path: Path,
    *,
    max_bytes: int = MAX_BYTES,
    max_nodes: int = MAX_NODES,
    max_depth: int = MAX_DEPTH,
    what: str = "a YAML file",
) -> Any:
    """Read one YAML document from ``path`` through :class:`HardenedLoader`.

    Args:
        path: the file.
        max_bytes: largest file read.
        max_nodes: most YAML nodes, aliases counted at their full size.
        max_depth: deepest nesting of lists and mappings.
        what: what the file should be, for messages ("a scenario file").

    Returns:
        The plain data (None for an empty file).

    Raises:
        ScenarioError: one line starting with the path, for every problem.
    """
    text = read_text(path, max_bytes=max_bytes, what=what)
    where = clip_path(path)
    try:
        loader = HardenedLoader(text, max_nodes=max_nodes, max_depth=max_depth)  # checks characters
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{where}: {_yaml_problem(exc, text)}") from None
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{where}: {_yaml_problem(exc, text)}") from None
    except RecursionError:  # a limit above Python's stack, given by a caller
        raise ScenarioError(f"{where}: nested too deeply") from None
    finally:
        loader.dispose()


__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "HardenedLoader",
    "LimitError",
    "clip",
    "load_yaml",
    "read_bytes",
    "read_text",
    "show",
]
