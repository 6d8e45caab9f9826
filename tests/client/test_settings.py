"""chat_app/client/settings.py: the remembered host, port and name, never a password."""

import json

import pytest

import helpers  # noqa: F401  (puts the project on sys.path)
from chat_app.client import settings


def test_settings_round_trip_without_the_password(tmp_path):
    path = str(tmp_path / "s.json")
    assert settings.save({"host": "h", "port": 1, "name": "n", "password": "p"}, path)
    assert json.loads(open(path).read()) == {"host": "h", "port": 1, "name": "n"}
    assert settings.load(path) == {"host": "h", "port": 1, "name": "n"}


@pytest.mark.parametrize("content", [b"", b"\xff", b"[1]", b'{"port": "x", "host": 5}'])
def test_bad_settings_are_ignored(tmp_path, content):
    path = tmp_path / "s.json"
    path.write_bytes(content)
    assert settings.load(str(path)) == {}


def test_unwritable_settings_are_harmless(tmp_path):
    assert settings.save({"host": "h"}, str(tmp_path / "missing" / "s.json")) is False


def test_options_win_over_remembered_values(tmp_path):
    path = str(tmp_path / "s.json")
    settings.save({"host": "remembered", "port": 99, "name": "old"}, path)

    class Options:
        host, port, name, password = "given", None, None, None

    assert settings.fill(Options(), path) == {"host": "given", "port": 99, "name": "old",
                                              "password": "", "teacher_password": ""}
    Options.teacher_password = "owl"
    values = settings.fill(Options(), path)
    assert values["teacher_password"] == "owl"
    settings.save(values, path)
    assert "owl" not in open(path).read()  # passwords are never kept
