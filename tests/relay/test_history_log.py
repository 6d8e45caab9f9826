"""--log: every room event on disk, and history that survives a restart."""

import errno
import json
import os
import re

import pytest

from helpers import RunningServer, require, server_options, take_unsaved_file, wait_until
from fake_console import FakeConsole
from chat_app.relay import history_log
from chat_app.relay.history_log import HistoryLog


def records(path):
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@pytest.mark.system
def test_messages_joins_leaves_and_private_messages_are_logged(make_server, tmp_path):
    path = str(tmp_path / "room.jsonl")
    server = make_server("--log", path)
    amy = server.client()
    amy.join("amy")
    bob = server.client()
    bob.join("bob")
    amy.send({"type": "say", "text": "hello"})
    amy.send({"type": "say", "text": "secret", "to": "bob"})
    bob.expect("message", text="secret")
    bob.send({"type": "leave"})
    amy.expect("left")
    kinds = [(r["type"], r.get("name") or r.get("text"), r.get("to")) for r in records(path)]
    assert kinds == [("saved_state", None, None),  # the run starts with the room's snapshot
                     ("joined", "amy", None), ("joined", "bob", None), ("message", "hello", None),
                     ("message", "secret", "bob"), ("left", "bob", None)]


@pytest.mark.system
def test_history_and_ids_survive_a_restart(tmp_path):
    path = str(tmp_path / "room.jsonl")
    first = RunningServer("--log", path, "--history", "3")
    try:
        first.out.wait_for(r"room\.jsonl has no earlier messages: a new transcript starts there")
        amy = first.client()
        amy.join("amy")
        for i in range(5):
            amy.send({"type": "say", "text": "m%d" % i})
        last = [amy.expect("message") for _ in range(5)][-1]
    finally:
        first.close()
    second = RunningServer("--log", path, "--history", "3")
    try:
        second.out.wait_for(r"loaded 3 earlier messages")
        bob = second.client()
        history = bob.join("bob")["history"]
        assert [m["text"] for m in history] == ["m2", "m3", "m4"]
        assert history[-1] == last
        bob.send({"type": "say", "text": "after"})
        assert bob.expect("message")["id"] == last["id"] + 1
    finally:
        second.close()


@pytest.mark.system
def test_a_torn_last_line_is_skipped_with_a_warning(tmp_path):
    path = str(tmp_path / "room.jsonl")
    good = {"type": "message", "id": 7, "from": "amy", "text": "kept", "time": 1.5}
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(good) + "\n" + '{"type":"message","id":8,"fr')
    server = RunningServer("--log", path)
    try:
        server.err.wait_for("cut off")
        bob = server.client()
        assert bob.join("bob")["history"] == [good]
        bob.send({"type": "say", "text": "next"})
        assert bob.expect("message")["id"] == 8
    finally:
        server.close()
    lines = open(path, encoding="utf-8").read().splitlines()
    assert lines[1] == '{"type":"message","id":8,"fr'
    assert json.loads(lines[2])["type"] == "saved_state"  # a fresh line after the torn one
    assert json.loads(lines[3])["name"] == "bob"


def test_reload_reads_only_the_end_of_a_big_log(tmp_path):
    path = str(tmp_path / "big.jsonl")
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(1, 20001):
            handle.write(json.dumps({"type": "message", "id": i, "from": "a",
                                     "text": "t%d" % i, "time": 1.0}) + "\n")
            handle.write(json.dumps({"type": "joined", "name": "a", "time": 1.0}) + "\n")
    log = HistoryLog(path)
    messages, last_id, warnings = log.load(100)
    log.close()
    assert last_id == 20000 and warnings == []
    assert [m["id"] for m in messages] == list(range(19901, 20001))


def test_unreadable_lines_are_counted(tmp_path):
    path = str(tmp_path / "mixed.jsonl")
    with open(path, "wb") as handle:
        handle.write(b'{"type":"message","id":1,"from":"a","text":"x","time":1}\n'
                     b"garbage\n\xff\xfe\n"
                     b'{"type":"message","id":2,"from":"a","text":"y","time":1}\n')
    log = HistoryLog(path)
    messages, last_id, warnings = log.load(10)
    log.close()
    assert [m["id"] for m in messages] == [1, 2] and last_id == 2
    assert warnings == ["2 unreadable line(s) in %s were skipped." % path]


