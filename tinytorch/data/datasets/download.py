"""Downloading a dataset file safely: mirrors, checksum, atomic write, fast failure offline.

``download_file(name, directory, mirrors, sha256)`` tries each mirror in turn. The bytes go to
a temporary file in the target directory; only when their SHA-256 matches is that file renamed
to its final name, so an interrupted or corrupted download never leaves a file that looks
complete. When the network cannot be reached at all (name resolution fails, connection
refused, timeout), the remaining mirrors are not tried: offline is reported at once.
"""

from __future__ import annotations

import hashlib
import os
import socket
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

from tinytorch.util.flags import env_path

DEFAULT_TIMEOUT = 5.0  # seconds per connection: offline machines should fail fast


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are neither on disk nor downloadable; the message says what to put
    where."""


class ChecksumError(ValueError):
    """Downloaded bytes did not match the published checksum."""


class OfflineError(OSError):
    """The network could not be reached."""


def sha256_of(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _fetch(url: str, destination: Path, sha256: str | None, timeout: float) -> None:
    """Stream ``url`` into a temp file beside ``destination``; rename it once verified."""
    request = urllib.request.Request(url, headers={"User-Agent": "tinytorch"})
    fd, tmp_name = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.")
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as resp:
            while block := resp.read(1 << 16):
                digest.update(block)
                out.write(block)
        if sha256 is not None and digest.hexdigest() != sha256:
            raise ChecksumError(
                f"{url}: SHA-256 {digest.hexdigest()} does not match the expected {sha256}"
            )
        os.replace(tmp, destination)
    finally:
        tmp.unlink(missing_ok=True)


def _is_offline(exc: BaseException) -> bool:
    """Did ``exc`` come from not reaching the host at all (rather than a bad answer)?"""
    if isinstance(exc, urllib.error.HTTPError):
        return False
    reason = getattr(exc, "reason", exc)
    return isinstance(reason, (socket.gaierror, socket.timeout, TimeoutError, ConnectionError))


def download_file(
    name: str,
    directory: str | os.PathLike,
    mirrors: Sequence[str],
    sha256: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    quiet: bool = False,
) -> Path:
    """Download ``name`` from the first mirror that serves it with the right checksum.

    Returns the final path. Raises ``OfflineError`` when the network is unreachable and
    ``ChecksumError`` / ``OSError`` when every mirror failed.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    destination = directory / name
    errors: list[str] = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name
        if not quiet:
            print(f"downloading {url}", flush=True)
        try:
            _fetch(url, destination, sha256, timeout)
            return destination
        except (OSError, ChecksumError) as exc:
            if _is_offline(exc):
                raise OfflineError(f"network unreachable: {getattr(exc, 'reason', exc)}") from exc
            errors.append(f"{url}: {exc}")
    raise OSError(f"could not download {name}:\n  " + "\n  ".join(errors))


def default_dataset_dir(name: str) -> Path:
    """Where dataset ``name`` is looked for and downloaded by default:
    ``$TINYTORCH_DATA_DIR/<name>`` if that variable is set, else
    ``~/.cache/tinytorch/datasets/<name>``."""
    root = env_path("TINYTORCH_DATA_DIR")
    if root is not None:
        return root / name
    return Path.home() / ".cache" / "tinytorch" / "datasets" / name


def download_or_explain(
    name: str,
    directory: Path,
    mirrors: Sequence[str],
    sha256: str | None,
    explain: Callable[[str], str],
    missing: str,
    timeout: float = DEFAULT_TIMEOUT,
) -> Path:
    """``download_file``, with every failure turned into a ``DatasetNotFoundError`` whose
    message is ``explain(reason)`` (the loader's "put these files there" text).

    ``missing`` says what is absent (``"2 of its 4 files missing from DIR"``); offline, the
    reason is ``"<missing> and network unreachable: ..."``; a bad checksum or a failed
    download gives ``"download of <name> failed: ..."``.
    """
    try:
        return download_file(name, directory, mirrors, sha256, timeout=timeout)
    except OfflineError as exc:
        raise DatasetNotFoundError(explain(f"{missing} and {exc}")) from None
    except (OSError, ValueError) as exc:
        raise DatasetNotFoundError(explain(f"download of {name} failed: {exc}")) from None


__all__ = [
    "ChecksumError",
    "DatasetNotFoundError",
    "OfflineError",
    "default_dataset_dir",
    "download_file",
    "download_or_explain",
    "sha256_of",
]
