"""The sweep store: Parquet parts written atomically, a manifest, resume.

Layout of a store folder ``DIR``::

    DIR/manifest.json                    the resolved design, its hash, versions, git commit
    DIR/runs/part-<first>-<last>.parquet one row per completed run (run id, factors, seed, outputs)
    DIR/series/part-<first>-<last>.parquet per-step rows, when the design asks for them
    DIR/failures/part-<first>-<last>.parquet runs that raised, while the sweep is going
    DIR/failures.parquet                 every failed run, consolidated when the sweep ends

Every file is written to a hidden temporary name in its folder and renamed
(``os.replace``), so a killed sweep never leaves a half-written part under a
final name, and readers (``pandas.read_parquet(DIR / "runs")``) skip the
temporary files. A chunk writes its series part first, then its failures part,
then its runs part: a run is *done* once its id is in a runs or failures part,
and on resume a series part holding a run that is not done (a chunk killed
between its writes) is deleted and rewritten. This is EMA Workbench's "run,
save, then analyse" with the save made incremental and restartable.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from model.errors import ScenarioError
from model.output import atomic_write, git_commit, versions

MANIFEST = "manifest.json"
FAILURES = "failures.parquet"
TABLES = ("runs", "series", "failures")
#: Packages of the experiment layer recorded besides the model's.
EXTRA_PACKAGES = ("SALib", "dask", "distributed", "scipy", "matplotlib")


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write a DataFrame to Parquet atomically (no index)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def all_versions() -> dict[str, str]:
    """Versions of Python, the model's packages and the experiment layer's."""
    return versions(extra=EXTRA_PACKAGES)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def part_name(first: int, last: int) -> str:
    """File name of the part holding run ids ``first`` to ``last``."""
    return f"part-{first:09d}-{last:09d}.parquet"


@dataclass
class Store:
    """A sweep's folder: parts, failures and manifest.

    Attributes:
        root: the folder.
    """

    root: Path

    @property
    def manifest_path(self) -> Path:
        """Path of ``manifest.json``."""
        return self.root / MANIFEST

    def folder(self, table: str) -> Path:
        """Folder of a table's parts (``runs``, ``series`` or ``failures``)."""
        return self.root / table

    # --- creating and resuming ------------------------------------------------------

    @classmethod
    def open(
        cls,
        root: Path,
        *,
        design: dict[str, Any],
        digest: str,
        sample_digest: str,
        resume: bool,
        retry_failed: bool = False,
    ) -> Store:
        """Create a store for a design, or reopen one to resume it.

        Args:
            root: the store folder.
            design: the resolved design (JSON-ready).
            digest: the design's hash.
            sample_digest: hash of the sample matrix.
            resume: finish the sweep stored in ``root`` (a fresh one if ``root`` is empty).
            retry_failed: on resume, forget the failed runs so they run again.

        Returns:
            The store, ready for parts.

        Raises:
            ScenarioError: ``root`` holds another sweep, or a sweep and ``resume`` is off.
        """
        store = cls(Path(root))
        existing = store.manifest_path.is_file()
        if existing and not resume:
            raise ScenarioError(
                f"{root}: already holds a sweep; add --resume to finish it, or give a new --out"
            )
        if not existing and store.root.is_dir() and any(store.root.iterdir()):
            raise ScenarioError(
                f"{root}: folder is not empty and holds no sweep (no {MANIFEST}); give a new --out"
            )
        if existing:
            manifest = store.manifest()
            old = manifest.get("design_hash", "?")
            if old != digest:
                raise ScenarioError(
                    f"{root}: holds a sweep of design {manifest.get('design', {}).get('name')!r} "
                    f"with hash {old[:12]}, not this design (hash {digest[:12]}); "
                    "use a new --out for this design"
                )
            if manifest.get("sample_hash") != sample_digest:
                raise ScenarioError(
                    f"{root}: the design draws a different sample now (sample hash "
                    f"{manifest.get('sample_hash', '?')[:12]} stored, {sample_digest[:12]} now; "
                    f"SALib {manifest.get('versions', {}).get('SALib')} stored, "
                    f"{all_versions()['SALib']} now); use a new --out"
                )
            store.clean(retry_failed=retry_failed)
            return store
        store.root.mkdir(parents=True, exist_ok=True)
        for table in TABLES:
            store.folder(table).mkdir(exist_ok=True)
        store.write_manifest(
            {
                "kind": "alliance-cohesion sweep",
                "design": design,
                "design_hash": digest,
                "sample_hash": sample_digest,
                "created": _now(),
                "status": "running",
                "git_commit": git_commit(),
                "versions": all_versions(),
                "command": sys.argv,
                "sessions": [],
            }
        )
        return store

    def manifest(self) -> dict[str, Any]:
        """The manifest as stored.

        Raises:
            ScenarioError: no manifest, or not valid JSON.
        """
        try:
            return json.loads(self.manifest_path.read_text())
        except FileNotFoundError:
            raise ScenarioError(f"{self.root}: not a sweep store (no {MANIFEST})") from None
        except json.JSONDecodeError as exc:
            raise ScenarioError(f"{self.manifest_path}: not valid JSON ({exc.msg})") from None

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Replace the manifest atomically."""
        text = json.dumps(manifest, indent=2, default=str) + "\n"
        atomic_write(self.manifest_path, lambda tmp: tmp.write_text(text))

    def clean(self, *, retry_failed: bool = False) -> None:
        """Remove what an interrupted sweep can leave: temporary files and orphan series parts.

        Args:
            retry_failed: also delete the failed runs, so that they run again.
        """
        for table in TABLES:
            folder = self.folder(table)
            folder.mkdir(exist_ok=True)
            for tmp in folder.glob(".*.tmp-*"):
                tmp.unlink(missing_ok=True)
        for tmp in self.root.glob(".*.tmp-*"):
            tmp.unlink(missing_ok=True)
        if retry_failed:
            shutil.rmtree(self.folder("failures"), ignore_errors=True)
            self.folder("failures").mkdir()
            (self.root / FAILURES).unlink(missing_ok=True)
        done = set(self.done_ids().tolist())
        for part in sorted(self.folder("series").glob("part-*.parquet")):
            ids = pq.read_table(part, columns=["run_id"]).column("run_id").to_numpy()
            if not set(np.unique(ids).tolist()) <= done:
                part.unlink()

    # --- parts ----------------------------------------------------------------------

    def parts(self, table: str) -> list[Path]:
        """The finished parts of a table, in name order."""
        return sorted(self.folder(table).glob("part-*.parquet"))

    def _ids(self, paths: list[Path]) -> np.ndarray:
        chunks = [pq.read_table(p, columns=["run_id"]).column("run_id").to_numpy() for p in paths]
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)

    def done_ids(self) -> np.ndarray:
        """Sorted ids of the runs already stored (completed or failed)."""
        paths = self.parts("runs") + self.parts("failures")
        if (self.root / FAILURES).is_file():
            paths.append(self.root / FAILURES)
        return np.unique(self._ids(paths))

    def write_chunk(
        self,
        first: int,
        last: int,
        *,
        runs: pd.DataFrame | None,
        series: pd.DataFrame | None,
        failures: pd.DataFrame | None,
    ) -> None:
        """Write one chunk's tables: series, then failures, then runs (the commit).

        Args:
            first: the chunk's first run id.
            last: its last run id.
            runs: completed runs (None or empty: none).
            series: per-step rows of the completed runs (None: not kept).
            failures: runs that raised (None or empty: none).
        """
        name = part_name(first, last)
        for table, frame in (("series", series), ("failures", failures), ("runs", runs)):
            if frame is not None and len(frame):
                write_parquet(frame, self.folder(table) / name)

    def consolidate_failures(self, empty: pd.DataFrame) -> pd.DataFrame:
        """Gather the failure parts into ``failures.parquet`` and remove the parts.

        Args:
            empty: an empty frame with the failures columns, written when no run failed.

        Returns:
            All failed runs, sorted by run id.
        """
        frames = [pd.read_parquet(p) for p in self.parts("failures")]
        path = self.root / FAILURES
        if path.is_file():
            frames.insert(0, pd.read_parquet(path))
        frames = [f for f in frames if len(f)]
        failures = (
            pd.concat(frames, ignore_index=True)
            .drop_duplicates("run_id")
            .sort_values("run_id")
            .reset_index(drop=True)
            if frames
            else empty
        )
        write_parquet(failures, path)
        for part in self.parts("failures"):
            part.unlink()
        if not any(self.folder("failures").iterdir()):
            self.folder("failures").rmdir()
        return failures

    # --- reading --------------------------------------------------------------------

    def read(self, table: str, *, columns: list[str] | None = None) -> pd.DataFrame:
        """Read a table (all its parts), sorted by run id (and step for series).

        Args:
            table: ``runs``, ``series`` or ``failures``.
            columns: columns to read (default all).

        Returns:
            The table; empty if nothing is stored.
        """
        if table == "failures":
            paths = self.parts("failures")
            if (self.root / FAILURES).is_file():
                paths.insert(0, self.root / FAILURES)
        else:
            paths = self.parts(table)
        frames = [pd.read_parquet(p, columns=columns) for p in paths]
        frames = [f for f in frames if len(f)]
        if not frames:
            return pd.DataFrame(columns=columns or [])
        frame = pd.concat(frames, ignore_index=True)
        if table == "failures":
            frame = frame.drop_duplicates("run_id")
        keys = [k for k in ("run_id", "step") if k in frame.columns]
        return frame.sort_values(keys).reset_index(drop=True) if keys else frame