@pytest.mark.system
def test_a_log_write_error_is_reported_and_chat_goes_on(make_server, tmp_path):
    require(os.path.exists("/dev/full"), "/dev/full, to simulate a full disk")
    server = make_server("--log", "/dev/full")
    amy = server.client()
    amy.join("amy")
    server.err.wait_for("cannot write to the log file /dev/full")
    amy.send({"type": "say", "text": "still relayed"})
    assert amy.expect("message")["text"] == "still relayed"
    server.close()
    _, lines = take_unsaved_file("full")  # saved elsewhere at the stop (test_log_writer)
    assert b"still relayed" in lines[-2]
    assert lines[-1].startswith(b'{"type":"stopped","names":["amy"]')  # who was there at the stop


def room_with_a_message(path):
    """Start a server logging to `path`; amy joins and says "before": (server, amy, frame)."""
    server = RunningServer("--log", path)
    amy = server.client()
    amy.join("amy")
    amy.send({"type": "say", "text": "before"})
    return server, amy, amy.expect("message")


@pytest.mark.system
def test_announcements_are_numbered_kept_logged_and_reloaded(tmp_path):
    """/say is part of the record: late joiners and a restarted server still have it."""
    from test_text_sessions import read_until
    path = str(tmp_path / "room.jsonl")
    first, amy, before = room_with_a_message(path)
    try:
        first.room.announce("Pens down")
        notice = amy.expect("notice")
        assert notice["id"] == before["id"] + 1 and notice["text"] == "Pens down"
        late = first.client()
        assert [(f["type"], f["id"]) for f in late.join("late")["history"]] == [
            ("message", before["id"]), ("notice", notice["id"])]
    finally:
        first.close()
    assert notice in records(path)
    second = RunningServer("--log", path)
    try:
        bob = second.client()
        assert bob.join("bob")["history"] == [before, notice]
        bob.send({"type": "say", "text": "after"})
        assert bob.expect("message")["id"] == notice["id"] + 1
        carl = second.client()  # a person at a terminal sees the announcement as one
        carl.send_raw(b"carl\n")
        lines = read_until(carl, "End of earlier messages")
        shown = [line.split("] ", 1)[-1] for line in lines[1:-1]]
        assert shown == ["<amy> before", "*** Pens down", "<bob> after"], lines
    finally:
        second.close()


def test_the_last_id_counts_announcements_too(tmp_path):
    path = str(tmp_path / "room.jsonl")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(json.dumps({"type": "message", "id": 4, "from": "a", "text": "x",
                                 "time": 1.0}) + "\n")
        handle.write(json.dumps({"type": "notice", "id": 5, "text": "y", "time": 2.0}) + "\n")
        handle.write(json.dumps({"type": "notice", "text": "unnumbered, from an old log",
                                 "time": 3.0}) + "\n")
    log = HistoryLog(path)
    entries, last_id, warnings = log.load(10)
    log.close()
    assert [e["type"] for e in entries] == ["message", "notice"] and last_id == 5
    assert warnings == []


# --- whole lines, rotation, a file that changes under the server --------------

def frame_line(number, text="x"):
    return (json.dumps({"type": "message", "id": number, "from": "amy", "text": text,
                        "time": 1.0}) + "\n").encode("utf-8")


def test_a_partial_write_is_cut_back_to_the_last_whole_line(tmp_path, monkeypatch):
    path = str(tmp_path / "room.jsonl")
    log = HistoryLog(path)
    assert log.write([frame_line(1)]) == (1, None)
    real_write, calls = os.write, []

    def disk_fills(fd, data):  # as write(2) on a disk with 100 bytes left
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[:len(frame_line(2)) + 30]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(history_log.os, "write", disk_fills)
    written, error = log.write([frame_line(2), frame_line(3), frame_line(4)])
    assert written == 1 and error.errno == errno.ENOSPC
    assert open(path, "rb").read() == frame_line(1) + frame_line(2)  # no piece of line 3
    monkeypatch.setattr(history_log.os, "write", real_write)
    assert log.write([frame_line(3), frame_line(4)]) == (2, None)  # the rest, once there is space
    log.close()
    assert [r["id"] for r in records(path)] == [1, 2, 3, 4]


