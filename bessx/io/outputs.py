"""Output folders: a run's outputs become current together, and one run writes at a time.

An output folder holds the outputs under their own names, where scripts look for them, and
a hidden folder ``.bessx`` that makes them one set (POSIX file systems: the names are
symbolic links)::

    out/daily_energy.csv  -> .bessx/current/daily_energy.csv     (made once, never changed)
    out/summary.md        -> .bessx/current/summary.md
    out/.bessx/current    -> sets/20240501T101500Z-4242-1f2e     (the set readers see)
    out/.bessx/previous   -> sets/20240430T101500Z-4131-9a0b     (kept until the next run)
    out/.bessx/sets/<id>/                                         (complete sets)
    out/.bessx/lock, out/.bessx/owner                             (the run lock, its pid)
    out/.bessx/waiting-<pid>                                      (a run waiting for it)

A run writes its whole set into a new ``sets/<id>`` folder (an output with the same bytes
as the current set's becomes a hard link to that file, keeping its time); :func:`write_set`
then makes it current with one ``os.replace`` of the ``current`` link (atomic on POSIX), so at every
instant each name resolves into the same set: the old one or the new one, never a mix. To
read several outputs as one set while runs may go on, resolve :func:`current_set` once and
read from that folder. A folder written by an older bessx (plain files) is taken over at the
first commit without ever showing a mix. :func:`locked` holds an advisory lock
(:mod:`filelock`, released by the operating system when a run dies), and cleans the
leftovers of killed runs; a run that fails into an output folder it made removes it again,
but never the lock file another run waits for.
"""

from __future__ import annotations

import contextlib
import filecmp
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from bessx.errors import (
    CONTROL,
    BessxError,
    ConfigError,
    OutputError,
    check_terminated,
    first_line,
    reason,
)

if TYPE_CHECKING:
    from filelock import BaseFileLock

__all__ = [
    "STATE_FOLDER",
    "FolderInUse",
    "check_out",
    "current_set",
    "locked",
    "replace_folder",
    "write_set",
]

#: The hidden folder of an output folder that holds its sets, the lock and the links.
STATE_FOLDER: Final = ".bessx"
_CURRENT: Final = "current"
_PREVIOUS: Final = "previous"
_SETS: Final = "sets"
_LOCK: Final = "lock"
_OWNER: Final = "owner"
#: A run waiting for the lock says so with a file ``waiting-<pid>`` next to it.
_WAITING: Final = "waiting-"
_TEMPORARY: Final = ".tmp-"
#: Staging folders of bessx versions before output sets; removed by the next run.
_OLD_STAGING_PREFIX: Final = ".bessx-tmp-"


class FolderInUse(BessxError):
    """Another run holds the output folder's lock.

    Parameters
    ----------
    out
        The output folder as given.
    pid
        The process id of the run that holds it, when known.
    """

    def __init__(self, out: object, pid: int | None) -> None:
        self.out = str(out)
        self.pid = pid
        who = f" (pid {pid})" if pid is not None else ""
        super().__init__(f"{self.out} is in use by another bessx run{who}")


# Checks before a run --------------------------------------------------------------------------
def check_out(
    out: Path, names: Sequence[str], files: Sequence[Path], inputs: Sequence[Path]
) -> None:
    """Refuse an output folder that would overwrite or mix with the inputs.

    Raises
    ------
    ConfigError
        ``out`` is a file, the data folder or inside it, an output name is a folder, or an input
        (the topology, the site file) sits where an output goes.
    """
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: --out is a file, not a folder")
    state = out / STATE_FOLDER
    if state.exists() and not state.is_dir():
        raise ConfigError(f"{state}: is not a folder; bessx keeps its output sets there")
    resolved = out.resolve()
    for data in sorted({path.parent.resolve() for path in files}):
        if resolved == data:
            raise ConfigError(
                f"{out}: --out is the data folder; write the results to another folder"
            )
        if data in resolved.parents:
            raise ConfigError(
                f"{out}: --out is inside the data folder {data}; outputs never go into the "
                "data folder: write the results to another folder"
            )
    for name in names:
        target = out / name
        if target.is_dir() and not target.is_symlink():
            raise ConfigError(f"{target}: is a folder, cannot write an output there")
        for path in inputs:
            if target.resolve() == path.resolve():
                raise ConfigError(f"{target}: is an input of this run, it would be overwritten")


