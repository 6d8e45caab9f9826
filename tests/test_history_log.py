"""--log: every room event on disk, and history that survives a restart."""

import json
import os

from helpers import RunningServer, require
from chat_app.history_log import HistoryLog


def records(path):
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def test_messages_joins_and_leaves_are_logged_but_not_private_ones(make_server, tmp_path):
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
    kinds = [(r["type"], r.get("name") or r.get("text")) for r in records(path)]
    assert kinds == [("joined", "amy"), ("joined", "bob"), ("message", "hello"), ("left", "bob")]


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
        second.out.wait_for(r"loaded 3 earlier message\(s\)")
        bob = second.client()
        history = bob.join("bob")["history"]
        assert [m["text"] for m in history] == ["m2", "m3", "m4"]
        assert history[-1] == last
        bob.send({"type": "say", "text": "after"})
        assert bob.expect("message")["id"] == last["id"] + 1
    finally:
        second.close()


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
    assert json.loads(lines[2])["name"] == "bob"  # a fresh line after the torn one


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


def test_a_log_write_error_is_reported_and_chat_goes_on(make_server, tmp_path):
    require(os.path.exists("/dev/full"), "/dev/full, to simulate a full disk")
    server = make_server("--log", "/dev/full")
    amy = server.client()
    amy.join("amy")
    server.err.wait_for("cannot write to the log file /dev/full")
    amy.send({"type": "say", "text": "still relayed"})
    assert amy.expect("message")["text"] == "still relayed"


def test_announcements_are_numbered_kept_logged_and_reloaded(tmp_path):
    """/say is part of the record: late joiners and a restarted server still have it."""
    from test_text_sessions import read_until
    path = str(tmp_path / "room.jsonl")
    first = RunningServer("--log", path)
    try:
        amy = first.client()
        amy.join("amy")
        amy.send({"type": "say", "text": "before"})
        before = amy.expect("message")
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