def test_a_full_log_becomes_file_1_and_history_reloads_across_files(tmp_path):
    path = str(tmp_path / "room.jsonl")
    console = FakeConsole()
    said = console.lines
    log = HistoryLog(path, max_size=1000, console=console)
    for number in range(1, 31):  # about 90 bytes each: 11 to a file
        assert log.write([frame_line(number)]) == (1, None)
    log.close()
    sizes = {name: os.path.getsize(str(tmp_path / name)) for name in os.listdir(str(tmp_path))}
    assert sorted(sizes) == ["room.jsonl", "room.jsonl.1", "room.jsonl.2"]
    assert all(size <= 1000 for size in sizes.values()), sizes
    assert [r["id"] for r in records(path + ".2")][0] == 1  # the higher the number, the older
    assert said[0] == ("the log file %s reached --log-max-size 1000 bytes: it was renamed %s.1 "
                       "and a new one begins (a restart reloads the history across the files)"
                       % (path, path))
    again = HistoryLog(path, max_size=1000)
    entries, last_id, warnings = again.load(25)
    again.close()
    assert [e["id"] for e in entries] == list(range(6, 31)) and last_id == 30
    assert warnings == []


def test_only_the_newest_older_files_are_kept_and_the_console_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(history_log, "ROTATED_LOGS_KEPT", 2)
    path = str(tmp_path / "room.jsonl")
    console = FakeConsole()
    said = console.lines
    log = HistoryLog(path, max_size=200, console=console)
    assert log.write([frame_line(number) for number in range(1, 9)]) == (8, None)  # 2 a file
    log.close()
    assert sorted(os.listdir(str(tmp_path))) == ["room.jsonl", "room.jsonl.1", "room.jsonl.2"]
    assert [r["id"] for r in records(path + ".2")] == [3, 4]
    removed = [text for text in said if text.startswith("removed")]
    assert removed[0] == ("removed %s.2, the oldest log file: --log-max-size keeps %s and 2 "
                          "older files. Copy them elsewhere to keep more of the transcript."
                          % (path, path))
    assert len(removed) == 1  # ids 1 and 2: the first file, the only one removed


def test_a_log_that_cannot_be_renamed_grows_on_and_says_so_once(tmp_path, monkeypatch):
    monkeypatch.setattr(history_log, "ROTATED_LOGS_KEPT", 1)
    path = str(tmp_path / "room.jsonl")
    os.makedirs(path + ".1" + os.sep + "in the way")  # the oldest kept file cannot be removed
    console = FakeConsole()
    warned = console.errors
    log = HistoryLog(path, max_size=200, console=console)
    assert log.write([frame_line(number) for number in range(1, 7)]) == (6, None)
    log.close()
    assert [r["id"] for r in records(path)] == [1, 2, 3, 4, 5, 6]
    assert len(warned) == 1 and warned[0].startswith(
        "cannot start a new log file after %s reached --log-max-size 200 bytes (" % path)
    assert "it grows on from now on" in warned[0]


def test_a_line_longer_than_the_limit_gets_a_file_of_its_own(tmp_path):
    path = str(tmp_path / "room.jsonl")
    log = HistoryLog(path, max_size=100)
    long_line = frame_line(1, "y" * 300)
    assert log.write([long_line, frame_line(2)]) == (2, None)
    log.close()
    assert open(path + ".1", "rb").read() == long_line
    assert [r["id"] for r in records(path)] == [2]


def test_a_deleted_or_replaced_log_is_noticed_and_started_again(tmp_path):
    path = str(tmp_path / "room.jsonl")
    console = FakeConsole()
    warned = console.errors
    log = HistoryLog(path, console=console)
    log.write([frame_line(1)])
    os.remove(path)
    assert log.write([frame_line(2)]) == (1, None)
    assert warned == [history_log.REOPENED["deleted"] % path]
    assert [r["id"] for r in records(path)] == [1, 2]  # what it held, written again
    os.rename(path, path + ".moved")
    with open(path, "wb") as handle:
        handle.write(b'{"type":"message","id":2,"fr')  # cut off, as a copy in progress
    assert log.write([frame_line(3)]) == (1, None)
    assert log.write([frame_line(4)]) == (1, None)
    log.close()
    assert warned[1:] == [history_log.REOPENED["replaced"] % path]  # once
    assert open(path, "rb").read() == b'{"type":"message","id":2,"fr\n' + frame_line(3) + frame_line(4)


