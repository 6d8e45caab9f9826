"""What a transcript shows (lesson.py): the summary's figures, the dates, a window's frames
taken once, and the words for the log's own records."""

import time

import pytest

from chat_app.transcript import export as transcript
from lesson_log import START, lesson_records, log, unwrap_rows  # noqa: F401  (log: a fixture)


def test_summary_figures_are_the_log_s(log):
    records = lesson_records()
    text = transcript.render(records, "md", private=True)
    summary = text.split("## Who wrote")[1].split("##")[0]
    rows = [[cell.strip() for cell in line.strip("|").split("|")]
            for line in summary.splitlines() if line.startswith("|")][2:]
    clock = lambda when: time.strftime("%H:%M", time.localtime(when))  # noqa: E731
    expected = []
    for name, label in (("Ms_K", "Ms\\_K *(teacher)*"), ("amy", "amy"), ("bob", "bob"),
                        ("carol", "carol")):
        sent = [r for r in records if r["type"] == "message" and r["from"] == name]
        room = [r for r in sent if "to" not in r]
        times = [r["time"] for r in sent]
        expected.append([label, str(len(room)), str(len(sent) - len(room)),
                         clock(min(times)) if times else "", clock(max(times)) if times else ""])
    assert rows == expected
    assert expected[1][1:3] == ["7", "1"] and expected[3][1] == "0"
    assert "(1 hour 1 minute)" in text  # START to START + 3700
    assert "The teacher made 1 announcement." in text


def test_a_lesson_over_midnight_shows_each_date():
    midnight = time.mktime((2025, 11, 29, 23, 59, 0, 0, 0, -1))
    records = [{"type": "message", "id": 1, "from": "amy", "text": "late", "time": midnight},
               {"type": "message", "id": 2, "from": "amy", "text": "later",
                "time": midnight + 120}]
    text = transcript.render(records, "txt")
    assert "--- Sunday 30 November 2025 ---" in text
    assert "Saturday 29 November 2025 23:59 to Sunday 30 November 2025 00:01 (2 minutes)" in text
    assert "1 message" not in text and "2 messages, 2025-11-29 23:59 to 2025-11-30 00:01" in text


def test_render_takes_a_window_s_frames_once_and_passes_over_the_rest():
    message = {"type": "message", "id": 5, "from": "amy", "text": "hi", "time": START}
    frames = [{"type": "welcome", "name": "Ms_K", "users": [], "history": [message]},
              message, dict(message), {"type": "room_state", "locked": True, "time": START},
              {"type": "message", "id": 6, "from": "amy"}]
    assert transcript.render(frames, "txt").count("<amy> hi") == 1
    with pytest.raises(ValueError):
        transcript.render(frames, "pdf")


def test_the_transcript_shows_a_source_cut_from_the_log_and_every_hand_lowered():
    records = [
        {"type": "hand", "name": "amy", "up": True, "time": START},
        {"type": "log_cut", "address": "198.18.0.2", "bytes": 65536, "time": START + 1},
        {"type": "left", "name": "amy", "time": START + 2, "reason": "disconnected"},
        {"type": "hand", "name": "amy", "up": False, "time": START + 2, "left": "disconnected"},
        {"type": "hands_lowered", "count": 12, "time": START + 3},
        {"type": "rule", "action": "lock", "time": START + 4},
        {"type": "log_left_out", "address": "198.18.0.2", "records": 4000, "bytes": 3 * 1024 ** 2,
         "time": START + 5},
    ]
    text = unwrap_rows(transcript.render(records, "txt"))
    assert ("-- From here on, this log keeps nothing more that came from 198.18.0.2 until the "
            "server restarted: that address had filled its share of the log (64K). Everyone in "
            "the room still received it.") in text
    assert "* amy no longer has a hand up: they left" in text
    assert "-- The teacher lowered every raised hand (12 hands)." in text
    assert ("-- So far 4000 records (3M) that came from 198.18.0.2 were left out of this log "
            "after it had filled its share; everyone in the room received them.") in text
    assert "lock" not in text  # the rule's notice shows it, not its record
    assert "room log_cut" in transcript.render(records, "csv")
