"""chat_app/discovery/room_search.py: the rooms found, listed and checked, without a display."""

import queue

import helpers  # noqa: F401  (puts the project on sys.path)
from fake_finder import found
from helpers import WAIT
from chat_app.discovery.room_search import (
    CHECK_PROMPT,
    RoomSearch,
    check_piped,
    check_words,
    choice,
    confirmed,
    listing,
    needs_check,
    numbered,
    preselect,
    room_row,
)


def _found(room="Lab 3", port=1234, **fields):
    return found(room, port, **dict({"address": "198.18.0.1"}, **fields))


WHOLE = "C7:1A:92:10:44:B3:0F:2E" + ":00" * 24


def test_a_found_room_reads_as_name_people_locks_16_digits_and_address():
    assert room_row(_found(users=1)) == ("Lab 3", "1 person", "open", "not encrypted",
                                         "198.18.0.1:1234")
    assert room_row(_found(users=14, password=True, tls=True, fingerprint=WHOLE)) == (
        "Lab 3", "14 people", "password", "C71A 9210 44B3 0F2E", "198.18.0.1:1234")
    assert room_row(_found(tls=True))[3] == "encrypted"  # checked against the system's CAs
    assert room_row(_found(), same_name=True)[0] == "[same name] Lab 3"


def test_the_room_preselected_is_the_last_joined_else_the_only_one():
    one, two = _found("Lab 1", port=1234), _found("Lab 2", port=1240)
    assert preselect([one], {}) == one
    assert preselect([one, two], {}) is None
    assert preselect([one, two], {"host": "198.18.0.1", "port": 1240}) == two
    assert preselect([one, two], {"host": "198.18.0.9", "port": 1, "room": "Lab 1"}) == one
    assert preselect([one, two], {"host": "198.18.0.9", "port": 1, "room": "LAB  1"}) == one
    assert preselect([], {"room": "Lab 1"}) is None


def test_no_room_whose_name_another_has_is_preselected_not_even_the_one_joined_last():
    real, fake = _found(users=0), _found(address="198.18.0.3", users=23)
    other = _found("Chess", address="198.18.0.4")
    for rooms in ([real, fake], [fake, real], [real, fake, other]):
        assert preselect(rooms, {}) is None
        assert preselect(rooms, {"host": "198.18.0.1", "port": 1234, "room": "Lab 3"}) is None
        assert preselect(rooms, {"host": "198.18.0.3", "port": 1234}) is None
    assert preselect([real, fake, other], {"room": "Chess"}) == other


def test_every_list_shows_the_rooms_in_one_order_those_sharing_a_name_marked():
    real = _found(users=0, password=True, tls=True, fingerprint=WHOLE)
    fake = _found("lab 3", address="198.18.0.3", users=23, password=True, tls=True,
                  fingerprint="C71A9210" + "F" * 56)
    chess = _found("Chess", address="198.18.0.9")
    for rooms in ([fake, chess, real], [real, fake, chess]):
        assert [(item.key, item.same_name) for item in listing(rooms)] == [
            ("198.18.0.9:1234", False), ("198.18.0.1:1234", True), ("198.18.0.3:1234", True)]
        assert numbered(rooms) == [
            "1. Chess \u2014 0 people \u2014 open \u2014 not encrypted \u2014 198.18.0.9:1234",
            "2. [same name] Lab 3 \u2014 0 people \u2014 password \u2014 encrypted, "
            "fingerprint begins C71A 9210 44B3 0F2E \u2014 198.18.0.1:1234",
            "3. [same name] lab 3 \u2014 23 people \u2014 password \u2014 encrypted, "
            "fingerprint begins C71A 9210 FFFF FFFF \u2014 198.18.0.3:1234"]


def test_only_an_encrypted_room_with_a_fingerprint_waits_for_the_check():
    assert needs_check(_found(tls=True, fingerprint=WHOLE))
    assert not needs_check(_found())
    assert not needs_check(_found(tls=True))  # checked against the system's CAs instead


def test_the_check_names_the_room_and_only_yes_joins():
    room = _found(tls=True, fingerprint=WHOLE, port=1240)
    assert check_words(room).startswith('"Lab 3" at 198.18.0.1:1240 is encrypted. Before '
                                        "anything is sent, compare its fingerprint")
    assert "16 digits" in CHECK_PROMPT and CHECK_PROMPT.endswith("[y/N]: ")
    assert [confirmed(answer) for answer in ("y", " Y ", "yes", "", "n", "no", "yy", None)] == [
        True, True, True, False, False, False, False, False]
    assert check_piped(room).endswith('--tls-fingerprint "DIGITS FROM THE BOARD" '
                                      "198.18.0.1:1240")


def test_a_typed_room_number_is_checked():
    assert [choice(text, 3) for text in ("1", " 3 ", "0", "4", "x", "")] == [
        0, 2, None, None, None, None]


def test_the_search_repeats_off_the_calling_thread_and_stops():
    results = queue.Queue()
    answers = iter([[_found()], OSError("network is unreachable")] + [[]] * 1000)

    def search():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    rooms = RoomSearch(search, lambda *result: results.put(result), every=0.01)
    rooms.start()
    assert results.get(timeout=WAIT) == ([_found()], None)
    assert results.get(timeout=WAIT) == ([], "network is unreachable")
    rooms.stop()
    rooms._thread.join(WAIT)
    assert not rooms._thread.is_alive()
