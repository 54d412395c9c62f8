"""The sweep store: Parquet parts written atomically, a ledger, a lock, a manifest, resume.

Layout of a store folder ``DIR``::

    DIR/manifest.json                    the resolved design, its hash, versions, git commit
    DIR/ledger.jsonl                     one line per file written: name, SHA-256, rows, design hash
    DIR/.lock                            held (flock) by the sweep writing the store
    DIR/runs/part-<first>-<last>.parquet one row per completed run (run id, factors, seed, outputs)
    DIR/series/part-<first>-<last>.parquet per-step rows, when the design asks for them
    DIR/failures/part-<first>-<last>.parquet runs that raised, while the sweep is going
    DIR/failures.parquet                 every failed run, consolidated when the sweep ends
    DIR/quarantine/<time>/...            files found not to belong, moved aside (never deleted)

Every file is written to a hidden temporary name in its folder, entered in the
ledger with its SHA-256, and renamed (``os.replace``): a killed sweep never
leaves a half-written part under a final name, and readers
(``pandas.read_parquet(DIR / "runs")``) skip the temporary files. A chunk
writes its series part first, then its failures part, then its runs part: a
run is *done* once its id is in a runs or failures part, and on resume a series
part holding a run that is not done (a chunk killed between its writes) is
deleted and rewritten. This is EMA Workbench's "run, save, then analyse" with
the save made incremental and restartable.

One process writes a store at a time: :meth:`Store.open` takes an exclusive
``flock`` on ``DIR/.lock`` (the kernel releases it when the process dies, so a
killed sweep leaves no stale lock) and writes the holder's pid, host and
command into it for the refusal message. Before resuming, every part is
verified against the ledger (its name and checksum), the design hash and the
run ids it may hold; a part that does not belong (foreign, duplicated,
truncated, unreadable) is moved into ``DIR/quarantine/`` and its runs run again.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import socket
import stat
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from model.errors import ScenarioError
from model.output import atomic_write, git_commit, versions
from model.safe_yaml import clip, read_bytes

try:
    import fcntl
except ImportError:  # not POSIX: no lock
    fcntl = None  # type: ignore[assignment]

MANIFEST = "manifest.json"
FAILURES = "failures.parquet"
LEDGER = "ledger.jsonl"
LOCK = ".lock"
QUARANTINE = "quarantine"
TABLES = ("runs", "series", "failures")
#: The largest manifest and ledger read (a manifest holds a resolved scenario of at most
#: 1 MiB and one entry per session; a ledger about 200 bytes per part).
MANIFEST_LIMIT = 64 << 20
LEDGER_LIMIT = 1 << 30
MANIFEST_WHAT = "a sweep's manifest"
#: The manifest's ``kind``: what marks a folder as a sweep store.
KIND = "alliance-cohesion sweep"
#: Key of the store's entry in each part's Parquet metadata.
META_KEY = b"alliance_cohesion"
#: Packages of the experiment layer recorded besides the model's.
EXTRA_PACKAGES = ("SALib", "dask", "distributed", "scipy", "matplotlib")
_PART = re.compile(r"^part-(\d{9})-(\d{9})\.parquet$")
_DESIGN_KEYS = (
    "name",
    "factors",
    "sampler",
    "outputs",
    "replications",
    "quarters",
    "seed",
    "n_points",
    "n_runs",
)


class RefusalError(ScenarioError):
    """A user error whose remedy the command line phrases in its own flags.

    Attributes:
        problem: the message without its remedy.
    """

    def __init__(self, problem: str, remedy: str) -> None:
        super().__init__(f"{problem}; {remedy}")
        self.problem = problem


class StoreExistsError(RefusalError):
    """The folder already holds a sweep and resuming was not asked for."""


class OtherDesignError(RefusalError):
    """The store holds a sweep of another design (or another sample)."""


class StoreLockedError(ScenarioError):
    """Another live process is writing the store."""


class DamagedStoreError(ScenarioError):
    """The store's manifest is damaged, or parts do not belong to its sweep (resume repairs it)."""


