"""Tests of bessx.io.outputs: whole output sets made current atomically, the run lock.

The commit is tested by making every change to the file system fail in turn (the k-th
``os.replace``, ``os.symlink``, ``os.link``, ``os.unlink``, ``os.mkdir``, ... of a run):
after each failure the folder must show the complete old set or the complete new one, and
the next run must leave a clean folder.
"""

from __future__ import annotations

import errno
import os
import signal
from pathlib import Path

import pytest

from bessx import errors
from bessx.errors import ConfigError, OutputError, Terminated
from bessx.io import outputs
from bessx.io.outputs import STATE_FOLDER, check_out, current_set, locked, write_set

KNOWN = ("daily_energy.csv", "daily_energy.nc", "summary.md")
_OPERATIONS = ("replace", "rename", "symlink", "link", "unlink", "mkdir", "rmdir")


class Injected(OSError):
    """The failure a test injects."""


def writers(tag: str, names=KNOWN) -> dict:
    return {name: (lambda path, name=name: path.write_text(f"{tag} {name}")) for name in names}


def expected(tag: str, names=KNOWN) -> dict[str, str]:
    return {name: f"{tag} {name}" for name in names}


def visible(out: Path) -> dict[str, str]:
    """What a reader sees under the output names, right now."""
    return {name: (out / name).read_text() for name in KNOWN if (out / name).exists()}


def leftovers(out: Path) -> list[str]:
    state = out / STATE_FOLDER
    found = [path.name for path in out.iterdir() if ".tmp-" in path.name]
    found += [
        p.name for p in state.iterdir() if p.name not in {"lock", "current", "previous", "sets"}
    ]
    sets = sorted(path.name for path in (state / "sets").iterdir())
    return found + (sets if len(sets) > 2 else [])


def commit(out: Path, tag: str, names=KNOWN) -> None:
    with locked(out):
        write_set(out, writers(tag, names), known=KNOWN)


def failing_at(monkeypatch: pytest.MonkeyPatch, k: int) -> list[int]:
    """Make the k-th change to the file system raise; returns the running count."""
    count = [0]

    def wrap(real):
        def operation(*args, **kwargs):
            count[0] += 1
            if count[0] == k:
                raise Injected(errno.EIO, f"injected failure at step {k}")
            return real(*args, **kwargs)

        return operation

    for name in _OPERATIONS:
        monkeypatch.setattr(os, name, wrap(getattr(os, name)))
    return count


def _old_plain_files(out: Path) -> None:
    """An output folder as bessx wrote it before output sets: plain files."""
    out.mkdir()
    for name, text in expected("old").items():
        (out / name).write_text(text)


def _old_set(out: Path) -> None:
    commit(out, "older")
    commit(out, "old")


def _plain_files_over_a_set(out: Path) -> None:
    """An older bessx ran after a newer one: plain files replaced the links."""
    commit(out, "stale")
    for name, text in expected("old").items():
        (out / name).unlink()
        (out / name).write_text(text)


@pytest.mark.parametrize(
    "before",
    [_old_plain_files, _old_set, _plain_files_over_a_set],
    ids=["plain files", "sets", "plain files over a set"],
)
@pytest.mark.parametrize("new_names", [KNOWN, KNOWN[:2]], ids=["same outputs", "fewer"])
def test_a_failure_at_every_step_shows_the_old_or_the_new_set(
    tmp_path, monkeypatch, before, new_names
):
    old, new = expected("old"), expected("new", new_names)
    for k in range(1, 200):
        out = tmp_path / f"out{k}"
        before(out)
        with monkeypatch.context() as patch:
            count = failing_at(patch, k)
            try:
                with locked(out):
                    write_set(out, writers("new", new_names), known=KNOWN)
            except (Injected, OutputError):
                pass
        assert visible(out) in (old, new), f"a mix after a failure at step {k}"
        commit(out, "again")  # the next run finishes the job and tidies up
        assert visible(out) == expected("again")
        assert leftovers(out) == [], k
        if count[0] < k:  # the run completed before step k: every step was tried
            assert visible(out) == expected("again")
            break
    else:
        pytest.fail("the commit never completed")
    assert k > 10  # the test did inject failures at many steps


def test_the_names_are_relative_links_into_the_current_set(tmp_path):
    out = tmp_path / "out"
    commit(out, "one")
    for name in KNOWN:
        assert os.readlink(out / name) == f"{STATE_FOLDER}/current/{name}"
    assert current_set(out) == (out / STATE_FOLDER / "current").resolve()
    moved = tmp_path / "moved"
    out.rename(moved)
    assert visible(moved) == expected("one")


