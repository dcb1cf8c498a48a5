"""The sabot command: run as a user would (a subprocess in a directory with the app)."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

APP = textwrap.dedent("""
    import sabot as sb

    app = sb.App("cli-test")
    numbers = app.topic("numbers", partitions=2)
    counts = app.Table("counts", default=int)

    @app.task
    async def produce():
        for i in range(100):
            await numbers.send(value={"n": i}, key=i % 3)

    @app.agent(numbers, concurrency=2, name="counter")
    async def counter(stream):
        async for value in stream:
            counts[value["n"] % 3] += 1
            if sum(counts.values()) == 100:
                with open("done.txt", "w") as out:
                    out.write(repr(sorted(counts.items())))

    not_an_app = 42
""")


@pytest.fixture
def project(tmp_path):
    (tmp_path / "myapp.py").write_text(APP)
    return tmp_path


def sabot(project, *args, **kwargs):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.run([sys.executable, "-m", "sabot", *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=120, **kwargs)


def test_version(project):
    result = sabot(project, "version")
    assert result.returncode == 0 and result.stdout.startswith("sabot ")


@pytest.mark.parametrize("spec,message", [
    ("myapp", "not of the form module:attribute"),
    ("nosuch:app", "cannot import module 'nosuch': ModuleNotFoundError"),
    ("myapp:missing", "module 'myapp' has no attribute 'missing'"),
    ("myapp:not_an_app", "is a int, not a sabot App"),
])
def test_bad_app_gives_one_line_and_exit_code_1(project, spec, message):
    for args in (("-A", spec, "worker"), ("worker", "-A", spec)):
        result = sabot(project, *args)
        assert result.returncode == 1
        assert message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_import_error_inside_the_module_is_reported(project):
    (project / "broken.py").write_text("import sabot\nraise ValueError('oops at import')\n")
    result = sabot(project, "-A", "broken:app", "agents")
    assert result.returncode == 1
    assert "cannot import module 'broken': ValueError: oops at import" in result.stderr


def test_listings_and_send(project):
    agents = sabot(project, "agents", "-A", "myapp:app")
    assert agents.returncode == 0 and "counter" in agents.stdout and "numbers" in agents.stdout
    topics = sabot(project, "-A", "myapp:app", "topics")
    assert "numbers" in topics.stdout and "json" in topics.stdout
    tables = sabot(project, "-A", "myapp:app", "tables")
    assert "counts" in tables.stdout and "int" in tables.stdout
    sent = sabot(project, "-A", "myapp:app", "send", "numbers", '{"n": 5}', "--key", "k")
    assert sent.returncode == 0 and "sent to numbers partition" in sent.stdout
    missing = sabot(project, "-A", "myapp:app", "send", "nope", "1")
    assert missing.returncode == 1 and "has no topic 'nope'" in missing.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_worker_runs_agents_and_stops_cleanly_on_signal(project, sig):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    worker = subprocess.Popen([sys.executable, "-m", "sabot", "-A", "myapp:app", "worker",
                               "-l", "info"], cwd=project, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (project / "done.txt").exists():
            assert worker.poll() is None, worker.communicate()
            assert time.monotonic() < deadline, "the worker did not process the messages"
            time.sleep(0.05)
        worker.send_signal(sig)
        _, stderr = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, stderr
    assert (project / "done.txt").read_text() == "[(0, 34), (1, 33), (2, 33)]"
    assert "worker of app cli-test stopped" in stderr