def as_path(value: Any, name: str) -> Path:
    """Check a folder argument: a path or a string naming one."""
    if isinstance(value, str) and value.strip():
        return Path(value)
    if isinstance(value, os.PathLike):
        return Path(value)
    raise ScenarioError(f"{name}: {value!r} is not a folder; allowed a path or a non-empty string")


def write_parquet(frame: pd.DataFrame | pa.Table, path: Path) -> None:
    """Write a DataFrame (no index) or an Arrow table to Parquet, atomically."""
    table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def all_versions() -> dict[str, str]:
    """Versions of Python, the model's packages and the experiment layer's."""
    return versions(extra=EXTRA_PACKAGES)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def part_name(first: int, last: int) -> str:
    """File name of the part holding run ids ``first`` to ``last``."""
    return f"part-{first:09d}-{last:09d}.parquet"


def sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_problem(manifest: Any) -> str | None:
    """What makes a manifest unusable as a sweep's (None if it is sound)."""
    if not isinstance(manifest, dict):
        return f"is not a JSON object (it is {type(manifest).__name__})"
    if not manifest:
        return "is empty"
    if manifest.get("kind") != KIND:
        return f"is not a sweep's manifest (kind {manifest.get('kind')!r}, not {KIND!r})"
    for key in ("design_hash", "sample_hash"):
        if not isinstance(manifest.get(key), str):
            return f"lacks {key}"
    design = manifest.get("design")
    if not isinstance(design, dict):
        return "lacks the design"
    missing = [key for key in _DESIGN_KEYS if key not in design]
    if missing:
        return f"lacks design.{missing[0]}"
    try:
        text = json.dumps(design, sort_keys=True)
    except (TypeError, ValueError, RecursionError):
        return "holds a design that is not plain JSON"
    if hashlib.sha256(text.encode()).hexdigest() != manifest["design_hash"]:
        return "holds a design that does not match its design_hash (changed since the sweep wrote it)"
    return None


@dataclass(frozen=True)
class Problem:
    """A file in the store that does not belong to its sweep.

    Attributes:
        name: its path inside the store (e.g. ``runs/part-000000000-000000009.parquet``).
        reason: why, in a few words.
    """

    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.name} ({self.reason})"


def describe(problems: list[Problem], *, limit: int = 3) -> str:
    """A few problems in one line (and how many more)."""
    text = "; ".join(str(p) for p in problems[:limit])
    more = len(problems) - limit
    return text + (f"; and {more} more" if more > 0 else "")


