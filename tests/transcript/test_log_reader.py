"""Reading a --log file back (log_reader.py): torn, foreign, over-long and dateless lines are
skipped with their line numbers; every line the server writes is read."""

import json

import pytest

from chat_app.transcript import export as transcript
from chat_app.transcript.log_reader import MAX_RECORD_BYTES
from lesson_log import START, lesson_records, write_log


def test_torn_and_foreign_lines_are_skipped_with_their_line_numbers(tmp_path):
    path = str(tmp_path / "lesson.log")
    numbers = write_log(path, lesson_records())
    records, warnings = transcript.read_log(path)
    assert records == lesson_records()
    assert len(warnings) == len(numbers) == 5
    for number, warning in zip(numbers, warnings):
        assert warning.startswith("%s, line %d, was skipped: " % (path, number))
    assert "not valid JSON" in warnings[0] and "JSON object" in warnings[1]
    assert "unknown type 'bogus'" in warnings[2] and "'from'" in warnings[3]
    assert "cut off" in warnings[4]


def test_an_over_long_line_is_skipped_without_losing_the_next(tmp_path):
    path = str(tmp_path / "lesson.log")
    good = {"type": "joined", "name": "amy", "time": START}
    with open(path, "wb") as handle:
        handle.write(b'{"type":"notice","text":"' + b"x" * (MAX_RECORD_BYTES * 3) + b'"}\n')
        handle.write(json.dumps(good).encode() + b"\n")
    records, warnings = transcript.read_log(path)
    assert records == [good]
    assert len(warnings) == 1 and "line 1, was skipped: Longer than" in warnings[0]


@pytest.mark.parametrize("when", [-1, 1e20, float("nan"), "09:00", True])
def test_a_record_whose_time_is_no_date_is_skipped(tmp_path, when):
    path = str(tmp_path / "lesson.log")
    with open(path, "w") as handle:
        handle.write('{"type":"joined","name":"amy","time":%s}\n' % json.dumps(when))
        handle.write('{"type":"joined","name":"bob","time":%d}\n' % START)
    records, warnings = transcript.read_log(path)
    assert [record["name"] for record in records] == ["bob"]
    assert len(warnings) == 1 and "line 1, was skipped" in warnings[0]


def test_every_line_the_server_writes_is_read_however_long(tmp_path):
    """A snapshot of a room's 3000 hands is over 64 KiB: the transcript still reads it."""
    from chat_app.relay.moderation import Rules
    from chat_app.wire.protocol import fit_lists
    from chat_app.wire.records import MAX_LOG_LINE_BYTES, SNAPSHOT_CUTS
    rules = Rules()
    for number in range(3000):
        rules.raise_hand("student%04d" % number, START + number)
    _, snapshot = fit_lists(rules.saved_state(START), MAX_LOG_LINE_BYTES, SNAPSHOT_CUTS)
    assert len(snapshot) > 64 * 1024
    path = str(tmp_path / "room.log")
    with open(path, "wb") as handle:
        handle.write(snapshot)
        handle.write(b'{"type":"joined","name":"amy","time":%d}\n' % START)
    records, warnings = transcript.read_log(path)
    assert warnings == []
    assert [record["type"] for record in records] == ["saved_state", "joined"]
    assert len(records[0]["hands"]) == 3000