# One run at a time ----------------------------------------------------------------------------
@contextlib.contextmanager
def locked(
    out: Path, *, wait: bool = False, on_wait: Callable[[int | None], object] | None = None
) -> Iterator[None]:
    """Hold the output folder's lock for a run; clean what killed runs left.

    Parameters
    ----------
    out
        The output folder; it is created (with its parents) if missing, and removed again
        if the run fails before any set became current in it.
    wait
        Wait for another run to finish instead of raising :class:`~bessx.io.outputs.FolderInUse`.
    on_wait
        Called with the other run's pid (or None) before waiting.

    Raises
    ------
    FolderInUse
        Another run holds the lock and ``wait`` is false.
    """
    state = out / STATE_FOLDER
    created = [path for path in (state, out, *out.parents) if not path.exists()]
    lock = _acquire(out, wait, on_wait)
    try:
        (state / _OWNER).write_text(f"{os.getpid()}\n", encoding="ascii")
        clean(out)
        yield
    except BaseException:
        if created and not (state / _CURRENT).is_symlink():  # nothing was ever shown here
            _remove_unshown(out, created)
        raise
    finally:
        with contextlib.suppress(OSError):
            (state / _OWNER).unlink()
        lock.release()


def _acquire(out: Path, wait: bool, on_wait: Callable[[int | None], object] | None) -> BaseFileLock:
    """The output folder's lock, held; with ``wait``, after the run holding it ends.

    A waiting run says so with a ``waiting-<pid>`` file, so that the holder's cleanup
    keeps the lock file and its folder (:func:`_remove_unshown`). Should they go all the
    same (a holder that found no waiter, just before this one said it waits), the folder is
    made again and the lock taken there: a lock on a removed file is never taken (the lock
    library checks that the file it locked is still linked).
    """
    from filelock import FileLock, Timeout

    state = out / STATE_FOLDER
    waiting = state / f"{_WAITING}{os.getpid()}"
    announced = False
    try:
        while True:
            try:
                state.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise OutputError(out, error.strerror or first_line(error)) from None
            lock = FileLock(state / _LOCK)
            try:
                try:
                    lock.acquire(timeout=0)
                except Timeout:
                    if not wait:
                        raise FolderInUse(out, _owner(state)) from None
                    waiting.touch()
                    if not announced and on_wait is not None:
                        on_wait(_owner(state))
                    announced = True
                    lock.acquire()
            except FileNotFoundError:  # the folder went while this run waited: again
                continue
            return lock
    finally:
        if announced:
            with contextlib.suppress(OSError):
                waiting.unlink()


def _waiters(state: Path) -> list[int]:
    """The live processes that wait for the lock of ``state`` (their ``waiting-<pid>``)."""
    alive = []
    for path in state.glob(f"{_WAITING}*"):
        try:
            pid = int(path.name.removeprefix(_WAITING))
            os.kill(pid, 0)
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                path.unlink()  # a waiter that died
            continue
        except (ValueError, OSError):  # not a pid, or another account's: keep it
            pid = -1
        alive.append(pid)
    return alive


def _remove_unshown(out: Path, created: Sequence[Path]) -> None:
    """Undo a failed run's new output folder (``created``: the folders it made), holding
    the lock: all of it, or, when another run waits for the lock, all but the lock file,
    the waiters' files and their folders."""
    state = out / STATE_FOLDER
    if not _waiters(state):
        shutil.rmtree(state, ignore_errors=True)
        for path in created[1:]:
            with contextlib.suppress(OSError):
                path.rmdir()
        return
    for path in state.iterdir():
        if path.name != _LOCK and not path.name.startswith(_WAITING):
            _remove(path)