@dataclass
class Store:
    """A sweep's folder: parts, failures, ledger, lock and manifest.

    Attributes:
        root: the folder.
        digest: the design hash parts are written with (set by :meth:`open`).
        repairs: one line per repair made when the store was opened (for the user).
    """

    root: Path
    digest: str = ""
    repairs: list[str] = field(default_factory=list)
    _lock: int | None = field(default=None, repr=False)

    @property
    def manifest_path(self) -> Path:
        """Path of ``manifest.json``."""
        return self.root / MANIFEST

    def folder(self, table: str) -> Path:
        """Folder of a table's parts (``runs``, ``series`` or ``failures``)."""
        return self.root / table

    # --- the lock -------------------------------------------------------------------

    def lock(self) -> None:
        """Take the store's write lock, or refuse if a live process holds it.

        Raises:
            StoreLockedError: another process holds the lock (its pid, host and command named).
        """
        if fcntl is None or self._lock is not None:
            return
        try:
            fd = os.open(self.root / LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
        except OSError as exc:
            reason = exc.strerror or exc.__class__.__name__
            if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
                raise ScenarioError(
                    f"{self.root}: cannot be written ({reason}), and a sweep writes into its store; "
                    "copy the store to a folder you can write to and resume it there"
                ) from None
            raise ScenarioError(
                f"{self.root / LOCK}: cannot be used as the store's lock file ({reason}); "
                "if no sweep is writing this store, remove it"
            ) from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise ScenarioError(
                f"{self.root / LOCK}: is not a file, so it cannot be the store's lock file; "
                "if no sweep is writing this store, remove it"
            )
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _holder_text(os.pread(fd, 4096, 0))
            os.close(fd)
            raise StoreLockedError(
                f"{self.root}: another sweep is writing this store ({holder}); "
                "wait for it to end, or stop it; a stopped sweep can be resumed"
            ) from None
        info = {"pid": os.getpid(), "host": socket.gethostname(), "command": sys.argv, "since": _now()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        self._lock = fd

    def close(self) -> None:
        """Release the write lock (if held)."""
        if self._lock is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._lock, 0)
            os.close(self._lock)
            self._lock = None

    def writer(self) -> str | None:
        """Who holds the write lock now (pid, host, command), or None if nobody does."""
        path = self.root / LOCK
        if fcntl is None or self._lock is not None or not path.is_file():
            return None
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return _holder_text(os.pread(fd, 4096, 0))
        finally:
            os.close(fd)
        return None

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
        """Create a store for a design, or reopen one to resume it, and lock it.

        On resume the parts are verified (:meth:`inspect`); what does not belong is
        moved into ``quarantine/`` and its runs are left to run again. A damaged
        manifest is rebuilt from the design when the ledger shows the parts are
        this design's. Each repair is described in :attr:`repairs`.

        Args:
            root: the store folder.
            design: the resolved design (JSON-ready).
            digest: the design's hash.
            sample_digest: hash of the sample matrix.
            resume: finish the sweep stored in ``root`` (a fresh one if ``root`` is empty).
            retry_failed: on resume, forget the failed runs so they run again.

        Returns:
            The store, locked and ready for parts; release it with :meth:`close`.

        Raises:
            ScenarioError: ``root`` holds another sweep, a sweep and ``resume`` is off,
                files that are not a sweep, or another process is writing it.
        """
        store = cls(Path(root), digest=digest)
        if store.root.is_dir():
            store._refuse_foreign()  # before the lock: nothing is added to someone else's folder
        elif store.root.exists():
            raise ScenarioError(f"{store.root}: is a file, not a folder; choose a new or empty folder")
        try:
            store.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ScenarioError(
                f"{store.root}: cannot create the store there ({exc.strerror or exc.__class__.__name__}); "
                "choose a folder you can write to"
            ) from None
        store.lock()
        try:
            store._open(design, sample_digest, resume=resume, retry_failed=retry_failed)
        except BaseException:
            store.close()
            raise
        return store

    def _evidence(self) -> bool:
        """Whether the folder holds the traces of a sweep's runs (a ledger or parts)."""
        return (self.root / LEDGER).is_file() or self.folder("runs").is_dir()

    def _refuse_foreign(self) -> None:
        """Refuse a folder that holds files and no sweep (someone's manifest.json, other files).

        Raises:
            ScenarioError: the folder is not empty and is not a sweep store.
        """
        if self._evidence():
            return
        if self.manifest_path.exists():
            _, problem = self._read_manifest()
            if problem:
                raise ScenarioError(
                    f"{self.root}: holds a {MANIFEST} that {problem} and no sweep; "
                    "choose a new or empty folder"
                )
            return
        others = sorted(p.name for p in self.root.iterdir() if p.name != LOCK)
        if others:
            raise ScenarioError(
                f"{self.root}: folder is not empty ({clip(others[0], 80)}, ...) and holds no sweep "
                f"(no {MANIFEST}); choose a new or empty folder"
            )

    def _open(self, design: dict[str, Any], sample_digest: str, *, resume: bool, retry_failed: bool) -> None:
        root, digest = self.root, self.digest
        self._refuse_foreign()  # again under the lock: the folder may have changed meanwhile
        evidence = self._evidence()
        if not self.manifest_path.exists() and not evidence:
            self._create(design, sample_digest)
            return
        manifest, problem = self._read_manifest()
        if not resume:
            raise StoreExistsError(f"{root}: already holds a sweep", "resume it, or choose a new folder")
        self._repair_layout()
        if problem:
            self._rebuild(design, sample_digest, problem)
        else:
            old = manifest["design_hash"]
            if old != digest:
                raise OtherDesignError(
                    f"{root}: holds a sweep of design {manifest['design'].get('name')!r} "
                    f"with hash {old[:12]}, not this design (hash {digest[:12]})",
                    "choose a new folder for this design",
                )
            if manifest["sample_hash"] != sample_digest:
                raise OtherDesignError(
                    f"{root}: the design draws a different sample now (sample hash "
                    f"{manifest['sample_hash'][:12]} stored, {sample_digest[:12]} now; "
                    f"SALib {manifest.get('versions', {}).get('SALib')} stored, "
                    f"{all_versions()['SALib']} now)",
                    "choose a new folder",
                )
        self.clean(retry_failed=retry_failed)
        self.repair(n_runs=int(design["n_runs"]), series=bool(design["outputs"].get("series")))

    def _odd_table(self, table: str) -> str | None:
        """What is wrong with a table's place in the store: not a folder, or a link elsewhere."""
        folder = self.folder(table)
        if folder.is_symlink():  # its parts would be read from, and written to, somewhere else
            return "a symbolic link, not a folder of the store"
        if folder.exists() and not folder.is_dir():
            return "not a folder"
        return None

    def _repair_layout(self) -> None:
        """Move aside a table that is not a folder and a ledger that is not a file (resume only).

        Without its ledger the parts are verified by reading them and entered in a new one.
        """
        odd = [t for t in TABLES if self._odd_table(t)]
        ledger = self.root / LEDGER
        if (ledger.exists() or ledger.is_symlink()) and (ledger.is_symlink() or not ledger.is_file()):
            odd.append(LEDGER)
        if odd:
            where = self.quarantine(odd).relative_to(self.root)
            self.repairs.append(
                f"moved {', '.join(odd)} (not what a store keeps there) into {where}/; "
                "the runs they held run again, the parts left were verified by reading them"
            )

    def _create(self, design: dict[str, Any], sample_digest: str) -> None:
        for table in TABLES:
            self.folder(table).mkdir(exist_ok=True)
        (self.root / LEDGER).touch()
        self.write_manifest(
            {
                "kind": KIND,
                "design": design,
                "design_hash": self.digest,
                "sample_hash": sample_digest,
                "created": _now(),
                "status": "running",
                "git_commit": git_commit(),
                "versions": all_versions(),
                "command": sys.argv,
                "sessions": [],
            }
        )

    def _read_manifest(self) -> tuple[dict[str, Any], str | None]:
        """The manifest and what is wrong with it (None if sound)."""
        try:
            data = read_bytes(
                self.manifest_path, max_bytes=MANIFEST_LIMIT, what=MANIFEST_WHAT, missing_ok=True
            )
            if data is None:
                return {}, "is missing"
            manifest = _json(data)
        except ScenarioError as exc:
            return {}, f"cannot be read ({str(exc).split(': ', 1)[-1]})"
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            return {}, f"cannot be read ({exc.__class__.__name__})"
        return manifest, manifest_problem(manifest)

    def _rebuild(self, design: dict[str, Any], sample_digest: str, problem: str) -> None:
        """Replace a damaged manifest from the design, if the ledger says the parts are its."""
        others = {e.get("design_hash") for e in (self.ledger() or {}).values()} - {self.digest}
        if others:
            raise OtherDesignError(
                f"{self.root}: its {MANIFEST} {problem}, and its ledger names parts of another "
                f"design (hash {sorted(map(str, others))[0][:12]}), not this one (hash {self.digest[:12]})",
                "choose a new folder for this design",
            )
        where = ""
        if self.manifest_path.exists():
            where = f"; the old one is in {self.quarantine([MANIFEST]).relative_to(self.root)}/"
        self._create(design, sample_digest)
        self.repairs.append(f"{MANIFEST} {problem}; rebuilt it from the design{where}")

    def manifest(self) -> dict[str, Any]:
        """The manifest as stored.

        Raises:
            ScenarioError: no manifest, or not valid JSON.
        """
        if not self.root.is_dir():
            what = "no such folder" if not self.root.exists() else "not a folder"
            raise ScenarioError(f"{self.root}: not a sweep store ({what})")
        try:
            data = read_bytes(
                self.manifest_path, max_bytes=MANIFEST_LIMIT, what=MANIFEST_WHAT, missing_ok=True
            )
        except ScenarioError as exc:
            raise DamagedStoreError(f"{exc}; resume the sweep with its design to rebuild it") from None
        if data is None:
            raise ScenarioError(f"{self.root}: not a sweep store (no {MANIFEST})")
        try:
            return _json(data)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise DamagedStoreError(
                f"{self.manifest_path}: not valid JSON ({exc.__class__.__name__}); "
                "resume the sweep with its design to rebuild it"
            ) from None

    def verified(self) -> dict[str, Any]:
        """The manifest of a sound store, for reading it: the manifest and every part checked.

        Raises:
            ScenarioError: not a store.
            DamagedStoreError: a damaged manifest, or a file that does not belong (resume repairs it).
        """
        manifest = self.manifest()
        problem = manifest_problem(manifest)
        if problem:
            raise DamagedStoreError(
                f"{self.manifest_path}: {problem}; resume the sweep with its design to rebuild it"
            )
        self.check(n_runs=int(manifest["design"]["n_runs"]), digest=manifest["design_hash"])
        return manifest

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Replace the manifest atomically."""
        text = json.dumps(manifest, indent=2, default=str) + "\n"
        atomic_write(self.manifest_path, lambda tmp: tmp.write_text(text))

    def clean(self, *, retry_failed: bool = False) -> None:
        """Remove what an interrupted sweep of this store can leave: temporary files.

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
            for part in self.parts("failures"):
                part.unlink()
            (self.root / FAILURES).unlink(missing_ok=True)

    # --- verifying ------------------------------------------------------------------

    def ledger(self) -> dict[str, dict[str, Any]] | None:
        """The ledger's entries by file name (the last entry of a name wins); None if there is none.

        A line that is not a whole entry (a write cut short) is skipped: the file it
        was for never got its final name, or it is reported as not in the ledger.
        """
        try:
            data = read_bytes(
                self.root / LEDGER, max_bytes=LEDGER_LIMIT, what="the store's ledger", missing_ok=True
            )
        except ScenarioError as exc:
            raise DamagedStoreError(f"{exc}; resume the sweep to repair the store") from None
        if data is None:
            return None
        text = data.decode("utf-8", "replace")
        entries = {}
        for line in text.splitlines():
            try:
                entry = json.loads(line)
                entries[str(entry["name"])] = entry
            except (ValueError, KeyError, TypeError, RecursionError):
                continue
        return entries

    def _record(self, name: str, path: Path, rows: int) -> None:
        entry = {"name": name, "sha256": sha256(path), "rows": rows, "design_hash": self.digest}
        with (self.root / LEDGER).open("a") as ledger:
            ledger.write(json.dumps(entry) + "\n")

    def files(self) -> list[str]:
        """Names (inside the store) of the files the tables are read from."""
        names = []
        for table in TABLES:
            folder = self.folder(table)
            if folder.is_dir() and not folder.is_symlink():
                names += sorted(f"{table}/{p.name}" for p in folder.iterdir() if not p.name.startswith("."))
        if (self.root / FAILURES).exists():
            names.append(FAILURES)
        return names

    def inspect(self, *, n_runs: int, digest: str) -> list[Problem]:
        """Files that do not belong to the sweep.

        A file does not belong when it is not in the ledger, was written by another
        design, is damaged (its checksum differs), cannot be read, or holds run ids out
        of range or already stored in another file.

        A store without a ledger (written before ledgers existed) is checked by reading
        its parts only.

        Args:
            n_runs: runs in the design.
            digest: the design hash.

        Returns:
            The problems, in file order; the others are the sweep's.
        """
        ledger = self.ledger()
        problems = [Problem(t, why) for t in TABLES if (why := self._odd_table(t))]
        owner: dict[str, dict[int, str]] = {"done": {}, "series": {}}
        for name in self.files():
            path = self.root / name
            table = name.split("/", 1)[0] if "/" in name else "failures"
            reason = self._check(name, path, table, ledger, n_runs, digest)
            ids: np.ndarray | None = None
            if reason is None:
                try:
                    ids = np.unique(pq.read_table(path, columns=["run_id"]).column("run_id").to_numpy())
                except Exception as exc:
                    reason = f"unreadable: {exc.__class__.__name__}"
            if reason is None and ids is not None:
                reason = _range_problem(name, ids, n_runs)
            seen = owner["series" if table == "series" else "done"]
            if reason is None and ids is not None:
                clash = next((int(i) for i in ids.tolist() if int(i) in seen), None)
                if clash is not None:
                    reason = f"run {clash} is already in {seen[clash]}"
                else:
                    seen.update(dict.fromkeys(ids.tolist(), name))
            if reason is not None:
                problems.append(Problem(name, reason))
        return problems

    def _check(
        self,
        name: str,
        path: Path,
        table: str,
        ledger: dict[str, dict[str, Any]] | None,
        n_runs: int,
        digest: str,
    ) -> str | None:
        if not path.is_file():
            return "not a file"
        if name != FAILURES and not _PART.match(path.name):
            return "not a part's name"
        if ledger is None:
            meta = _part_meta(path)
            if meta is not None and meta.get("design_hash") != digest:
                return "written by another design"
            return None
        entry = ledger.get(name)
        if entry is not None and entry.get("design_hash") == digest and sha256(path) == entry.get("sha256"):
            return None
        meta = _part_meta(path)
        if meta is not None and meta.get("design_hash") != digest:
            return "written by another design"
        if entry is None:
            return "not in the store's ledger"
        return "checksum differs from the ledger's: damaged or truncated"

    def check(self, *, n_runs: int, digest: str) -> None:
        """Refuse to read a store whose parts do not all belong (analysis reads only sound stores).

        Raises:
            DamagedStoreError: a file does not belong; resuming the sweep repairs it.
        """
        problems = self.inspect(n_runs=n_runs, digest=digest)
        if problems:
            raise DamagedStoreError(
                f"{self.root}: {len(problems)} file{'s' if len(problems) > 1 else ''} "
                f"do{'' if len(problems) > 1 else 'es'} not belong to its sweep: {describe(problems)}; "
                "resume the sweep to move them into quarantine/ and run their runs again"
            )

    def repair(self, *, n_runs: int, series: bool = False) -> None:
        """Quarantine what does not belong, drop orphan series parts, enter legacy parts in a ledger.

        Args:
            n_runs: runs in the design.
            series: the design keeps series; a runs part whose runs lost their series
                (a series part quarantined or missing) is moved aside too, so they run again.
        """
        problems = self.inspect(n_runs=n_runs, digest=self.digest)
        if series:
            bad = {p.name for p in problems}
            kept = [p for p in self.parts("series") if f"series/{p.name}" not in bad]
            have = set(np.unique(self._ids(kept)).tolist())
            for part in self.parts("runs"):
                name = f"runs/{part.name}"
                if name not in bad and not set(self._ids([part]).tolist()) <= have:
                    problems.append(Problem(name, "the series of its runs are missing"))
        if problems:
            where = self.quarantine([p.name for p in problems]).relative_to(self.root)
            self.repairs.append(
                f"moved {len(problems)} file{'s' if len(problems) > 1 else ''} that did not belong "
                f"into {where}/: {describe(problems)}; their runs run again"
            )
        done = set(self.done_ids().tolist())
        for part in self.parts("series"):  # a chunk killed between its series and its runs part
            ids = pq.read_table(part, columns=["run_id"]).column("run_id").to_numpy()
            if not set(np.unique(ids).tolist()) <= done:
                part.unlink()
        if not (self.root / LEDGER).is_file():  # a store from before ledgers: enter its parts
            for name in self.files():
                self._record(name, self.root / name, pq.read_metadata(self.root / name).num_rows)
            (self.root / LEDGER).touch()

    def quarantine(self, names: list[str]) -> Path:
        """Move files into ``quarantine/<time>/`` (keeping their paths inside the store).

        Returns:
            The folder they went into.
        """
        if (self.root / QUARANTINE).is_symlink() or (self.root / QUARANTINE).is_file():
            raise DamagedStoreError(
                f"{self.root / QUARANTINE}: is not a folder of the store (a link or a file), so nothing "
                "is moved there; move it away and resume again"
            )
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        base = self.root / QUARANTINE / stamp
        n = 1
        while base.exists():
            n += 1
            base = self.root / QUARANTINE / f"{stamp}-{n}"
        for name in names:
            target = base / name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.root / name, target)
        return base

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

    def write_part(self, name: str, frame: pd.DataFrame) -> None:
        """Write a table's file: to a temporary name, into the ledger, then renamed into place.

        Args:
            name: its path inside the store (``runs/part-...parquet``, ``failures.parquet``).
            frame: its rows.
        """
        table = pa.Table.from_pandas(frame, preserve_index=False)
        meta = dict(table.schema.metadata or {})
        meta[META_KEY] = json.dumps({"design_hash": self.digest}).encode()
        table = table.replace_schema_metadata(meta)

        def write(tmp: Path) -> None:
            pq.write_table(table, tmp)
            self._record(name, tmp, len(frame))

        atomic_write(self.root / name, write)

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
                self.write_part(f"{table}/{name}", frame)

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
        self.write_part(FAILURES, failures)
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