def test_a_log_whose_folder_is_gone_fails_and_works_again_once_it_is_back(tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    path = str(folder / "room.jsonl")
    log = HistoryLog(path)
    os.remove(path)
    folder.rmdir()
    written, error = log.write([frame_line(1)])
    assert written == 0 and error.errno == errno.ENOENT
    folder.mkdir()
    assert log.write([frame_line(1)]) == (1, None)
    log.close()
    assert [r["id"] for r in records(path)] == [1]


@pytest.mark.parametrize("text, size", [
    ("100M", 100 * 1024 ** 2), ("1G", 1024 ** 3), ("500K", 500 * 1024), ("500k", 500 * 1024),
    ("70000", 70000), ("1.5G", 3 * 1024 ** 3 // 2), ("100MB", 100 * 1024 ** 2), ("0", 0),
])
def test_log_max_size_accepts_what_a_teacher_writes(text, size):
    assert server_options("--log-max-size", text).log_max_size == size


def test_log_max_size_has_a_sensible_default():
    assert server_options().log_max_size == 100 * 1024 ** 2


@pytest.mark.parametrize("text, words", [
    ("100", "100 is too small for --log-max-size: give at least 64K (for example 100M), or 0"),
    ("lots", "'lots' is not a size: write for example 100M, 1G, 500K, or a number of bytes"),
    ("-5M", "is not a size"),
])
def test_log_max_size_refuses_a_size_that_is_likely_a_mistake(capsys, text, words):
    with pytest.raises(SystemExit):
        server_options("--log-max-size=" + text)
    assert words in capsys.readouterr().err


@pytest.mark.system
def test_the_server_rotates_its_log_and_reloads_history_across_the_files(tmp_path):
    path = str(tmp_path / "chat.log")
    texts = ["%02d " % number + "w" * 2997 for number in range(50)]  # 150 KB
    first = RunningServer("--log", path, "--log-max-size", "64K", "--rate-limit", "0")
    try:
        amy = first.client()
        amy.join("amy")
        for text in texts:
            amy.send({"type": "say", "text": text})
        amy.expect("message", text=texts[-1])
        first.out.wait_for("the log file %s reached --log-max-size 64K: it was renamed %s.1"
                           % (path, path))
    finally:
        first.close()
    files = sorted(os.listdir(str(tmp_path)))
    assert files == ["chat.log", "chat.log.1", "chat.log.2"]
    assert all(os.path.getsize(str(tmp_path / name)) <= 64 * 1024 for name in files)
    second = RunningServer("--log", path, "--history", "100")
    try:
        history = second.client().join("bob")["history"]
        assert [frame["text"] for frame in history] == texts
    finally:
        second.close()


@pytest.mark.system
@pytest.mark.parametrize("gone", ["deleted", "moved"])
def test_a_log_deleted_or_moved_while_the_server_runs_is_written_again_whole(tmp_path, gone):
    path = str(tmp_path / "chat.log")
    first, amy, before = room_with_a_message(path)
    try:
        wait_until(lambda: "before" in open(path, encoding="utf-8").read(), what="the log")
        if gone == "deleted":
            os.remove(path)
        else:
            os.rename(path, str(tmp_path / "kept.log"))
        amy.send({"type": "say", "text": "after"})
        after = amy.expect("message")
        first.err.wait_for("the log file %s was deleted or moved while the server ran: it was "
                           "written again there, with everything it held" % re.escape(path))
    finally:
        first.close()
    second = RunningServer("--log", path)
    try:
        assert second.client().join("bob")["history"] == [before, after]
    finally:
        second.close()


def write_records(path, records):
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, separators=(",", ":")) + "\n")


def message(id_, text, **more):
    return dict({"type": "message", "id": id_, "from": "amy", "text": text, "time": 1.0}, **more)


def test_reload_stops_at_the_newest_cleared_and_leaves_deleted_and_private_out(tmp_path):
    path = str(tmp_path / "room.jsonl")
    state = {"type": "saved_state", "locked": True, "slow": 0, "private": True, "muted": [],
             "muted_machines": [],
             "hands": [], "time": 1.0}
    write_records(path, [
        message(1, "before the clear"), {"type": "cleared", "time": 2.0},
        message(2, "kept"), message(3, "deleted"), state,
        {"type": "notice", "id": 4, "text": "The teacher deleted ...", "time": 3.0,
         "about": "delete"},
        {"type": "deleted", "id": 3, "time": 3.0}, message(5, "secret", to="bob")])
    log = HistoryLog(path)
    entries, last_id, warnings = log.load(10)
    log.close()
    assert [m["text"] for m in entries] == ["kept"] and warnings == []
    assert last_id == 5  # a private message's id is taken: the next one is 6
    assert log.saved_state == state