def test_fewer_outputs_remove_the_others_and_keep_the_previous_set(tmp_path):
    out = tmp_path / "out"
    commit(out, "one")
    commit(out, "two", KNOWN[:1])
    assert sorted(path.name for path in out.iterdir()) == [STATE_FOLDER, KNOWN[0]]
    previous = (out / STATE_FOLDER / "previous").resolve()
    assert sorted(path.name for path in previous.iterdir()) == sorted(KNOWN)
    commit(out, "three")
    assert visible(out) == expected("three")
    assert len(list((out / STATE_FOLDER / "sets").iterdir())) == 2


def test_the_next_run_removes_what_killed_runs_left(tmp_path):
    out = tmp_path / "out"
    commit(out, "one")
    sets = out / STATE_FOLDER / "sets"
    (sets / "20200101T000000Z-1-dead").mkdir()  # a set a killed run was writing
    (sets / "20200101T000000Z-1-dead" / "summary.md").write_text("half")
    (out / STATE_FOLDER / ".tmp-0123").symlink_to("sets/nothing")
    (out / ".bessx-tmp-abc").mkdir()  # an older bessx's staging folder
    (out / STATE_FOLDER / "owner").write_text("999999\n")  # from a killed run
    commit(out, "two")
    assert visible(out) == expected("two")
    assert leftovers(out) == []
    assert not (out / ".bessx-tmp-abc").exists()


def test_a_write_error_names_the_output_as_the_user_named_it(tmp_path):
    out = tmp_path / "out"
    commit(out, "old")

    def full_disk(path: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    with pytest.raises(OutputError) as raised, locked(out):
        write_set(out, {**writers("new"), "summary.md": full_disk}, known=KNOWN)
    assert str(raised.value) == f"{out / 'summary.md'}: No space left on device"
    assert visible(out) == expected("old")
    assert leftovers(out) == []


def test_a_failed_first_run_leaves_no_folder(tmp_path):
    out = tmp_path / "a" / "b"
    with pytest.raises(RuntimeError), locked(out):
        raise RuntimeError("the data could not be read")
    assert not (tmp_path / "a").exists()


@pytest.fixture
def handlers():
    """The signal handlers as they are, again after the test; no signal remembered."""
    before = {signum: signal.getsignal(signum) for signum in errors.TERMINATING}
    yield
    errors.forget_terminated()
    for signum, handler in before.items():
        signal.signal(signum, handler)


def test_a_signal_whose_exception_was_dropped_shows_no_new_set(tmp_path, handlers):
    out = tmp_path / "out"
    commit(out, "old")

    def dropping(path: Path) -> None:
        try:
            errors.terminate(signal.SIGTERM, None)  # the handler, as the signal calls it
        except BaseException:  # as a library's bare except: would
            pass
        path.write_text("new")  # the run goes on

    with pytest.raises(Terminated) as stopped, locked(out):
        write_set(out, {**writers("new"), "summary.md": dropping}, known=KNOWN)
    assert stopped.value.signum == signal.SIGTERM
    assert visible(out) == expected("old")
    assert leftovers(out) == []
    assert len(list((out / STATE_FOLDER / "sets").iterdir())) == 1


def test_check_out_refuses_folders_and_inputs(tmp_path):
    out = tmp_path / "out"
    (out / "summary.md").mkdir(parents=True)
    with pytest.raises(ConfigError, match=r"summary\.md: is a folder"):
        check_out(out, ["summary.md"], [], [])
    (out / "summary.md").rmdir()
    (out / "summary.md").write_text("my topology")
    with pytest.raises(ConfigError, match="is an input of this run"):
        check_out(out, ["summary.md"], [], [out / "summary.md"])
    (out / STATE_FOLDER).write_text("")
    with pytest.raises(ConfigError, match="bessx keeps its output sets there"):
        check_out(out, [], [], [])


def test_replace_folder(tmp_path):
    target, new = tmp_path / "exports", tmp_path / "new"
    target.mkdir()
    (target / "old.parquet").write_text("")
    new.mkdir()
    (new / "new.parquet").write_text("")
    outputs.replace_folder(new, target)
    assert [path.name for path in tmp_path.iterdir()] == ["exports"]
    assert [path.name for path in target.iterdir()] == ["new.parquet"]
