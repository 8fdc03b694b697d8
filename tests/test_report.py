"""A batch's page from the command line: ``nanobanana batch`` writes OUT/index.html, and
``nanobanana report JOURNAL`` rebuilds it from the journal, read without disturbing a
batch that runs on it; each row of the journal stands for the item a batch would report."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

import nanobanana as nb
from nanobanana._cli import main
from nanobanana._journal import Journal, read_journal
from nanobanana._journal_rows import JournalRow, RowState, item_from_row

REQUEST = '{"prompt":"a heron"}'
DONE = (
    '{"task_id": "t1", "status": "completed", "image_urls": ["https://cdn.test/t1.png"],'
    ' "completed_at": "2024-05-01T08:00:00Z"}'
)
FAILED = '{"task_id": "t2", "status": "failed", "error": "provider refused"}'


def _row(state: RowState, **fields: object) -> JournalRow:
    values: dict[str, object] = {
        "index": 3,
        "fingerprint": "fp",
        "request": REQUEST,
        "state": state,
        "task_id": None,
        "credits_used": None,
        "status": None,
        "paths": (),
        "error": None,
    }
    values.update(fields)
    return JournalRow(**values)  # type: ignore[arg-type]


def test_each_row_stands_for_the_item_a_batch_would_report() -> None:
    def item(
        state: RowState, *, running: bool = False, **fields: object
    ) -> nb.BatchItem[nb.ImageStatus]:
        return item_from_row("image", _row(state, **fields), running=running)  # type: ignore[return-value]

    done = item(
        RowState.SUCCEEDED,
        task_id="t1",
        status=DONE,
        credits_used=2,
        paths=("out/t1.png",),
        submitted_at=1714550400.0,
        ended_at=1714550414.5,
    )
    assert done.ok and done.index == 3 and done.request == nb.ImageRequest("a heron")
    assert done.paths == (Path("out/t1.png"),) and done.credits_used == 2
    assert done.duration == 14.5 and done.submitted_at is not None
    assert done.submitted_at.isoformat() == "2024-05-01T08:00:00+00:00"
    failed = item(RowState.FAILED, task_id="t2", status=FAILED)
    assert isinstance(failed.error, nb.TaskFailedError) and failed.error.error == "provider refused"
    unsaved = item(RowState.SUCCEEDED, task_id="t1", status=DONE, error="OSError: disk full")
    assert not unsaved.ok and str(unsaved.error) == "OSError: disk full"
    assert item(RowState.SUBMITTED, task_id="t4").error is None  # still running
    gave_up = item(RowState.SUBMITTED, task_id="t4", error="TaskTimeoutError: 600 s")
    assert str(gave_up.error) == "TaskTimeoutError: 600 s"
    assert item(RowState.PENDING).error is None
    assert item(RowState.SENDING).needs_attention  # the run that sent it is gone
    assert item(RowState.SENDING, running=True).error is None  # on the wire right now
    assert item(RowState.UNKNOWN, error="InternalServerError: 502").needs_attention
    refused = item(RowState.NOT_SUBMITTED, error="not submitted: the batch was closed")
    assert isinstance(refused.error, nb.NotSubmittedError)


def _journal_with_rows(path: Path, rows: int) -> Journal:
    journal = Journal(path, "image")
    for index in range(rows):
        journal.begin(index, "fp", REQUEST)
        journal.submitted(index, f"t{index}", 1, at=1714550400.0 + index)
    return journal


def test_a_journal_no_batch_holds_is_read_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    _journal_with_rows(path, 3).close()
    snapshot = read_journal(path)
    assert (snapshot.kind, snapshot.running, len(snapshot.rows)) == ("image", False, 3)
    assert snapshot.rows[2].submitted_at == 1714550402.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["j.sqlite"]  # nothing left beside it


def test_a_journal_a_batch_holds_is_read_from_a_copy_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = _journal_with_rows(path, 10)
    try:
        journal._run("PRAGMA wal_checkpoint(TRUNCATE)")  # some rows in the file, some in its log
        for index in range(10, 20):
            journal.begin(index, "fp", REQUEST)
        snapshot = read_journal(path)
        assert snapshot.running and [r.index for r in snapshot.rows] == list(range(20))
        assert snapshot.rows[9].task_id == "t9"
        journal.begin(20, "fp", REQUEST)  # the batch goes on, undisturbed
        assert len(read_journal(path).rows) == 21
    finally:
        journal.close()
    assert not read_journal(path).running


def test_the_journal_of_a_killed_batch_is_read_with_its_log(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = _journal_with_rows(path, 5)
    killed = tmp_path / "killed"
    killed.mkdir()
    for name in ("j.sqlite", "j.sqlite-wal"):  # what kill -9 leaves: the file and its log
        shutil.copyfile(tmp_path / name, killed / name)
    journal.close()
    snapshot = read_journal(killed / "j.sqlite")
    assert not snapshot.running and [r.task_id for r in snapshot.rows][-1] == "t4"


def test_a_journal_written_before_the_times_were_kept(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
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
        conn.execute(
            "INSERT INTO requests VALUES (0, 'fp', ?, 'succeeded', 't1', 2, ?, '[]', NULL, 0)",
            (REQUEST, DONE),
        )
    conn.close()
    (row,) = read_journal(path).rows
    assert row.credits_used == 2 and row.submitted_at is None and row.ended_at is None
    with Journal(path, "image") as journal:  # a batch adds the columns
        journal.finished(0, succeeded=True, status=DONE, paths=(), error=None, at=5.0)
    assert read_journal(path).rows[0].ended_at == 5.0


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no batch journal at"), (b"not a database at all" * 100, "not a batch journal")],
)
def test_what_is_not_a_journal_is_a_journal_error(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "j.sqlite"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(nb.JournalError, match=message):
        read_journal(path)


# -- the command line -----------------------------------------------------------------------


def _prompts(tmp_path: Path) -> Path:
    file = tmp_path / "prompts.txt"
    file.write_text(
        'a paper crane\n{"prompt": "two cranes", "num_images": 2}\na forbidden <b>fruit</b>\n'
    )
    return file


@pytest.fixture
def _filtering(monkeypatch: pytest.MonkeyPatch) -> None:
    """--fake's simulator refuses prompts with "forbidden" (451), and runs fast."""
    import nanobanana.testing

    real = nanobanana.testing.FakeNanoBanana

    def fake(**kw: object) -> nanobanana.testing.FakeNanoBanana:
        return real(**{**kw, "time_scale": 2000, "content_filter": ["forbidden"]})  # type: ignore[arg-type]

    monkeypatch.setattr(nanobanana.testing, "FakeNanoBanana", fake)


