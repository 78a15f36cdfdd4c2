"""Whether a run's outputs are up to date: the record kept with each output set.

A re-run on the same exports with the same settings would write the same bytes again, and
most of its time would go to importing the numerical stack only to find that out. So each
output set (:mod:`bessx.io.outputs`) holds a record of what it was made from:

* the bessx version and a token of the settings (every field of the run's
  :class:`~bessx.config.Config`, the outputs asked for and the site file's path),
* each export as it was when the run began: resolved path, size, modification and status
  change times [ns] and inode, and, for an export changed within :data:`RACY_SECONDS` of
  that moment, its content fingerprint (``bessx.io.entries.fingerprint``),
* the content hash of the other inputs (the topology file, the site file),
* each output file's size, modification time and inode.

:func:`check` compares a folder's current set with what a run would use now. The outputs
are up to date when the record exists, the version, the token and the list of exports are
the same, every export and input is unchanged and every output of the set is still there
as it was written, shown under its name. Only then may a run do nothing.

How an export counts as unchanged: any write to a file sets its status change time
(``st_ctime_ns``) to the moment of the write, and no program can set it back (``touch -r``
and copy tools restore the modification time only; a copy is a new inode). So an export
whose size, both times and inode are those recorded has not been written since, without
reading a byte of it. The one exception is a write in the same tick of the file system's
clock as the write before it: an export changed shortly before the run began
(:data:`RACY_SECONDS`) may be written again without its times moving, so for those the
record also keeps the content fingerprint and :func:`check` compares it. (This is how
``git`` and ``make`` decide too; ``bessx run --force`` recomputes regardless.)

This module imports only the standard library (and ``bessx.io.entries.fingerprint``, which
does too), so that a run found up to date ends in a few tens of milliseconds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import hashlib
import json
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

__all__ = [
    "RACY_SECONDS",
    "RECORD_NAME",
    "Verdict",
    "check",
    "export_states",
    "list_exports",
    "record",
    "settings_token",
]

#: The record's file name in a set's folder (hidden: it is not an output).
RECORD_NAME: Final = ".inputs.json"
#: An export changed less than this before a run began also has its content fingerprint
#: recorded and compared [s]: file systems keep times in ticks of up to 2 s.
RACY_SECONDS: Final = 2.0
_FORMAT: Final = 1


@dataclass(frozen=True)
class Verdict:
    """What :func:`check` found.

    Attributes
    ----------
    up_to_date
        The outputs are those a run would write now.
    reason
        Why not (one phrase, such as ``"an export changed: 20230501.parquet"``), or ``""``.
    exports
        How many exports the record lists.
    """

    up_to_date: bool
    reason: str = ""
    exports: int = 0


# The settings ----------------------------------------------------------------------------------
def settings_token(config: Any, names: Sequence[str], config_path: Path | None = None) -> str:
    """A digest of everything a run's outputs depend on besides the exports' contents.

    Parameters
    ----------
    config
        The run's :class:`~bessx.config.Config` (any dataclass): each field's value, nested
        dataclasses, paths resolved and regular expressions by their pattern and flags.
    names
        The output files asked for, in order.
    config_path
        The site file, named in ``summary.md``.
    """
    rendered = {
        "config": _canonical(config),
        "outputs": list(names),
        "site_file": None if config_path is None else str(Path(config_path).resolve()),
    }
    text = json.dumps(rendered, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _canonical(value: Any) -> Any:
    """A JSON-able rendering of a setting that differs whenever the setting does."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            "__type__": type(value).__qualname__,
            **{
                item.name: _canonical(getattr(value, item.name))
                for item in dataclasses.fields(value)
            },
        }
    if isinstance(value, re.Pattern):
        return {"__pattern__": value.pattern, "flags": int(value.flags)}
    if isinstance(value, os.PathLike):
        return {"__path__": str(Path(value).resolve())}
    if isinstance(value, Mapping):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return repr(value)  # the exact value, nan and inf included
    return {"__repr__": f"{type(value).__qualname__}:{value!r}"}


# The exports ---------------------------------------------------------------------------------
def list_exports(data: str | os.PathLike) -> list[Path] | None:
    """The exports :func:`bessx.io.exports.export_paths` finds for ``data``, without
    importing it; None where it would raise (the run then says why)."""
    path = Path(data)
    if path.is_dir():
        found = [file for file in sorted(path.glob("*.parquet")) if not file.name.startswith(".")]
    elif path.exists():
        found = [path]
    else:
        found = sorted(Path(name) for name in glob.glob(str(data)))
    return found or None


def export_states(paths: Sequence[Path]) -> list[dict[str, Any]]:
    """What the record keeps of each export, taken now (see the module docstring).

    Raises
    ------
    OSError
        An export cannot be read.
    """
    from bessx.io.entries import fingerprint

    began = time.time_ns()
    states = []
    for path in paths:
        state = _stat(path)
        if state["ctime_ns"] >= began - int(RACY_SECONDS * 1e9):
            try:
                state["fingerprint"] = fingerprint(path)
            except Exception:  # cannot be taken: such an export is never found unchanged
                state["fingerprint"] = None
        states.append(state)
    return states