def _owner(state: Path) -> int | None:
    try:
        return int((state / _OWNER).read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


def clean(out: Path) -> None:
    """Remove what killed runs left: sets that are neither current nor previous, temporary
    links, and the staging folders of older bessx versions. Call it holding the lock."""
    state = out / STATE_FOLDER
    keep = {_link_target_name(state / _CURRENT), _link_target_name(state / _PREVIOUS)}
    sets = state / _SETS
    if sets.is_dir():
        for folder in sets.iterdir():
            if folder.name not in keep:
                _remove(folder)
    for path in [*state.glob(f"{_TEMPORARY}*"), *out.glob(f"{_OLD_STAGING_PREFIX}*")]:
        _remove(path)
    _waiters(state)  # removes the files of waiters that died


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def _link_target_name(link: Path) -> str | None:
    try:
        return Path(os.readlink(link)).name
    except OSError:
        return None


# Whole sets -----------------------------------------------------------------------------------
def current_set(out: Path) -> Path | None:
    """The folder of the set that is current in ``out`` (None before the first run).

    Resolve it once and read every output from it to read one set while runs go on.
    """
    link = out / STATE_FOLDER / _CURRENT
    return link.resolve() if link.is_symlink() else None


def write_set(
    out: Path,
    writers: Mapping[str, Callable[[Path], object]],
    *,
    known: Iterable[str] = (),
) -> list[Path]:
    """Write a whole set of outputs and make it current in one atomic step.

    Parameters
    ----------
    out
        The output folder, as the user named it (messages name it); hold :func:`locked`.
    writers
        Output name -> function writing that output to the path it is given.
    known
        Every output name a run may write: an older bessx's plain files of those names are
        taken over, and links to names the new set lacks are removed.

    Returns
    -------
    list of Path
        ``out / name`` for each output written.

    Raises
    ------
    OutputError
        An output could not be written (naming ``out / name``), or the set could not be
        made current (naming ``out``); the previous set is then still current.
    """
    names = list(writers)
    known = sorted({*known, *names})
    sets = out / STATE_FOLDER / _SETS
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    folder = sets / f"{stamp}-{os.getpid()}-{secrets.token_hex(3)}"
    try:
        folder.mkdir(parents=True)
    except OSError as error:
        raise OutputError(out, error.strerror or first_line(error)) from None
    try:
        shown = current_set(out)
        for name in names:
            try:
                writers[name](folder / name)
                if shown is not None:
                    _keep_if_same(folder / name, shown / name)
            except OSError as error:
                raise OutputError(out / name, error.strerror or first_line(error)) from None
            except CONTROL:
                raise
            except BaseException as error:  # a library's own words: "NetCDF: HDF error"
                raise OutputError(out / name, _write_failure(folder, error)) from None
        _sync(folder)
        try:
            commit(out, folder.name, names, known)
        except OSError as error:
            raise OutputError(out, f"cannot make the new outputs current ({error})") from None
    except BaseException:
        if current_set(out) != folder.resolve():
            shutil.rmtree(folder, ignore_errors=True)
        raise
    return [out / name for name in names]


#: Less free space than this where an output failed: the disk is full [bytes].
_FULL_BELOW = 16 * 1024 * 1024


def _write_failure(folder: Path, error: BaseException) -> str:
    """Why an output's writer failed, in the operating system's words where they can be
    found: a writer such as netCDF's says only ``NetCDF: HDF error`` when the disk is full."""
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        free = None
    if free is not None and free < _FULL_BELOW:
        return f"No space left on device ({first_line(error)})"
    return reason(error)


def _keep_if_same(new: Path, old: Path) -> None:
    """An output with the bytes of the shown set's file becomes that file (a hard link):
    an output whose content did not change keeps its time and identity, so tools that
    look at times (``make``, ``rsync``, a file watcher) see only the outputs that changed."""
    try:
        if not old.is_file() or old.stat().st_size != new.stat().st_size:
            return
        if not filecmp.cmp(new, old, shallow=False):
            return
        staged = new.with_name(f"{_TEMPORARY}{new.name}")
        os.link(old, staged)
        os.replace(staged, new)
    except OSError:  # no hard links here: the new copy serves as well
        with contextlib.suppress(OSError):
            new.with_name(f"{_TEMPORARY}{new.name}").unlink()


def commit(out: Path, set_id: str, names: Sequence[str], known: Sequence[str]) -> None:
    """Make ``sets/<set_id>`` current: the steps, each leaving the old or the new set shown.

    1. take over an older bessx's plain files (:func:`_adopt_plain_files`);
    2. link each new name to ``.bessx/current/<name>`` (a name the old set lacks dangles,
       as it should: the old set has no such output);
    3. point ``previous`` at the current set;
    4. point ``current`` at the new set: the one atomic step that shows it;
    5. tidy: remove the links of names the new set lacks, and sets older than ``previous``.

    A run that received SIGTERM or SIGHUP stops here (:func:`~bessx.errors.check_terminated`),
    its set never shown, even if the signal's exception was dropped on its way.
    """
    check_terminated()
    state = out / STATE_FOLDER
    _adopt_plain_files(out, known)
    for name in names:
        if not _is_ours(out, name):
            _point(out / name, f"{STATE_FOLDER}/{_CURRENT}/{name}", state)
    if (state / _CURRENT).is_symlink():
        _point(state / _PREVIOUS, os.readlink(state / _CURRENT), state)
    _point(state / _CURRENT, f"{_SETS}/{set_id}", state)
    _sync_folder(state)
    # the new set is shown; what follows only tidies, and the next run finishes it if it fails
    with contextlib.suppress(OSError):
        for name in sorted(set(known) - set(names)):
            if _is_ours(out, name):
                (out / name).unlink()
        clean(out)


def _adopt_plain_files(out: Path, known: Sequence[str]) -> None:
    """Turn plain output files (an older bessx's) into a set shown through the links.

    The set shown is first replaced by one holding exactly what each name shows now (the
    plain file, or the current set's file), then each plain name is replaced by a link to
    the same content: readers see the same files throughout.
    """
    plain = [name for name in known if (out / name).exists() and not _is_ours(out, name)]
    if not plain:
        return
    state = out / STATE_FOLDER
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    adopted = state / _SETS / f"{stamp}-adopted-{secrets.token_hex(3)}"
    adopted.mkdir(parents=True)
    for name in known:
        source = out / name if name in plain else state / _CURRENT / name
        if source.exists():
            try:
                os.link(source, adopted / name, follow_symlinks=True)
            except OSError:
                shutil.copy2(source, adopted / name)
    _sync_folder(adopted)
    _point(state / _CURRENT, f"{_SETS}/{adopted.name}", state)
    for name in plain:
        _point(out / name, f"{STATE_FOLDER}/{_CURRENT}/{name}", state)


def _is_ours(out: Path, name: str) -> bool:
    try:
        return os.readlink(out / name) == f"{STATE_FOLDER}/{_CURRENT}/{name}"
    except OSError:
        return False


def _point(link: Path, target: str, state: Path) -> None:
    """Make ``link`` a symbolic link to ``target`` in one atomic rename."""
    staged = state / f"{_TEMPORARY}{secrets.token_hex(4)}"
    os.symlink(target, staged)
    try:
        os.replace(staged, link)
    except BaseException:
        with contextlib.suppress(OSError):
            staged.unlink()
        raise


def _sync(folder: Path) -> None:
    """Flush a set's files to disk before it is shown (a crash then shows a whole set)."""
    for path in folder.iterdir():
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    _sync_folder(folder)


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    except OSError:  # some file systems cannot sync a folder
        pass
    finally:
        os.close(descriptor)


# Folders ------------------------------------------------------------------------------------
def replace_folder(new: Path, target: Path) -> None:
    """Put folder ``new`` where ``target`` is, removing the old one only once it is in place."""
    if not target.exists():
        os.replace(new, target)
        return
    old = target.parent / f".{target.name}.old-{secrets.token_hex(3)}"
    os.replace(target, old)
    try:
        os.replace(new, target)
    except BaseException:
        os.replace(old, target)
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)
