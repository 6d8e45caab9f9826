"""Who is the teacher: the token file, the teacher password, and what proves nothing."""

import os
import stat

import pytest

from fake_console import FakeConsole
from helpers import WAIT, Client, ServerProcess, wait_until
from chat_app.wire import teacher_id
from chat_app.wire.protocol import ProtocolError
from chat_app.relay.room import Room

POSIX = os.name != "nt"


class FakePeer:
    """Enough of a connection for a password that is checked at once."""

    reason = None


def keys_in(tmp_path, password=None, port=4321):
    console = FakeConsole()
    room = Room(10)
    keys = teacher_id.TeacherKeys.start(port, password, room, console, directory=str(tmp_path))
    return keys, console.errors


def check(keys, **fields):
    frame = dict({"type": "join", "name": "t"}, **fields)
    return keys.check(frame, "127.0.0.1", FakePeer())


def refusal(keys, **fields):
    with pytest.raises(ProtocolError) as raised:
        check(keys, **fields)
    assert raised.value.code == "bad_teacher"
    assert raised.value.fatal
    return raised.value.message


@pytest.mark.skipif(not POSIX, reason="POSIX permission bits")
def test_the_token_file_is_private_and_new_at_every_start(tmp_path):
    directory = tmp_path / "home"
    path, first = teacher_id.write_token(1234, str(directory))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(str(directory)).st_mode) == 0o700
    assert len(first) == 32 and int(first, 16) >= 0
    _, second = teacher_id.write_token(1234, str(directory))  # a killed server's file is replaced
    assert second != first
    assert teacher_id.read_token(1234, str(directory)) == second
    assert teacher_id.read_token(1235, str(directory)) is None  # another port: another room


def test_a_join_without_teacher_fields_is_a_student(tmp_path):
    keys, _ = keys_in(tmp_path)
    assert check(keys) is False


def test_the_right_token_makes_a_teacher(tmp_path):
    keys, warnings = keys_in(tmp_path)
    token = teacher_id.read_token(4321, str(tmp_path))
    assert check(keys, teacher_token=token) is True
    assert warnings == []


@pytest.mark.parametrize("made_up", ["", "0" * 32, "x", "A" * 5000, "\u00e9" * 32],
                         ids=["empty", "zeros", "short", "long", "not-ascii"])
def test_a_made_up_token_is_refused_and_says_why(tmp_path, made_up):
    keys, _ = keys_in(tmp_path)
    message = refusal(keys, teacher_token=made_up)
    assert "not written by this server" in message
    assert "teacher password" in message  # what to do instead


def test_a_token_of_an_earlier_run_is_refused(tmp_path):
    old, _ = keys_in(tmp_path)
    token = teacher_id.read_token(4321, str(tmp_path))
    new, _ = keys_in(tmp_path)  # the server restarted: a new token
    assert "earlier run" in refusal(new, teacher_token=token)
    assert check(new, teacher_token=teacher_id.read_token(4321, str(tmp_path))) is True


@pytest.mark.skipif(not POSIX, reason="POSIX permission bits")
def test_a_token_file_others_can_read_proves_nothing(tmp_path):
    keys, warnings = keys_in(tmp_path)
    token = teacher_id.read_token(4321, str(tmp_path))
    os.chmod(keys.path, 0o644)
    message = refusal(keys, teacher_token=token)  # even the right token
    assert "can be read by other users" in message and keys.path in message
    assert len(warnings) == 1 and "-rw-r--r--" in warnings[0]
    os.chmod(keys.path, 0o600)  # put right again: still refused until a restart
    refusal(keys, teacher_token=token)
    assert len(warnings) == 1  # said once
    assert teacher_id.read_token(4321, str(tmp_path)) == token


@pytest.mark.skipif(not POSIX, reason="POSIX permission bits")
def test_a_client_does_not_use_a_token_file_others_can_read(tmp_path):
    path, token = teacher_id.write_token(1234, str(tmp_path))
    local = lambda host: True  # noqa: E731
    assert teacher_id.join_fields("127.0.0.1", 1234, str(tmp_path), local) == {
        "teacher_token": token}
    os.chmod(path, 0o640)
    assert teacher_id.join_fields("127.0.0.1", 1234, str(tmp_path), local) == {}