def _stat(path: Path) -> dict[str, Any]:
    stat = path.stat()
    return {
        "path": str(path.resolve()),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "ctime_ns": stat.st_ctime_ns,
        "inode": stat.st_ino,
    }


def _unchanged(recorded: Mapping[str, Any]) -> bool:
    from bessx.io.entries import fingerprint

    path = Path(recorded["path"])
    try:
        if _stat(path) != {key: recorded.get(key) for key in _STAT_KEYS}:
            return False
        if "fingerprint" not in recorded:
            return True
        return recorded["fingerprint"] is not None and fingerprint(path) == recorded["fingerprint"]
    except Exception:  # gone, unreadable, or a fingerprint that cannot be taken
        return False


_STAT_KEYS: Final = ("path", "size", "mtime_ns", "ctime_ns", "inode")


def _content(path: Path) -> str | None:
    try:
        return hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
    except OSError:
        return None


def _output_state(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "inode": stat.st_ino}


# The record ---------------------------------------------------------------------------------
def record(
    out: Path,
    names: Sequence[str],
    token: str,
    exports: Sequence[Mapping[str, Any]],
    inputs: Sequence[Path] = (),
) -> Path | None:
    """Keep the record of the set current in ``out``, which the run has just written.

    Call it holding the output folder's lock (:func:`bessx.io.outputs.locked`), after
    :func:`bessx.io.outputs.write_set`, with the :func:`export_states` taken before the
    exports were read. Written aside and renamed into place: a set whose record is missing
    or torn is simply not up to date. Returns the record's path (None without a set).
    """
    from bessx import __version__
    from bessx.io.outputs import current_set

    folder = current_set(out)
    if folder is None:
        return None
    content = {
        "format": _FORMAT,
        "bessx": __version__,
        "settings": token,
        "exports": list(exports),
        "inputs": {str(Path(path).resolve()): _content(Path(path)) for path in inputs},
        "outputs": {name: _output_state(folder / name) for name in names},
    }
    target = folder / RECORD_NAME
    staged = folder / f"{RECORD_NAME}.{os.getpid()}.tmp"
    try:
        staged.write_text(json.dumps(content), encoding="utf-8")
        os.replace(staged, target)
    except BaseException:
        with contextlib.suppress(OSError):
            staged.unlink()
        raise
    return target


def check(
    out: Path,
    names: Sequence[str],
    token: str,
    exports: Sequence[Path],
    inputs: Sequence[Path] = (),
) -> Verdict:
    """Whether the set current in ``out`` is what a run would write now.

    Parameters
    ----------
    out
        The output folder.
    names
        The output files the run would write, in order.
    token
        :func:`settings_token` of the run's settings.
    exports
        The exports the run would read (:func:`list_exports`).
    inputs
        The run's other input files (topology, site file).
    """
    from bessx import __version__
    from bessx.io.outputs import STATE_FOLDER, current_set

    folder = current_set(out)
    if folder is None:
        return Verdict(False, "no outputs yet")
    try:
        content = json.loads((folder / RECORD_NAME).read_text(encoding="utf-8"))
        recorded_exports = list(content["exports"])
        recorded_outputs = dict(content["outputs"])
        recorded_inputs = dict(content["inputs"])
    except (OSError, ValueError, KeyError, TypeError):
        return Verdict(False, "no record of what the outputs were made from")
    count = len(recorded_exports)
    if content.get("format") != _FORMAT or content.get("bessx") != __version__:
        return Verdict(False, "made by another bessx version", count)
    if content.get("settings") != token:
        return Verdict(False, "other settings", count)
    if list(recorded_outputs) != list(names):
        return Verdict(False, "other outputs asked for", count)
    for name, state in recorded_outputs.items():
        shown = out / name
        try:
            linked = os.readlink(shown) == f"{STATE_FOLDER}/current/{name}"
            same = linked and _output_state(folder / name) == state
        except OSError:
            same = False
        if not same:
            return Verdict(False, f"an output is missing or changed: {name}", count)
    resolved = [str(path.resolve()) for path in exports]
    if resolved != [state.get("path") for state in recorded_exports]:
        return Verdict(False, "other exports", count)
    if {str(Path(path).resolve()) for path in inputs} != set(recorded_inputs):
        return Verdict(False, "other input files", count)
    for path, digest in recorded_inputs.items():
        if digest is None or _content(Path(path)) != digest:
            return Verdict(False, f"an input changed: {Path(path).name}", count)
    for state in recorded_exports:
        if not _unchanged(state):
            return Verdict(False, f"an export changed: {Path(state['path']).name}", count)
    return Verdict(True, "", count)
