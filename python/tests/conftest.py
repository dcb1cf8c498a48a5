"""Shared fixtures. Tests marked `kafka` need a real broker: the one the ctest fixture
started (SABOT_KAFKA_BOOTSTRAP_FILE), or else a private one this session starts with
tools/kafka/start.sh and stops at the end."""

import os
import subprocess
import tempfile

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def pytest_configure(config):
    config.addinivalue_line("markers", "kafka: needs a real Kafka broker")


@pytest.fixture(scope="session")
def kafka_bootstrap():
    path = os.environ.get("SABOT_KAFKA_BOOTSTRAP_FILE")
    if path:
        with open(path) as source:
            yield source.read().strip()
        return
    directory = tempfile.mkdtemp(prefix="sabot-pytest-kafka-")
    started = subprocess.run([os.path.join(ROOT, "tools", "kafka", "start.sh"), directory],
                             capture_output=True, text=True, timeout=180)
    assert started.returncode == 0, started.stderr
    try:
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([os.path.join(ROOT, "tools", "kafka", "stop.sh"), directory],
                       capture_output=True, timeout=120)
