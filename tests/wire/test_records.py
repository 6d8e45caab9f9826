"""The log's record format (records.py): its fields, the check of a record, the older
files' names and the size words.  The log itself: tests/relay/test_history_log.py; a log
read back: tests/transcript/test_log_reader.py."""

import pytest

import helpers  # noqa: F401  (puts the project on sys.path)
from chat_app.wire import protocol
from chat_app.wire.records import (
    HISTORY_FIELDS,
    RECORD_FIELDS,
    format_size,
    kick_record,
    log_cut_record,
    log_left_out_record,
    parse_size,
    problem,
    rotated_path,
    rule_record,
    stopped_record,
)

START = 1764410000.0  # a morning in November 2025

# One of each record the server writes to its log, built as it builds them.
WRITTEN = [
    protocol.message_frame(1, "amy", "hi", START),
    protocol.message_frame(2, "Ms_K", "psst", START, to="amy", teacher=True),
    protocol.notice_frame(3, "Quiz at ten", START),
    protocol.room_notice_frame(4, "The teacher locked the room.", START, "lock"),
    protocol.joined_frame("amy", START, teacher=False),
    protocol.left_frame("amy", START, "quit"),
    protocol.deleted_frame(1, START),
    protocol.cleared_frame(START, 4),
    protocol.hand_frame("amy", True, START),
    protocol.hand_frame("amy", False, START, left="disconnected"),
    protocol.hands_lowered_frame(3, START),
    {"type": "saved_state", "locked": False, "slow": 0, "private": True, "muted": [],
     "hands": [], "time": START},
    rule_record("slow", {"seconds": 30}, START),
    log_cut_record("198.18.0.2", 65536, START),
    log_left_out_record("198.18.0.2", 12, 4096, START),
    kick_record("bob", "stop spamming", START),
    stopped_record(["amy", "lee"], START),
]


def test_every_record_the_server_writes_is_of_the_format():
    assert [problem(record) for record in WRITTEN] == [None] * len(WRITTEN)
    assert {record["type"] for record in WRITTEN} == set(RECORD_FIELDS)


def test_history_is_the_required_fields_of_messages_and_announcements():
    assert HISTORY_FIELDS == {kind: RECORD_FIELDS[kind]["required"]
                              for kind in ("message", "notice")}
    assert [key for key, _ in HISTORY_FIELDS["message"]] == ["id", "from", "text", "time"]
    assert [key for key, _ in HISTORY_FIELDS["notice"]] == ["id", "text", "time"]


@pytest.mark.parametrize("record, words", [
    ([1, 2], "not a JSON object"),
    ({"type": "bogus", "time": START}, "a record of unknown type 'bogus'"),
    ({"time": START}, "a record of unknown type None"),
    ({"type": "message", "id": 9, "text": "x", "time": START},
     "a message record without a valid 'from' field"),
    ({"type": "message", "id": True, "from": "a", "text": "x", "time": START},
     "a message record without a valid 'id' field"),  # true is no number
    ({"type": "message", "id": 9, "from": "a", "text": "x", "time": START, "to": 5},
     "a message record whose 'to' field is of the wrong kind"),
    ({"type": "joined", "name": "amy", "time": -1}, "a joined record whose time is not a date"),
    ({"type": "joined", "name": "amy", "time": 1e20}, "a joined record whose time is not a date"),
    ({"type": "joined", "name": "amy", "time": float("nan")},
     "a joined record whose time is not a date"),
])
def test_a_record_off_the_format_says_why(record, words):
    assert problem(record).startswith(words)


def test_a_null_optional_field_counts_as_absent():
    assert problem({"type": "message", "id": 9, "from": "a", "text": "x", "time": START,
                    "to": None}) is None


def test_older_files_are_numbered_after_the_log_s_name():
    assert rotated_path("room.log", 1) == "room.log.1"
    assert rotated_path("/var/log/room", 9) == "/var/log/room.9"


@pytest.mark.parametrize("text, size", [
    ("100M", 100 * 1024 ** 2), ("1G", 1024 ** 3), ("500K", 500 * 1024), ("500k", 500 * 1024),
    ("70000", 70000), ("1.5G", 3 * 1024 ** 3 // 2), ("100MB", 100 * 1024 ** 2), ("0", 0),
    (" 64 K ", 64 * 1024),
])
def test_sizes_are_read_as_a_teacher_writes_them(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["lots", "-5M", "", "5T", "1e6"])
def test_what_is_no_size_is_a_value_error(text):
    with pytest.raises(ValueError, match="not a size"):
        parse_size(text)


@pytest.mark.parametrize("size, words", [
    (100 * 1024 ** 2, "100M"), (1024 ** 3, "1G"), (64 * 1024, "64K"), (3 * 1024 ** 2, "3M"),
    (70000, "70000 bytes"), (0, "0 bytes"), (1536, "1536 bytes"),
])
def test_sizes_are_said_as_a_person_writes_them_and_read_back(size, words):
    assert format_size(size) == words
    assert parse_size(words.replace(" bytes", "")) == size