@pytest.mark.usefixtures("_filtering")
def test_a_batch_writes_its_gallery_and_report_rebuilds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    journal = Path("out") / "j.sqlite"
    code = main(
        ["--fake", "batch", str(_prompts(tmp_path)), "-o", "out", "--journal", str(journal)]
    )
    assert code == 1  # one request refused
    assert "2 ok, 1 failed of 3; 3 files in out; gallery: out/index.html" in capsys.readouterr().err
    page = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert page.count('class="nbg-card"') == 3 and page.count("<img ") == 3
    assert "a forbidden &lt;b&gt;fruit&lt;/b&gt;" in page and "ContentFilteredError" in page
    assert "wall time" in page and "API requests" in page
    assert "<title>nanobanana batch: prompts.txt</title>" in page
    note = "--fake: the times and credits are the simulator&#x27;s (it runs 60x faster"
    assert note in page and "nothing real was spent" in page

    (tmp_path / "out" / "index.html").unlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the journal's paths are relative to the batch's directory
    assert main(["report", str(tmp_path / "out" / "j.sqlite")]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "out" / "index.html")
    rebuilt = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert rebuilt.count("<img ") == 3 and "keeps no run times" in rebuilt
    assert all(f'src="{p.name}"' in rebuilt for p in (tmp_path / "out").glob("*.png"))

    assert main(["--json", "report", str(tmp_path / "out" / "j.sqlite"), "-o", "r"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary == {
        "gallery": str(Path("r") / "index.html"),
        "journal": str(tmp_path / "out" / "j.sqlite"),
        "kind": "image",
        "running": False,
        "items": 3,
        "succeeded": 2,
        "failed": 1,
        "pending": 0,
        "credits_used": 3,
    }
    assert (elsewhere / "r" / "index.html").read_text().count('src="../../out/') == 3


@pytest.mark.usefixtures("_filtering")
def test_a_page_of_the_users_is_never_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "index.html").write_text("<p>my own page</p>")
    argv = ["--fake", "batch", str(_prompts(tmp_path)), "-o", str(out)]
    assert main([*argv, "--journal", str(out / "j.sqlite")]) == 1
    err = capsys.readouterr().err
    assert "is not a nanobanana gallery: no gallery written" in err and "; gallery:" not in err
    assert (out / "index.html").read_text() == "<p>my own page</p>"
    assert main(["report", str(out / "j.sqlite")]) == 2
    assert "is not a nanobanana gallery" in capsys.readouterr().err
    assert (out / "index.html").read_text() == "<p>my own page</p>"


@pytest.mark.usefixtures("_filtering")
def test_no_gallery_without_files_or_when_asked(tmp_path: Path) -> None:
    assert (
        main(
            ["--fake", "batch", str(_prompts(tmp_path)), "-o", str(tmp_path / "a"), "--no-gallery"]
        )
        == 1
    )
    assert not (tmp_path / "a" / "index.html").exists()
    assert (
        main(
            [
                "--fake",
                "--json",
                "batch",
                str(_prompts(tmp_path)),
                "-o",
                str(tmp_path / "b"),
                "--no-download",
            ]
        )
        == 1
    )
    assert not (tmp_path / "b").exists()


def test_a_batch_refused_before_any_item_writes_no_page(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert (
        main(["--fake", "batch", str(_prompts(tmp_path)), "-o", str(out), "--max-credits", "1"])
        == 4
    )
    assert not (out / "index.html").exists()


def test_report_of_a_missing_journal_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(tmp_path / "nope.sqlite")]) == 2
    assert "no batch journal at" in capsys.readouterr().err