def test_a_client_sends_the_token_only_to_its_own_computer(tmp_path):
    teacher_id.write_token(1234, str(tmp_path))
    assert teacher_id.join_fields("127.0.0.1", 1234, str(tmp_path))
    assert teacher_id.join_fields("localhost", 1234, str(tmp_path))
    assert teacher_id.join_fields("198.18.0.9", 1234, str(tmp_path)) == {}
    assert teacher_id.join_fields("127.0.0.1", 1299, str(tmp_path)) == {}  # no such room here


def test_the_teacher_password(tmp_path):
    keys, _ = keys_in(tmp_path, password="owl")
    assert check(keys, teacher_password="owl") is True
    assert "Wrong teacher password" in refusal(keys, teacher_password="Owl")
    assert "Wrong teacher password" in refusal(keys, teacher_password="")


def test_a_teacher_password_on_a_server_without_one(tmp_path):
    keys, _ = keys_in(tmp_path)
    assert "no teacher password" in refusal(keys, teacher_password="owl")


def test_wrong_teacher_passwords_are_slowed_in_the_room_passwords_line(tmp_path):
    keys, _ = keys_in(tmp_path, password="owl")
    guard = keys._room._guard
    for _ in range(3):  # the first three wrong ones cost nothing; the next waits
        refusal(keys, teacher_password="guess")
    assert guard.longest_wait(guard.line_up("127.0.0.1", lambda: None)) > 0


def test_a_token_file_that_cannot_be_written_is_said(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    console = FakeConsole()
    warnings = console.errors
    keys = teacher_id.TeacherKeys.start(1234, None, Room(10), console,
                                        directory=str(blocker / "sub"))
    assert not keys.has_token
    assert "--teacher-password" in warnings[0]
    assert "not written by this server" in refusal(keys, teacher_token="0" * 32)


def test_remove_leaves_another_runs_file(tmp_path):
    keys, _ = keys_in(tmp_path)
    teacher_id.write_token(4321, str(tmp_path))  # a second server took the port since
    keys.remove()
    assert os.path.exists(keys.path)
    again, _ = keys_in(tmp_path)
    again.remove()
    assert not os.path.exists(again.path)


@pytest.mark.system  # starts chat.pyz
def test_the_server_writes_the_file_says_so_and_removes_it(pyz, tmp_path):
    import sys
    home = tmp_path / "home"
    os.environ[teacher_id.HOME_VARIABLE] = str(home)
    try:
        server = ServerProcess(sys.executable, pyz, "--no-discovery", cwd=str(tmp_path))
    finally:
        del os.environ[teacher_id.HOME_VARIABLE]
    try:
        path = teacher_id.token_path(server.port, str(home))
        wait_until(lambda: os.path.exists(path), WAIT, "the token file")
        assert "Teacher: you, when you start the client on this computer" in server.out
        assert "Teacher password: none" in server.out
        student = Client(server.port)
        student.join("amy")
        server.wait_for("amy joined")  # serving: its signal handlers are in place
        status, _ = server.stop()
        student.close()
        assert status == 0, server.err
        assert not os.path.exists(path)
    finally:
        server.kill()


def test_join_fields_for_a_window_in_the_servers_own_process(tmp_path):
    keys, _ = keys_in(tmp_path, password="owl")
    assert check(keys, **keys.join_fields()) is True  # its token
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    no_file = teacher_id.TeacherKeys.start(1234, "owl", Room(10), FakeConsole(),
                                           directory=str(blocker / "sub"))
    assert no_file.join_fields() == {"teacher_password": "owl"}
    assert check(no_file, **no_file.join_fields()) is True
    nothing = teacher_id.TeacherKeys.start(1234, None, Room(10), FakeConsole(),
                                           directory=str(blocker / "sub"))
    assert nothing.join_fields() == {}
