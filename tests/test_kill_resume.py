"""kill -9 in the middle of a batch, rerun with the same journal: nothing is paid twice.

Both runs are subprocesses pointed at ONE simulator served on loopback by this test
(``fake.serve()``), so its ledger sees both. The simulator runs 300x faster than real
time; the subprocess's client is told the same through public settings (its rate limit
window and its poll policy, in real seconds).
"""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nanobanana.testing import FakeNanoBanana

pytestmark = pytest.mark.slow

SCALE = 300.0
N = 60

SCRIPT = """
import json, sys
import nanobanana as nb

scale = float(sys.argv[1])
journal, out, n = sys.argv[2], sys.argv[3], int(sys.argv[4])
client = nb.Client(
    rate_limit=nb.RateLimit(60, per=60.0 / scale),
    poll_policy=nb.PollPolicy(initial_delay=12.0 / scale, interval=4.0 / scale, backoff=1.0),
)
prompts = [f"a lighthouse in a storm, take {i}" for i in range(n)]
with client, client.images.generate_many(prompts, journal=journal, save_to=out) as batch:
    for item in batch:
        print(json.dumps({
            "index": item.index, "ok": item.ok, "task_id": item.task_id,
            "attention": item.needs_attention, "paths": [str(p) for p in item.paths],
            "error": repr(item.error) if item.error else None,
        }), flush=True)
"""


def _run(script: Path, env: dict[str, str], journal: Path, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(script), str(SCALE), str(journal), str(out), str(N)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_kill_9_and_resume_never_pays_twice(tmp_path: Path) -> None:
    fake = FakeNanoBanana(time_scale=SCALE, seed=11, credits=10_000)
    script = tmp_path / "batch_job.py"
    script.write_text(SCRIPT)
    journal, out = tmp_path / "journal.sqlite", tmp_path / "out"
    with fake.serve() as url:
        env = {**os.environ, "NANOBANANA_BASE_URL": url, "NANOBANANA_API_KEY": fake.api_key}
        first = _run(script, env, journal, out)
        deadline = time.monotonic() + 20
        while len(fake.charges) < N // 3 and first.poll() is None:
            assert time.monotonic() < deadline, "the first run made no progress"
            time.sleep(0.005)
        os.kill(first.pid, signal.SIGKILL)
        first.communicate(timeout=10)
        assert first.returncode == -signal.SIGKILL
        charged_at_kill = len(fake.charges)
        assert charged_at_kill < N, "the batch ended before it could be killed"

        second = _run(script, env, journal, out)
        stdout, stderr = second.communicate(timeout=60)
        assert second.returncode == 0, stderr

    items = [json.loads(line) for line in stdout.splitlines()]
    assert sorted(i["index"] for i in items) == list(range(N))  # each request once
    # the ledger: no request body was ever charged twice
    per_request = collections.Counter(c.request for c in fake.charges)
    assert max(per_request.values()) == 1
    assert fake.double_charges(window=1e9) == []
    task_ids = {i["task_id"] for i in items if i["task_id"]}
    attention = [i for i in items if i["attention"]]
    assert len(task_ids) <= len(fake.charges) <= len(task_ids) + len(attention)
    # every result is present: a file on disk, except a generate that was on the wire at
    # the kill (its task id never came back): reported, never resubmitted
    assert len(attention) <= 8  # at most the requests in flight at the kill
    for item in items:
        if item["attention"]:
            continue
        assert item["ok"], item
        assert item["paths"] and all(Path(p).is_file() for p in item["paths"])
    assert len(list(out.glob("*.png"))) == N - len(attention)
