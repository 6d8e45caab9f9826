import os

import pytest

from helpers import RunningServer

IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_configure(config):
    if IN_CI and not config.pluginmanager.hasplugin("timeout"):
        raise pytest.UsageError("CI needs pytest-timeout: pip install pytest-timeout")


def require(condition, why):
    """Skip on a developer's machine, but fail in CI, when a prerequisite is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail("missing in CI: " + why)
    pytest.skip(why)


@pytest.fixture
def make_server():
    servers = []

    def make(*args):
        server = RunningServer(*args)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def server(make_server):
    return make_server()