def test_the_newest_saved_state_is_found_behind_a_long_history_and_in_an_older_file(tmp_path):
    path = str(tmp_path / "room.jsonl")
    old = {"type": "saved_state", "locked": False, "slow": 5, "private": False,
           "muted": ["bob"], "muted_machines": [], "hands": [{"name": "amy", "time": 1.0}],
           "time": 1.0}
    write_records(path + ".1", [dict(old, slow=1), old])
    write_records(path, [message(i, "m%d" % i) for i in range(1, 5001)])
    log = HistoryLog(path)
    entries, last_id, _ = log.load(3)
    log.close()
    assert [m["id"] for m in entries] == [4998, 4999, 5000] and last_id == 5000
    assert log.saved_state == old


# --- the rules and hands: a snapshot at the start of each file, then what changed -----------

def without_time(record):
    return {key: value for key, value in record.items() if key != "time"}


def lines_of(path):
    with open(path, "rb") as handle:
        return handle.read().splitlines()


def test_each_file_starts_with_a_snapshot_and_a_reload_replays_what_followed(tmp_path):
    from chat_app.relay.moderation import Rules
    from chat_app.wire.protocol import encode, hand_frame, message_frame
    from chat_app.wire.records import rule_record
    path = str(tmp_path / "room.jsonl")
    room = Rules()  # the room's rules, changed as the room changes them
    log = HistoryLog(path, max_size=2000)
    log.snapshot = lambda: encode(room.saved_state(0.0))
    for number in range(120):
        name = "s%d" % (number % 7)
        up = number % 3 != 2
        changed = room.raise_hand(name, float(number)) if up else room.lower_hand(name)
        lines = [encode(message_frame(number + 1, name, "x" * 40, float(number)))]
        if changed:  # the room logs a hand that moved
            lines.append(encode(hand_frame(name, up, float(number))))
        if number % 25 == 0:
            change = room.apply({"action": "slow", "seconds": number + 1}, None)
            lines.append(encode(rule_record(change.about, change.fields, float(number))))
        assert log.write(lines) == (len(lines), None)
    log.close()
    files = [path] + [history_log.rotated_path(path, number) for number in range(1, 10)
                      if os.path.exists(history_log.rotated_path(path, number))]
    assert len(files) > 3
    for name in files:  # each file alone says how the room stood when it began
        assert lines_of(name)[0].startswith(history_log.SAVED_STATE_START), name
        assert sum(line.startswith(history_log.SAVED_STATE_START)
                   for line in lines_of(name)) == 1, name
    again = HistoryLog(path, max_size=2000)
    again.load(5)
    again.close()
    assert without_time(again.saved_state) == without_time(room.saved_state(0.0))
    assert room.slow == 101 and room.hands()


def test_a_log_with_a_snapshot_after_each_change_still_reloads(tmp_path):
    """Logs of earlier versions: a saved_state after every change; killed before the last."""
    path = str(tmp_path / "room.jsonl")
    state = {"type": "saved_state", "locked": True, "slow": 0, "private": True,
             "muted": ["bob"], "hands": [{"name": "amy", "time": 1.0}], "time": 1.0}
    write_records(path, [
        {"type": "hand", "name": "amy", "up": True, "time": 1.0}, state,
        message(1, "hi"),
        {"type": "hand", "name": "carl", "up": True, "time": 2.0}])  # killed before its state
    log = HistoryLog(path)
    log.load(10)
    log.close()
    assert log.saved_state["muted"] == ["bob"] and log.saved_state["locked"] is True
    assert [hand["name"] for hand in log.saved_state["hands"]] == ["amy", "carl"]


def test_a_log_with_no_rules_or_hands_loads_none(tmp_path):
    path = str(tmp_path / "room.jsonl")
    write_records(path, [message(1, "hi"), {"type": "stopped", "names": ["amy"], "time": 2.0}])
    log = HistoryLog(path)
    log.load(10)
    log.close()
    assert log.saved_state is None


def test_a_snapshot_that_would_take_the_file_past_its_size_starts_a_new_one(tmp_path):
    path = str(tmp_path / "room.jsonl")
    write_records(path, [message(number, "x" * 100) for number in range(1, 15)])
    size = os.path.getsize(path)
    log = HistoryLog(path, max_size=size + 150)
    log.snapshot = lambda: b'{"type":"saved_state","hands":[],"time":1.0,"pad":"%s"}\n' % (
        b"p" * 100)
    assert log.write([b'{"type":"joined","name":"amy","time":1.0}\n']) == (1, None)
    log.close()
    assert os.path.getsize(history_log.rotated_path(path, 1)) == size  # as it was
    first, second = lines_of(path)
    assert first.startswith(history_log.SAVED_STATE_START) and b'"joined"' in second
