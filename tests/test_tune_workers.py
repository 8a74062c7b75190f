"""``descend tune`` with many workers, some of which die: the trials of a dead worker are
recovered before each new trial (its process gone on this machine, or its heartbeat stale on
any machine) and run again, so the study ends with ``--trials`` complete trials, none lost or
duplicated — on a journal file and on a real PostgreSQL server."""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

optuna = pytest.importorskip("optuna", reason="descend tune needs Optuna: pip install 'descend[tune]'")

import pg_server  # noqa: E402  (tests/pg_server.py)

from descend import cli  # noqa: E402
from descend.tune import TuneError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
S = optuna.trial.TrialState
LEARNING_RATE = optuna.distributions.FloatDistribution(1e-2, 3e-1, log=True)


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Path:
    """600 examples, 6 features, 3 classes: about 0.05 s per epoch."""
    path = tmp_path_factory.mktemp("data") / "table.csv"
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 6))
    y = (x @ rng.normal(size=6) > 0).astype(int) + (x[:, 0] > 1).astype(int)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([f"x{i}" for i in range(6)] + ["label"])
        for row, label in zip(x, y, strict=True):
            writer.writerow([f"{v:.5f}" for v in row] + [label])
    return path


@pytest.fixture(scope="module")
def postgres_server():
    """A private PostgreSQL server for this module (skipped where PostgreSQL is not installed)."""
    pytest.importorskip("psycopg", reason="the PostgreSQL driver is an extra: pip install -e '.[postgres]'")
    try:
        server = pg_server.start_server()
    except pg_server.PostgresUnavailable as why:
        pytest.skip(str(why))
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server, request) -> str:
    """A new database of its own for each test."""
    return postgres_server.create_database(f"test{abs(hash(request.node.nodeid)) % 10**9}")


def argv_for(table: Path, epochs: int, trials: int) -> list[str]:
    return [
        "--data", str(table), "--target", "label", "--epochs", str(epochs), "--batch_size", "20",
        "--no_plots", "--no_tensorboard", "--threads", "1", "--trials", str(trials), "--pruner", "none",
        "--learning_rate", "loguniform:1e-2:3e-1",
    ]


# A worker that hangs in the middle of its first trial, after reporting one epoch to Optuna
# (Optuna's public Trial.report is patched in that process only; it marks the moment in the
# file $HANG_MARK), so that it is surely mid-trial when it is killed, whatever the load.
HANG = """
import os, time, optuna
report = optuna.trial.Trial.report
def hang(self, value, step):
    report(self, value, step)
    open(os.environ["HANG_MARK"], "w").close()
    time.sleep(3600)
optuna.trial.Trial.report = hang
"""


