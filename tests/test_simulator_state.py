"""Task ids are unique across simulators; ``state=`` carries tasks to a later simulator."""

from __future__ import annotations

from pathlib import Path

import pytest

import nanobanana as nb
from nanobanana.testing import FakeNanoBanana, ManualClock


def _ids(fake: FakeNanoBanana, n: int) -> list[str]:
    with fake.client() as client:
        return [client.images.generate("p").task_id for _ in range(n)]


def test_simulators_without_a_seed_never_hand_out_the_same_ids() -> None:
    first = _ids(FakeNanoBanana(clock=ManualClock()), 20)
    second = _ids(FakeNanoBanana(clock=ManualClock()), 20)
    assert len(set(first)) == 20 and not set(first) & set(second)
    seeded = [_ids(FakeNanoBanana(clock=ManualClock(), seed=3), 5) for _ in range(2)]
    assert seeded[0] == seeded[1]  # a seed keeps them reproducible


def test_a_later_simulator_knows_the_tasks_of_the_state_file(tmp_path: Path) -> None:
    state = tmp_path / "fake-state.jsonl"
    first = FakeNanoBanana(clock=ManualClock(), durations={"image": 1000.0}, state=state)
    with first.client() as client:
        image = client.images.generate("a lighthouse", num_images=2)
        video = client.videos.generate("a harbour", duration=8)
    spent = image.credits_used + video.credits_used

    later = FakeNanoBanana(clock=ManualClock(), durations={"image": 1000.0}, state=state)
    assert later.api_key != first.api_key
    with later.client() as client:
        assert client.images.status(image.task_id).status == "pending"
        assert client.account.credits().credits == 1000 - spent
        later.advance(1000)
        done = client.images.status(image.task_id)
        assert done.status == "completed" and len(done.image_urls) == 2
        assert client.download(done.image_urls[1], tmp_path).read_bytes().startswith(b"\x89PNG")
        assert client.videos.status(video.task_id).task_id == video.task_id
        again = client.images.generate("another")
    assert again.task_id not in (image.task_id, video.task_id)
    assert [c.task_id for c in later.charges] == [again.task_id]  # charges are this run's

    third = FakeNanoBanana(clock=ManualClock(), state=state)
    assert set(third.tasks) == {image.task_id, video.task_id, again.task_id}


def test_a_task_the_earlier_run_saw_finish_is_finished_for_the_later_one(tmp_path: Path) -> None:
    state = tmp_path / "fake-state.jsonl"
    first = FakeNanoBanana(clock=ManualClock(), durations={"image": 10.0}, state=state)
    with first.client() as client:
        early = client.images.generate("a lighthouse")
        first.advance(5)
        late = client.images.generate("a harbour")  # starts 5 s later
        first.advance(6)
        assert client.images.status(early.task_id).status == "completed"  # seen ended at 11 s
        assert client.images.status(late.task_id).status == "pending"  # 6 s of 10

    later = FakeNanoBanana(clock=ManualClock(), durations={"image": 10.0}, state=state)
    with later.client() as client:
        # The earlier run saw the first task end: so does this one. The other goes on.
        assert client.images.status(early.task_id).status == "completed"
        assert client.images.status(late.task_id).status == "pending"
        later.advance(4)
        assert client.images.status(late.task_id).status == "completed"


def test_a_seeded_simulator_with_a_state_file_draws_new_ids(tmp_path: Path) -> None:
    state = tmp_path / "s.jsonl"
    first = _ids(FakeNanoBanana(clock=ManualClock(), seed=1, state=state), 3)
    second = _ids(FakeNanoBanana(clock=ManualClock(), seed=1, state=state), 3)
    assert not set(first) & set(second)


def test_a_line_cut_short_by_a_kill_is_skipped(tmp_path: Path) -> None:
    state = tmp_path / "s.jsonl"
    ids = _ids(FakeNanoBanana(clock=ManualClock(), state=state), 2)
    with state.open("a") as handle:
        handle.write('{"task_id": "clxcut", "kind": "ima')
    later = FakeNanoBanana(clock=ManualClock(), state=state)
    assert set(later.tasks) == set(ids)
    with later.client() as client, pytest.raises(nb.TaskNotFoundError):
        client.images.status("clxcut")


def test_a_file_that_is_not_a_state_file_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "prompts.txt"
    other.write_text("a prompt\n")
    with pytest.raises(ValueError, match="not a nanobanana simulator state file"):
        FakeNanoBanana(state=other)
    assert other.read_text() == "a prompt\n"
