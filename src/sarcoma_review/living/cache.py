"""What a build keeps between builds: content hashes, the executed-chapter cache (``_build/cache/manifest.json``,
see :mod:`sarcoma_review.living.build` for its format) and the generated pages kept by the hash of their inputs."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sarcoma_review.errors import (  # noqa: F401  (re-exported for callers of the build)
    BuildError,
    BuildLockedError,
    ChapterExecutionError,
    ConfigurationError,
    DataValidationError,
    UsageError,
)
from sarcoma_review.living.plan import OUTPUT_PARAMETERS, ChapterJob, Layout

CACHE_VERSION = 1


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tree_hash(folder: Path) -> str:
    """Hash of every file under ``folder`` (relative names and contents, in sorted order)."""
    h = hashlib.sha256()
    for p in sorted(q for q in Path(folder).rglob("*") if q.is_file()):
        h.update(p.relative_to(folder).as_posix().encode() + b"\0")
        h.update(p.read_bytes() + b"\0")
    return h.hexdigest()


def package_hash(package_dir: Path) -> str:
    """Hash of every ``*.py`` under the package (relative names and contents)."""
    h = hashlib.sha256()
    for p in sorted(package_dir.rglob("*.py")):
        if "__pycache__" in p.parts:
            continue
        h.update(p.relative_to(package_dir).as_posix().encode() + b"\0")
        h.update(p.read_bytes() + b"\0")
    return h.hexdigest()


def parameters_hash(parameters: Mapping[str, Any]) -> str:
    keyed = {k: v for k, v in parameters.items() if k not in OUTPUT_PARAMETERS}
    return hashlib.sha256(json.dumps(keyed, sort_keys=True, default=str).encode()).hexdigest()


# --------------------------------------------------------------------------- toc and analyses
class Cache:
    """The content-hash cache of executed notebooks under ``_build/cache`` (see the module docstring)."""

    def __init__(self, layout: Layout):
        self.layout = layout
        self.dir = layout.cache
        self.manifest_path = self.dir / "manifest.json"
        self.chapters: dict[str, dict[str, Any]] = {}
        self._frames: dict[str, str | None] = {}
        if self.manifest_path.exists():
            try:
                data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
                if data.get("version") == CACHE_VERSION:
                    self.chapters = dict(data.get("chapters", {}))
            except (json.JSONDecodeError, AttributeError):
                self.chapters = {}

    def save(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.manifest_path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps({"version": CACHE_VERSION, "chapters": self.chapters}, indent=1, sort_keys=True),
            encoding="utf-8",
        )
        os.replace(tmp, self.manifest_path)

    def last_seconds(self, page: str) -> float:
        """How long ``page`` took when it last executed (0 when it never has): the build starts the
        longest chapters first, so that a long one does not start last and finish alone."""
        try:
            return float(self.chapters.get(page, {}).get("seconds", 0.0))
        except (TypeError, ValueError):
            return 0.0

    def lookup(self, page: str, inputs: Mapping[str, str]) -> Path | None:
        """The cached entry folder for ``page`` when still valid, else ``None``.

        Valid when the inputs are unchanged, the cached files intact, and either every data file the
        chapter read is unchanged, or none of the changed ones was read outside a frame loader and
        every frame the chapter received is, recomputed on the current data, the same (see
        :mod:`sarcoma_review.data.tracking`). In the second case the entry's file digests are
        updated, so the next lookup takes the fast path.
        """
        e = self.chapters.get(page)
        if not e or e.get("inputs") != dict(inputs):
            return None
        entry = self.dir / e["entry"]
        for name, digest in e.get("files", {}).items():
            f = entry / name
            if not f.exists() or sha256_file(f) != digest:
                return None
        now: dict[str, str | None] = {}
        for name in e.get("reads", {}):
            p = Path(name) if Path(name).is_absolute() else self.layout.root / name
            now[name] = sha256_file(p) if p.exists() else None
        changed = [n for n, d in e.get("reads", {}).items() if now[n] != d]
        if not changed:
            return entry
        raw = set(e["raw"]) if "raw" in e else set(e.get("reads", {}))  # old entries: every read is raw
        if any(n in raw or now[n] is None for n in changed):
            return None
        frames = e.get("frames", [])
        if not frames or any(self.frame_digest(fr) != fr.get("sha256") for fr in frames):
            return None
        e["reads"] = {n: d for n, d in now.items() if d is not None}
        self.save()
        return entry

    def frame_digest(self, record: Mapping[str, Any]) -> str | None:
        """:func:`sarcoma_review.data.tracking.evaluate_frame`, memoised for this build."""
        from sarcoma_review.data.tracking import evaluate_frame

        args = dict(record.get("args", {}))
        if "data_dir" in args and not Path(str(args["data_dir"])).is_absolute():
            args["data_dir"] = str(self.layout.root / str(args["data_dir"]))  # stored relative to the root
        record = dict(record, args=args)
        key = json.dumps({k: record.get(k) for k in ("module", "loader", "args")}, sort_keys=True)
        if key not in self._frames:
            self._frames[key] = evaluate_frame(record)
        return self._frames[key]

    def store(
        self,
        page: str,
        source: Path,
        inputs: Mapping[str, str],
        reads: Sequence[str],
        files: Mapping[str, Path],
        seconds: float,
        raw: Sequence[str] | None = None,
        frames: Sequence[Mapping[str, Any]] = (),
    ) -> Path:
        """Keep an executed chapter's files; ``reads`` every data file it read, ``raw`` those read
        outside a frame loader (default: all), ``frames`` the frame records (see :meth:`lookup`)."""
        entry_rel = f"entries/{uuid.uuid4().hex}"
        entry = self.dir / entry_rel
        entry.mkdir(parents=True)
        digests = {}
        for name, src in files.items():
            (entry / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, entry / name)
            digests[name] = sha256_file(entry / name)
        read_hashes = {}
        for r in reads:
            p = Path(r)
            if p.exists():
                read_hashes[self.layout.rel(p)] = sha256_file(p)
        raw_rel = sorted({self.layout.rel(Path(r)) for r in (reads if raw is None else raw)})
        self.chapters[page] = {
            "source": self.layout.rel(source),
            "inputs": dict(inputs),
            "reads": read_hashes,
            "raw": raw_rel,
            "frames": [self._relative_frame(f) for f in frames],
            "entry": entry_rel,
            "files": digests,
            "seconds": round(seconds, 3),
            "executed_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        }
        self.save()
        return entry

    def _relative_frame(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """``record`` with its ``data_dir`` relative to the root when inside it (a moved checkout
        re-evaluates its own data, never the old location's)."""
        args = dict(record.get("args", {}))
        if "data_dir" in args:
            args["data_dir"] = self.layout.rel(Path(str(args["data_dir"])))
        return dict(record, args=args)

    def prune(self, pages: Sequence[str]) -> None:
        """Forget pages no longer in the book and delete entry folders nothing refers to."""
        self.chapters = {p: e for p, e in self.chapters.items() if p in set(pages)}
        self.save()
        used = {e["entry"] for e in self.chapters.values()}
        entries = self.dir / "entries"
        if entries.exists():
            for d in entries.iterdir():
                if f"entries/{d.name}" not in used:
                    shutil.rmtree(d, ignore_errors=True)


def environment_hash(root: Path) -> str:
    """Hash of the pinned environment (``requirements.txt`` and ``constraints.txt`` when present):
    a library upgrade can change what a chapter computes, so it re-executes every chapter."""
    h = hashlib.sha256()
    for name in ("requirements.txt", "constraints.txt"):
        p = Path(root) / name
        h.update(name.encode() + b"\0" + (p.read_bytes() if p.exists() else b"") + b"\0")
    return h.hexdigest()


def chapter_inputs(layout: Layout, job: ChapterJob, pkg_hash: str, data_dir: Path) -> dict[str, str]:
    return {
        "notebook": sha256_file(job.source),
        "parameters": parameters_hash(job.parameters),
        "package": pkg_hash,
        "environment": environment_hash(layout.root),
        "data_dir": layout.rel(data_dir),
    }


# --------------------------------------------------------------------------- staging and sphinx
GENERATED_DIR = "generated"


#: Notebook metadata key of a chapter's own estimate of its execution time (``expected_seconds``),
#: used to schedule a first build, before any time is recorded.
NOTEBOOK_METADATA_KEY = "sarcoma_review"


def expected_seconds(source: Path) -> float:
    """``metadata.sarcoma_review.expected_seconds`` of the notebook at ``source`` (0 when absent)."""
    try:
        meta = json.loads(Path(source).read_text(encoding="utf-8")).get("metadata", {})
        return float(meta.get(NOTEBOOK_METADATA_KEY, {}).get("expected_seconds", 0.0))
    except (OSError, ValueError, TypeError, AttributeError):
        return 0.0


def generated_pages_key(layout: Layout, data_dir: Path, pkg_hash: str) -> str:
    """Hash of everything :func:`generate_pages` reads: the data (the build's and the checkout's own
    ``data/``, whose hashes say whether the edition is a frozen release), the package, the pinned environment,
    ``book/`` (``analyses.yml``), ``releases/``, ``CITATION.cff``, the configuration, the table of
    contents, the changelog, the version file, and the banner's git facts (the data's last commit
    date, uncommitted data changes)."""
    from sarcoma_review.living import citation

    root_data = layout.root / "data"
    h = hashlib.sha256()
    for part in (
        tree_hash(data_dir),
        tree_hash(root_data) if Path(data_dir).resolve() != root_data.resolve() else "",
        pkg_hash,
        environment_hash(layout.root),
        layout.rel(data_dir),
        tree_hash(layout.book),
        tree_hash(layout.root / "releases"),
    ):
        h.update(part.encode() + b"\0")
    for name in ("CITATION.cff", "_config.yml", "_toc.yml", "CHANGELOG.md", "src/sarcoma_review/_version.py"):
        p = layout.root / name
        h.update(name.encode() + b"\0" + (p.read_bytes() if p.is_file() else b"-") + b"\0")
    if (layout.root / "CITATION.cff").exists():
        try:
            h.update(citation.banner_text(layout.root).encode())
        except Exception as exc:  # noqa: BLE001 - generate_pages will raise it, clearly
            h.update(repr(exc).encode())
    return h.hexdigest()


def restore_generated_pages(layout: Layout, stage: Path, key: str) -> bool:
    """Copy the pages generated by an earlier build with the same :func:`generated_pages_key` into
    ``stage``; False when there are none."""
    kept = layout.cache / GENERATED_DIR / key
    try:
        files = json.loads((kept / "files.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not all((kept / "files" / rel).is_file() for rel in files):
        return False
    for rel in files:
        (stage / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(kept / "files" / rel, stage / rel)
    return True


def keep_generated_pages(layout: Layout, generated: Path, key: str) -> None:
    """Keep the files :func:`generate_pages` wrote into the folder ``generated`` under
    ``_build/cache/generated/<key>`` (only the newest set is kept)."""
    folder = layout.cache / GENERATED_DIR
    shutil.rmtree(folder, ignore_errors=True)
    files = sorted(p.relative_to(generated).as_posix() for p in generated.rglob("*") if p.is_file())
    tmp = folder / (key + ".tmp")
    shutil.copytree(generated, tmp / "files")
    (tmp / "files.json").write_text(json.dumps(files), encoding="utf-8")
    tmp.rename(folder / key)