def _json(data: bytes) -> Any:
    """JSON from bytes (UTF-8); deep nesting is a RecursionError for the caller to report."""
    return json.loads(data.decode("utf-8"))


def _holder_text(data: bytes) -> str:
    """The lock holder's pid, host and command, from the lock file's contents."""
    try:
        info = json.loads(data.decode())
        command = " ".join([Path(info["command"][0]).name, *info["command"][1:]])
        return f"pid {info['pid']} on {info['host']} since {info['since']}: {command}"
    except (ValueError, KeyError, TypeError, IndexError):
        return "a process that has not said who it is yet"


def _part_meta(path: Path) -> dict[str, Any] | None:
    try:
        meta = pq.read_schema(path).metadata or {}
        return json.loads(meta[META_KEY]) if META_KEY in meta else None
    except Exception:
        return None


def _range_problem(name: str, ids: np.ndarray, n_runs: int) -> str | None:
    if len(ids) and (ids[0] < 0 or ids[-1] >= n_runs):
        bad = int(ids[0] if ids[0] < 0 else ids[-1])
        return f"run {bad} is not a run of this design (0 to {n_runs - 1})"
    match = _PART.match(Path(name).name)
    if match and len(ids):
        first, last = int(match.group(1)), int(match.group(2))
        if ids[0] < first or ids[-1] > last:
            return f"holds runs outside its name's {first}-{last}"
    return None


