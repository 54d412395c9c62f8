"""Regenerate a benchmark's block of the README's performance section from its results.

A block sits between ``<!-- NAME -->`` and ``<!-- /NAME -->`` in README.md; a benchmark that
ran in full replaces the text between them (and only that), so the README shows what the
committed results say. A README without the markers is left as it is.
"""

from __future__ import annotations

from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def replace_block(name: str, text: str, readme: Path = README) -> bool:
    """Put ``text`` between the ``name`` markers of ``readme``; False if the markers are missing."""
    content = readme.read_text()
    start, end = f"<!-- {name} -->\n", f"<!-- /{name} -->"
    i, j = content.find(start), content.find(end)
    if i < 0 or j < i:
        print(f"{readme}: no {start.strip()} ... {end} block; README left as it is")
        return False
    readme.write_text(content[: i + len(start)] + text.rstrip("\n") + "\n" + content[j:])
    return True
