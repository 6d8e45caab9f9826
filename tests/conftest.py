import pytest

from helpers import IN_CI, RunningServer, build_pyz


def pytest_configure(config):
    if IN_CI and not config.pluginmanager.hasplugin("timeout"):
        raise pytest.UsageError("CI needs pytest-timeout: pip install pytest-timeout")


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


@pytest.fixture(scope="session")
def pyz(tmp_path_factory):
    """chat.pyz built by build_pyz.py, alone in an empty directory."""
    return build_pyz(str(tmp_path_factory.mktemp("lab")))