def start_worker(argv: list[str], logdir: Path, cwd: Path, hang_mark: Path | None = None) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    if hang_mark is not None:
        env["HANG_MARK"] = str(hang_mark)
    code = (HANG if hang_mark is not None else "") + "import sys; from descend.cli import main; sys.exit(main())"
    return subprocess.Popen(
        [sys.executable, "-c", code, "tune", *argv, "--logdir", str(logdir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd,
    )


def wait_for(condition, process: subprocess.Popen, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert process.poll() is None, (what, process.communicate())
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def trial_dirs(*logdirs: Path) -> list[int]:
    return sorted(int(p.name.split("-")[1]) for d in logdirs for p in d.glob("trial-*"))


def assert_study_finished(trials: list, wanted: int) -> list:
    """Exactly ``wanted`` complete trials; every other trial an interrupted failure that was
    run again exactly once, with the same parameters, to completion. Returns the failures."""
    complete = [t for t in trials if t.state == S.COMPLETE]
    interrupted = [t for t in trials if t.state == S.FAIL and t.user_attrs.get("interrupted")]
    assert len(complete) == wanted, [(t.number, t.state.name) for t in trials]
    assert len(complete) + len(interrupted) == len(trials), [(t.number, t.state.name) for t in trials]
    for dead in interrupted:
        reruns = [t for t in trials if t.user_attrs.get("retry_of") == dead.number]
        assert len(reruns) == 1, (dead.number, [t.number for t in reruns])
        assert reruns[0].state == S.COMPLETE and reruns[0].params == dead.params
    return interrupted


# ----------------------------------------------------------------------------- who is dead
def running_trial(**user_attrs):
    return optuna.trial.create_trial(
        state=S.RUNNING, params={"learning_rate": 0.1}, distributions={"learning_rate": LEARNING_RATE},
        user_attrs=user_attrs,
    )


def test_dead_worker_reason_tells_dead_from_live_workers():
    from descend.tune.study import dead_worker_reason, machine_id

    host, now = socket.gethostname(), time.time()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        fresh = {"heartbeat": now, "heartbeat_interval": 30.0}
        # This machine: a process that is gone is dead at once; a live one lives.
        reason = dead_worker_reason(running_trial(worker=f"{host}:{gone.pid}", machine=machine_id(), **fresh))
        assert reason is not None and "no longer exists" in reason and str(gone.pid) in reason
        assert dead_worker_reason(running_trial(worker=f"{host}:{alive.pid}", machine=machine_id(), **fresh)) is None
        # A zombie (killed, not yet reaped by its parent: here, this process) is dead too.
        zombie = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        zombie.kill()
        deadline = time.monotonic() + 10
        while " Z " not in Path(f"/proc/{zombie.pid}/stat").read_text() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert dead_worker_reason(running_trial(worker=f"{host}:{zombie.pid}", machine=machine_id(), **fresh))
        zombie.wait()
        # Same host name, other machine (e.g. a container): its process ids mean nothing here.
        elsewhere = running_trial(worker=f"{host}:{gone.pid}", machine="other-boot:1", **fresh)
        assert dead_worker_reason(elsewhere) is None
        # Another machine: judged by its heartbeat against GRACE_BEATS (4) of its own interval.
        recent = running_trial(worker="elsewhere:7", heartbeat=now - 100, heartbeat_interval=30.0)
        assert dead_worker_reason(recent) is None
        reason = dead_worker_reason(running_trial(worker="elsewhere:7", heartbeat=now - 130, heartbeat_interval=30.0))
        assert reason is not None and "no heartbeat for 130 s" in reason and "elsewhere:7" in reason
        # A live process of this machine whose heartbeat stopped (a hung worker, a reused pid).
        hung = running_trial(worker=f"{host}:{alive.pid}", heartbeat=now - 1000, heartbeat_interval=1.0)
        assert dead_worker_reason(hung)
        # No heartbeat at all (older versions, or a worker killed right after starting the
        # trial): the trial's start stands in for it.
        assert dead_worker_reason(running_trial(worker="elsewhere:7"), now=now + 10) is None
        assert dead_worker_reason(running_trial(worker="elsewhere:7"), now=now + 1000) is not None
    finally:
        alive.kill()
        alive.wait()


def test_the_heartbeat_is_written_while_the_trial_runs(monkeypatch):
    from descend.tune.study import Heartbeat, heartbeat_interval

    study = optuna.create_study()
    trial = study.ask()
    heartbeat = Heartbeat(None, trial, interval=0.05)
    try:
        deadline = time.monotonic() + 10
        while "heartbeat" not in study.trials[0].user_attrs and time.monotonic() < deadline:
            time.sleep(0.02)
        first = study.trials[0].user_attrs["heartbeat"]
        while study.trials[0].user_attrs["heartbeat"] == first and time.monotonic() < deadline:
            time.sleep(0.02)
        assert study.trials[0].user_attrs["heartbeat"] > first  # it keeps beating
    finally:
        heartbeat.stop()
    monkeypatch.setenv("DESCEND_TUNE_HEARTBEAT", "2.5")
    assert heartbeat_interval() == 2.5
    for bad in ("fast", "0", "-1", "nan"):
        monkeypatch.setenv("DESCEND_TUNE_HEARTBEAT", bad)
        with pytest.raises(TuneError, match=r"DESCEND_TUNE_HEARTBEAT=.*heartbeat interval in seconds"):
            heartbeat_interval()


# ----------------------------------------------------------------------------- other machines
def test_trials_of_workers_elsewhere_whose_heartbeat_stops_are_run_again(capsys, table, tmp_path, monkeypatch):
    """Two trials running on another machine: one whose heartbeat stopped an hour ago, one
    still beating — until it stops too. The worker here runs both again and waits for the
    second rather than ending the study with it 'running'."""
    monkeypatch.setenv("DESCEND_TUNE_HEARTBEAT", "0.5")
    storage = tmp_path / "shared.journal"
    study = optuna.create_study(
        study_name="remote", direction="maximize",
        storage=optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(storage))),
    )
    for lr, beat, interval in ((0.05, time.time() - 3600, 30.0), (0.1, time.time(), 0.5)):
        study.enqueue_trial({"learning_rate": lr})
        trial = study.ask()
        assert trial.suggest_float("learning_rate", 1e-2, 3e-1, log=True) == lr
        attrs = {"worker": "elsewhere:4242", "machine": "another", "heartbeat": beat, "heartbeat_interval": interval}
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
    remote = {t.number: t.params for t in study.get_trials()}

    code = cli.main(["tune", *argv_for(table, 2, 3), "--storage", f"journal:{storage}", "--study", "remote",
                     "--logdir", str(tmp_path / "here")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Trial 0 was left running by a worker that sent no heartbeat" in err
    assert "Trial 1 was left running by a worker that sent no heartbeat" in err
    trials = study.get_trials()
    dead = assert_study_finished(trials, 3)
    assert {t.number for t in dead} == {0, 1}
    assert {t.number: t.params for t in dead} == remote == {0: {"learning_rate": 0.05}, 1: {"learning_rate": 0.1}}
    assert "(3 complete, 0 pruned, 2 failed, 0 running)" in out


# ----------------------------------------------------------------------------- waiting
def hold_a_trial(storage: Path, study_name: str, pid: int, lr: float):
    """A study whose trial 0 runs on this machine in the process ``pid`` (heartbeat fresh)."""
    study = optuna.create_study(
        study_name=study_name, direction="maximize",
        storage=optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(storage))),
    )
    study.enqueue_trial({"learning_rate": lr})
    trial = study.ask()
    trial.suggest_float("learning_rate", 1e-2, 3e-1, log=True)
    from descend.tune.study import machine_id

    attrs = {"worker": f"{socket.gethostname()}:{pid}", "machine": machine_id(), "heartbeat": time.time(),
             "heartbeat_interval": 30.0}
    for key, value in attrs.items():
        trial.set_user_attr(key, value)
    return study


def test_a_worker_waits_for_the_last_trials_of_live_workers_and_reruns_them_if_they_die(capsys, table, tmp_path):
    """The study's one trial runs in another (live) worker: this worker does not end the study
    with it running, but waits; when that worker dies, it runs the trial again."""
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        study = hold_a_trial(tmp_path / "s.journal", "wait", other.pid, 0.05)
        threading.Timer(1.5, other.kill).start()
        code = cli.main(["tune", *argv_for(table, 2, 1), "--storage", f"journal:{tmp_path / 's.journal'}",
                         "--study", "wait", "--logdir", str(tmp_path / "here")])
        _, err = capsys.readouterr()
    finally:
        other.kill()
        other.wait()
    assert code == 0, err
    assert "All 1 trials of the study have started; waiting for trial(s) 0 running on other workers" in err
    assert "Trial 0 was left running by a worker that no longer exists" in err
    dead = assert_study_finished(study.get_trials(), 1)
    assert [t.number for t in dead] == [0]


def test_waiting_for_other_workers_ends_at_the_timeout(capsys, table, tmp_path):
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        study = hold_a_trial(tmp_path / "s.journal", "timeout", other.pid, 0.05)
        started = time.monotonic()
        code = cli.main(["tune", *argv_for(table, 2, 1), "--storage", f"journal:{tmp_path / 's.journal'}",
                         "--study", "timeout", "--timeout", "1", "--logdir", str(tmp_path / "here")])
        waited = time.monotonic() - started
        out, err = capsys.readouterr()
    finally:
        other.kill()
        other.wait()
    assert code == 0, err
    assert "Stopped waiting for trial(s) 0 of other workers (--timeout)" in err
    assert waited < 30  # not until the other worker's heartbeat goes stale (120 s)
    assert [t.state for t in study.get_trials()] == [S.RUNNING]  # it is still the other worker's
    assert "(0 complete, 0 pruned, 0 failed, 1 running)" in out


# ----------------------------------------------------------------------------- killed workers
@pytest.mark.parametrize("backend", ["journal", "postgresql"])
def test_a_worker_killed_mid_trial_leaves_no_trial_lost_or_duplicated(backend, table, tmp_path, request):
    """Two workers on one study; one is SIGKILLed in the middle of a trial while the other is
    running trials. The other runs that trial again (its process is gone) and the study ends
    with --trials complete trials: none lost, none run twice, none left running."""
    if backend == "journal":
        storage = f"journal:{tmp_path / 'shared.journal'}"
        load = optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(tmp_path / "shared.journal"))
        )
    else:
        storage = load = request.getfixturevalue("postgres_url")
    trials, epochs = 5, 6
    argv = [*argv_for(table, epochs, trials), "--storage", storage, "--study", "killed"]
    victim_dir, survivor_dir, mark = tmp_path / "victim", tmp_path / "survivor", tmp_path / "hung"
    victim = start_worker(argv, victim_dir, tmp_path, hang_mark=mark)
    survivor = None
    try:
        # The victim starts a trial and hangs after its first epoch; the survivor starts and
        # runs a trial of its own (so it is past its start-up); then the victim is killed.
        wait_for(mark.exists, victim, "the victim started no trial")
        survivor = start_worker(argv, survivor_dir, tmp_path)
        wait_for(lambda: any(survivor_dir.glob("trial-*/metrics.csv")), survivor, "the survivor ran no trial")
        assert victim.poll() is None, victim.communicate()
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        out, err = survivor.communicate(timeout=120)
    finally:
        for process in (victim, survivor):
            if process is not None and process.poll() is None:
                process.kill()
                process.communicate()
    assert survivor.returncode == 0, err
    study = optuna.load_study(study_name="killed", storage=load)
    all_trials = study.get_trials()
    dead = assert_study_finished(all_trials, trials)
    assert len(dead) == 1 and dead[0].user_attrs["worker"] == f"{socket.gethostname()}:{victim.pid}"
    assert len(dead[0].intermediate_values) == 1  # killed mid-trial
    assert f"Trial {dead[0].number} was left running by a worker that no longer exists" in err
    # Every trial ran exactly once, in its own run directory; the complete ones ran all epochs.
    assert trial_dirs(victim_dir, survivor_dir) == sorted(t.number for t in all_trials)
    for t in all_trials:
        if t.state == S.COMPLETE:
            assert len(t.intermediate_values) == epochs
            with open(Path(t.user_attrs["logdir"]) / "metrics.csv", newline="") as f:
                assert len(list(csv.DictReader(f))) == epochs
    assert f"({trials} complete, 0 pruned, 1 failed, 0 running)" in out


def test_workers_starting_together_on_a_new_database_all_open_it(postgres_url, tmp_path):
    """Optuna creates its tables when a storage is first opened; workers that start together on
    an empty database race to create them (all but one failing with "duplicate key value ...
    pg_type"), unless the creation is serialised (an advisory lock). Eight threads, each as a
    worker would, open the new database at the same instant."""
    from descend.tune.study import open_storage

    barrier = threading.Barrier(8)
    errors: list[str] = []

    def worker() -> None:
        barrier.wait()
        try:
            open_storage(postgres_url, tmp_path)
        except Exception as error:  # noqa: BLE001 (collected for the assertion)
            errors.append(f"{type(error).__name__}: {error}"[:300])

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