#: The largest marker file read (a marker lists a few dozen names).
MARKER_LIMIT = 1 << 20


def _plain_name(name: str) -> bool:
    """A file name inside one folder: not empty, no separator, not ``.`` or ``..``, no NUL."""
    return (
        bool(name) and "/" not in name and "\\" not in name and "\0" not in name and name not in (".", "..")
    )


class OutputFiles(list[Path]):
    """The files a command writes into a folder, which it never shares with others' files.

    A folder is the command's own when it is empty, or when it holds the command's
    marker (a hidden JSON file listing the files the command wrote there, each with
    its SHA-256). Writing again into its own folder replaces only the files it wrote:
    each name is claimed (entered in the marker) before it is written and its checksum
    recorded as soon as it is written; the files of the previous output that are not
    written again are removed at the end. A listed file whose bytes are not those
    recorded (edited since, listed without a checksum, or listed by a marker the
    command did not write) is never replaced nor removed: it is not the command's.

    Args:
        folder: where the files go.
        marker: the marker's file name (e.g. ``.cohesion-analysis``).
        kind: what writes there, for the marker and messages (e.g. ``cohesion analyze``).
        create: make the folder now (False: only check that it could be written to).

    Raises:
        ScenarioError: the folder holds files and not the marker (or a file that is
            not a folder), the marker cannot be read or is of version 0.1 (names
            without checksums), or the folder cannot be created.
    """

    def __init__(self, folder: Path, marker: str, *, kind: str, create: bool = True) -> None:
        super().__init__()
        self.folder, self.kind = Path(folder), kind
        self.marker = self.folder / marker
        #: The previous output's files: name -> SHA-256 (None: claimed, not written).
        self.previous: dict[str, str | None] = {}
        #: This output's files: name -> SHA-256 once written.
        self.sums: dict[str, str | None] = {}
        if self.folder.exists() and not self.folder.is_dir():
            raise ScenarioError(f"{self.folder}: is a file, not a folder; give a new or empty folder")
        try:
            if self.folder.is_dir() and any(self.folder.iterdir()):
                if not self.marker.is_file():
                    raise ScenarioError(
                        f"{self.folder}: folder is not empty and holds no earlier output of {kind} "
                        f"(no {marker} list of the files it wrote); give a new or empty folder"
                    )
                self.previous = self._listed()
            if create:
                self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ScenarioError(
                f"{self.folder}: cannot write there ({exc.strerror or exc.__class__.__name__}); "
                "give a folder you can write to"
            ) from None

    def _listed(self) -> dict[str, str | None]:
        try:
            data = _json(read_bytes(self.marker, max_bytes=MARKER_LIMIT, what="a list of written files"))
            files = data["files"]
        except ScenarioError as exc:
            raise ScenarioError(f"{exc}; give a new or empty folder") from None
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise ScenarioError(
                f"{self.marker}: cannot be read ({exc.__class__.__name__}); give a new or empty folder"
            ) from None
        if isinstance(files, list):
            raise ScenarioError(
                f"{self.marker}: lists files without checksums (written by alliance-cohesion 0.1), "
                "so they cannot be told from files of yours; give a new or empty folder"
            )
        if not isinstance(files, dict):
            raise ScenarioError(
                f"{self.marker}: cannot be read (no list of files); give a new or empty folder"
            )
        return {
            str(name): (digest if isinstance(digest, str) else None)
            for name, digest in files.items()
            if _plain_name(str(name)) and name != self.marker.name
        }

    def _still_ours(self, name: str) -> bool:
        """Whether a previous output's file holds exactly the bytes the marker recorded."""
        path = self.folder / name
        recorded = self.previous.get(name)
        if recorded is None:
            return False
        try:
            return path.is_file() and not path.is_symlink() and sha256(path) == recorded
        except OSError:
            return False

    def _write_marker(self, files: dict[str, str | None]) -> None:
        text = json.dumps(
            {"kind": self.kind, "written": _now(), "files": dict(sorted(files.items()))}, indent=1
        )
        atomic_write(self.marker, lambda tmp: tmp.write_text(text + "\n"))

    def _current(self) -> dict[str, str | None]:
        return {p.name: self.sums.get(p.name) for p in self}

    def _listing(self) -> dict[str, str | None]:
        """What the marker lists mid-output: the previous files still there, and this output's."""
        kept = {n: d for n, d in self.previous.items() if n not in self.sums}
        return kept | self.sums

    def claim(self, path: Path) -> Path:
        """Enter a file in the marker before it is written.

        Raises:
            ScenarioError: a file of that name is there and was not written by the
                command (or was changed since it was).
        """
        path = Path(path)
        if path.parent != self.folder:
            raise ScenarioError(f"{path}: outside {self.folder}")
        there = path.exists() or path.is_symlink()
        ours = path.name in self.sums or self._still_ours(path.name)
        if there and not ours:
            raise ScenarioError(
                f"{path}: was not written by {self.kind} (or was changed since); "
                "move it away or give a new or empty folder"
            )
        if path.name not in self.sums:
            # The previous checksum stays listed until the new bytes are written (add),
            # so an interruption in between leaves a file that is still recognised.
            self.sums[path.name] = self.previous.get(path.name) if there else None
            self._write_marker(self._listing())
        return path

    def add(self, path: Path) -> None:
        """Count a claimed file as written and record its checksum in the marker."""
        if path not in self:
            self.append(path)
        self.sums[path.name] = sha256(path)
        self._write_marker(self._listing())

    def finish(self) -> None:
        """Remove the previous output's files not written again; list only this output's."""
        current = {p.name for p in self}
        for name in sorted(set(self.previous) - current):
            if self._still_ours(name):
                (self.folder / name).unlink(missing_ok=True)
        self.previous = {}
        self._write_marker(self._current())
