"""The batch journal: what a rerun does with what an earlier run recorded."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from virtual_time import LoopClock

import nanobanana as nb
from nanobanana.testing import FakeNanoBanana

pytestmark = pytest.mark.anyio


def _generates(fake: FakeNanoBanana) -> int:
    return sum(r.route == "images/generate" for r in fake.api_requests)


def _states(path: Path) -> dict[int, tuple[str, str | None]]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT idx, state, task_id FROM requests").fetchall()
    finally:
        conn.close()
    return {idx: (state, task_id) for idx, state, task_id in rows}


@pytest.mark.virtual_time
async def test_rerun_skips_finished_requests_and_redownloads_missing_files(
    anyio_backend: str, tmp_path: Path
) -> None:
    fake = FakeNanoBanana(clock=LoopClock(), failure_rate=0.0)
    journal, out = tmp_path / "batch.sqlite", tmp_path / "out"
    prompts = [f"a harbour at dawn {i}" for i in range(10)]
    async with fake.async_client() as client:
        first = [
            i async for i in client.images.generate_many(prompts, journal=journal, save_to=out)
        ]
        assert all(i.ok for i in first)
        assert {s for s, _ in _states(journal).values()} == {"succeeded"}
        lost = first[3].paths[0]
        lost.unlink()
        generates = _generates(fake)
        second = [
            i async for i in client.images.generate_many(prompts, journal=journal, save_to=out)
        ]
    assert _generates(fake) == generates  # nothing resubmitted
    assert {i.index: i.task_id for i in second} == {i.index: i.task_id for i in first}
    assert all(i.ok for i in second)
    assert lost.exists()  # downloaded again
    assert {i.index: i.status.image_url for i in second} == {  # type: ignore[union-attr]
        i.index: i.status.image_url  # type: ignore[union-attr]
        for i in first
    }


def test_a_submitted_request_is_polled_not_resubmitted(tmp_path: Path) -> None:
    fake = FakeNanoBanana(time_scale=2000)
    journal = tmp_path / "j.sqlite"
    with fake.client() as client:
        task = client.images.generate("a lighthouse")  # an earlier run got this far
        from nanobanana._batch_models import ImageRequest, fingerprint, request_json
        from nanobanana._journal import Journal

        request = ImageRequest("a lighthouse")
        with Journal(journal, "image") as j:
            j.begin(0, fingerprint("image", 0, request), request_json(request))
            j.sending(0)
            j.submitted(0, task.task_id, task.credits_used)
        items = list(client.images.generate_many(["a lighthouse", "a harbour"], journal=journal))
    by_index = {i.index: i for i in items}
    assert by_index[0].ok and by_index[0].task_id == task.task_id
    assert by_index[1].ok
    assert _generates(fake) == 2  # the earlier one, and the new request only


def test_a_request_killed_while_sending_needs_attention(tmp_path: Path) -> None:
    from nanobanana._batch_models import ImageRequest, fingerprint, request_json
    from nanobanana._journal import Journal

    journal = tmp_path / "j.sqlite"
    request = ImageRequest("a lighthouse")
    with Journal(journal, "image") as j:
        j.begin(0, fingerprint("image", 0, request), request_json(request))
        j.sending(0)  # then kill -9
    fake = FakeNanoBanana(time_scale=2000)
    with fake.client() as client:
        items = list(client.images.generate_many(["a lighthouse"], journal=journal))
    assert len(items) == 1 and items[0].needs_attention and not items[0].submitted
    assert _generates(fake) == 0
    assert _states(journal)[0][0] == "unknown"


def test_journal_for_another_batch_is_refused_before_spending(tmp_path: Path) -> None:
    fake = FakeNanoBanana(time_scale=2000)
    journal = tmp_path / "j.sqlite"
    with fake.client() as client:
        list(client.images.generate_many(["one", "two"], journal=journal))
        spent = len(fake.charges)
        with pytest.raises(nb.JournalError, match="request #1"):
            list(client.images.generate_many(["one", "three"], journal=journal))
        assert len(fake.charges) == spent
        # without the preflight, the mismatching request is an item, not submitted
        items = list(
            client.images.generate_many(["one", "three"], journal=journal, preflight=False)
        )
        assert isinstance({i.index: i for i in items}[1].error, nb.JournalError)
        assert len(fake.charges) == spent
        with pytest.raises(nb.JournalError, match="image"):
            list(client.videos.generate_many(["one"], journal=journal))


@pytest.mark.slow
def test_one_run_per_journal_at_a_time(tmp_path: Path) -> None:
    from nanobanana._journal import Journal

    path = tmp_path / "j.sqlite"
    with Journal(path, "image"):
        with pytest.raises(nb.JournalError, match="in use"):
            Journal(path, "image")
        code = f"from nanobanana._journal import Journal; Journal({str(path)!r}, 'image')"
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert proc.returncode != 0 and "in use by another run" in proc.stderr
    Journal(path, "image").close()  # free again once closed


def test_not_a_journal(tmp_path: Path) -> None:
    from nanobanana._journal import Journal

    path = tmp_path / "notes.txt"
    path.write_text("hello, this is not sqlite " * 100)
    with pytest.raises(nb.JournalError):
        Journal(path, "image")


def test_concurrent_writes_from_many_threads(tmp_path: Path) -> None:
    from nanobanana._journal import Journal

    with Journal(tmp_path / "j.sqlite", "image") as j:

        def work(base: int) -> None:
            for i in range(base, base + 25):
                j.begin(i, f"fp{i}", "{}")
                j.sending(i)
                j.submitted(i, f"task{i}", 1)

        threads = [threading.Thread(target=work, args=(n * 25,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert j.counts() == {"submitted": 200}
        assert [r.task_id for r in j.rows()] == [f"task{i}" for i in range(200)]


def test_sync_batch_journal_survives_reopen(tmp_path: Path) -> None:
    fake = FakeNanoBanana(time_scale=2000, failure_rate=1.0)
    journal = tmp_path / "j.sqlite"
    with fake.client() as client:
        first = list(client.images.generate_many(["a", "b"], journal=journal))
        assert all(isinstance(i.error, nb.TaskFailedError) for i in first)
        second = list(client.images.generate_many(["a", "b"], journal=journal))
    assert all(isinstance(i.error, nb.TaskFailedError) for i in second)
    assert {i.task_id for i in second} == {i.task_id for i in first}
    assert _generates(fake) == 2


# -- a journal that cannot be used is a JournalError, before anything is sent ------------


def _big_journal(path: Path) -> None:
    """A journal of many pages (written in one go)."""
    from nanobanana._journal import Journal

    Journal(path, "image").close()
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            "INSERT INTO requests (idx, fingerprint, request, state, updated_at)"
            " VALUES (?, ?, ?, 'pending', 0)",
            [(i, f"fp{i}", "x" * 1000) for i in range(300)],
        )
    conn.close()


def _refused(fake: FakeNanoBanana, journal: Path, *, preflight: bool) -> nb.JournalError:
    with fake.client() as client:
        with pytest.raises(nb.JournalError) as caught:
            list(client.images.generate_many(["a", "b"], journal=journal, preflight=preflight))
    assert str(journal) in str(caught.value)
    assert fake.api_requests == [] and fake.charges == []
    return caught.value


@pytest.mark.parametrize("preflight", [True, False])
def test_a_file_that_is_not_a_journal_is_refused(tmp_path: Path, preflight: bool) -> None:
    journal = tmp_path / "notes.sqlite"
    journal.write_text("these are my notes, not a database " * 200)
    error = _refused(FakeNanoBanana(time_scale=2000), journal, preflight=preflight)
    assert "not a batch journal" in str(error)
    assert journal.read_text().startswith("these are my notes")  # left as it was


@pytest.mark.parametrize("preflight", [True, False])
def test_a_damaged_journal_is_refused(tmp_path: Path, preflight: bool) -> None:
    journal = tmp_path / "j.sqlite"
    _big_journal(journal)
    data = bytearray(journal.read_bytes())
    page = 4096
    assert len(data) > 40 * page
    data[30 * page : 31 * page] = b"\x5a" * page  # one page in the middle, overwritten
    journal.write_bytes(bytes(data))
    error = _refused(FakeNanoBanana(time_scale=2000), journal, preflight=preflight)
    assert "damaged" in str(error)


async def test_a_truncated_journal_is_refused(anyio_backend: str, tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite"
    _big_journal(journal)
    data = journal.read_bytes()
    journal.write_bytes(data[: len(data) // 2])
    fake = FakeNanoBanana(time_scale=2000)
    async with fake.async_client() as client:
        with pytest.raises(nb.JournalError, match="damaged"):
            async for _ in client.images.generate_many(["a"], journal=journal, preflight=False):
                pass
    assert fake.api_requests == []


def test_a_journal_whose_directory_cannot_be_created_is_refused(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("a file, not a directory")
    journal = tmp_path / "afile" / "sub" / "j.sqlite"
    for preflight in (True, False):
        error = _refused(FakeNanoBanana(time_scale=2000), journal, preflight=preflight)
        assert "cannot create the directory" in str(error)
        assert isinstance(error.__cause__, OSError)


def test_a_journal_that_is_a_directory_is_refused(tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite"
    journal.mkdir()
    _refused(FakeNanoBanana(time_scale=2000), journal, preflight=False)


# -- row states: what a rerun does with each (pure), and journals written before ---------


def _row(state: str, **fields: object) -> object:
    from nanobanana._journal_rows import JournalRow, RowState

    values: dict[str, object] = {
        "index": 0,
        "fingerprint": "fp",
        "request": "{}",
        "state": RowState(state),
        "task_id": None,
        "credits_used": None,
        "status": None,
        "paths": (),
        "error": None,
    }
    values.update(fields)
    return JournalRow(**values)  # type: ignore[arg-type]


def test_what_a_rerun_does_with_each_row() -> None:
    from nanobanana._journal_rows import RESUBMITTABLE, Rerun, RowState, rerun

    done = {"task_id": "t1", "status": "{}"}
    cases = [
        (None, Rerun.SUBMIT),
        (_row("pending"), Rerun.SUBMIT),
        (_row("not_submitted", error="429"), Rerun.SUBMIT),
        (_row("pending", fingerprint="another"), Rerun.MISMATCH),
        (_row("succeeded", fingerprint="another", **done), Rerun.MISMATCH),
        (_row("sending"), Rerun.ATTENTION),
        (_row("unknown", error="a read timeout"), Rerun.ATTENTION),
        (_row("submitted"), Rerun.ATTENTION),  # no task id to poll: never resubmitted
        (_row("submitted", task_id="t1"), Rerun.WAIT),
        (_row("succeeded", task_id="t1"), Rerun.WAIT),  # no final status kept: poll it
        (_row("failed", **done), Rerun.FAILED),
        (_row("succeeded", **done), Rerun.SUCCEEDED),
    ]
    for row, expected in cases:
        assert rerun(row, "fp") is expected, row  # type: ignore[arg-type]
    assert {RowState.PENDING, RowState.NOT_SUBMITTED} == RESUBMITTABLE


def test_a_request_an_earlier_run_lost_names_why() -> None:
    from nanobanana._journal_rows import lost_answer

    reason, error = lost_answer(_row("sending", index=7))  # type: ignore[arg-type]
    assert reason == "the earlier run ended while its generate request was in flight"
    assert error.may_have_been_processed
    assert str(error).startswith(
        f"request #7 was sent by an earlier run and no task id came back ({reason})"
    )
    reason, _ = lost_answer(_row("unknown", error="APITimeoutError: read"))  # type: ignore[arg-type]
    assert reason == "APITimeoutError: read"


def test_row_states_are_the_strings_in_the_file() -> None:
    from nanobanana._journal_rows import RowState

    assert [s.value for s in RowState] == [
        "pending",
        "sending",
        "submitted",
        "succeeded",
        "failed",
        "unknown",
        "not_submitted",
    ]
    assert RowState.NOT_SUBMITTED == "not_submitted" and f"{RowState.SENDING}" == "sending"


def test_a_journal_written_with_the_state_strings_resumes(tmp_path: Path) -> None:
    """A journal as earlier versions wrote it (plain SQL, the states as strings) opens,
    and each row is resumed by its state: nothing charged twice, nothing lost."""
    from nanobanana._batch_models import ImageRequest, fingerprint, request_json

    fake = FakeNanoBanana(time_scale=2000, failure_rate=0.0)
    journal = tmp_path / "old.sqlite"
    prompts = [f"an old harbour {i}" for i in range(6)]
    with fake.client() as client:
        submitted = client.images.generate(prompts[1])  # an earlier run got this far
    done = (
        '{"completed_at": "2026-01-02T03:04:05+00:00", "error": null, '
        '"image_url": "https://cdn.example/old0.png", "image_urls": '
        '["https://cdn.example/old0.png"], "progress": 100, "status": "completed", '
        '"task_id": "clxold0"}'
    )
    failed = (
        '{"completed_at": null, "error": "boom", "image_url": null, "image_urls": [], '
        '"progress": 0, "status": "failed", "task_id": "clxold5"}'
    )
    rows = [
        (0, "succeeded", "clxold0", done),
        (1, "submitted", submitted.task_id, None),
        (2, "pending", None, None),
        (3, "sending", None, None),
        (4, "not_submitted", None, None),
        (5, "failed", "clxold5", failed),
    ]
    conn = sqlite3.connect(journal)
    with conn:
        conn.executescript(
            """
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE requests (
                idx INTEGER PRIMARY KEY, fingerprint TEXT NOT NULL, request TEXT NOT NULL,
                state TEXT NOT NULL, task_id TEXT, credits_used INTEGER, status TEXT,
                paths TEXT, error TEXT, updated_at REAL NOT NULL
            );
            INSERT INTO meta VALUES ('version', '1'), ('kind', 'image');
            """
        )
        for idx, state, task_id, status in rows:
            request = ImageRequest(prompts[idx])
            conn.execute(
                "INSERT INTO requests (idx, fingerprint, request, state, task_id, status,"
                " paths, updated_at) VALUES (?, ?, ?, ?, ?, ?, '[]', 0)",
                (
                    idx,
                    fingerprint("image", idx, request),
                    request_json(request),
                    state,
                    task_id,
                    status,
                ),
            )
    conn.close()
    with fake.client() as client:
        items = {i.index: i for i in client.images.generate_many(prompts, journal=journal)}
    assert items[0].ok and items[0].task_id == "clxold0"
    assert items[0].status.image_url == "https://cdn.example/old0.png"  # type: ignore[union-attr]
    assert items[1].ok and items[1].task_id == submitted.task_id  # polled, not resubmitted
    assert items[2].ok and items[4].ok  # never charged: submitted now
    assert items[3].needs_attention and not items[3].submitted
    assert isinstance(items[5].error, nb.TaskFailedError) and items[5].task_id == "clxold5"
    assert _generates(fake) == 1 + 2  # the earlier run's, and the two never charged
    states = _states(journal)
    assert {idx: state for idx, (state, _) in states.items()} == {
        0: "succeeded",
        1: "succeeded",
        2: "succeeded",
        3: "unknown",
        4: "succeeded",
        5: "failed",
    }


def test_a_row_in_a_state_this_version_does_not_know_is_a_journal_error(
    tmp_path: Path,
) -> None:
    from nanobanana._journal import Journal

    path = tmp_path / "j.sqlite"
    Journal(path, "image").close()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "INSERT INTO requests (idx, fingerprint, request, state, updated_at)"
            " VALUES (0, 'fp', '{}', 'archived', 0)"
        )
    conn.close()
    with Journal(path, "image") as j, pytest.raises(nb.JournalError, match="'archived'"):
        j.get(0)
