"""What the clients decide without a display: commands, state, mentions, settings."""

import itertools
import json
import queue

import pytest

import helpers  # noqa: F401  (puts the project on sys.path)
from fake_finder import found
from helpers import WAIT
from chat_app.client import settings
from chat_app.client.chat_state import (
    ChatState,
    backoff_delays,
    join_problem,
    limits_of,
    mentions,
    password_problem,
    split_text,
    title,
)
from chat_app.client.link import pacing_bucket
from chat_app.wire.commands import (
    HELP_TEXT,
    KINDS,
    CommandError,
    control_frame,
    hands_text,
    parse_line,
    run_line,
    teacher_help,
)
from chat_app.wire.protocol import DEFAULT_MAX_TEXT_CHARS, ERROR_MESSAGES
from chat_app.wire.rate_limit import DEFAULT_BURST, DEFAULT_RATE
from chat_app.wire.text_format import render, safe


def welcome(*history):
    return {"type": "welcome", "name": "amy", "users": [], "history": list(history)}


def message(id_, sender, text, to=None):
    frame = {"type": "message", "id": id_, "from": sender, "text": text, "time": 1.0}
    if to:
        frame["to"] = to
    return frame


# --- commands ------------------------------------------------------------------

@pytest.mark.parametrize("line, kind, target, text", [
    ("hello", "say", "", "hello"),
    ("/me waves", "say", "", "/me waves"),
    ("/msg bob see you", "msg", "bob", "see you"),
    ("/MSG bob hi", "msg", "bob", "hi"),
    ("/who", "who", "", ""),
    ("/help", "help", "", ""),
    ("/quit", "quit", "", ""),
    ("//not a command", "say", "", "/not a command"),
])
def test_parse_line(line, kind, target, text):
    command = parse_line(line)
    assert (command.kind, command.target, command.text) == (kind, target, text)


@pytest.mark.parametrize("line, why", [("/msg", "Usage: /msg"), ("/msg bob", "Usage: /msg"),
                                       ("/me", "Usage: /me"), ("/dance", "Unknown command")])
def test_bad_commands_explain(line, why):
    with pytest.raises(CommandError) as caught:
        parse_line(line)
    assert why in str(caught.value)


# --- formatting ----------------------------------------------------------------

def test_render_is_terminal_safe():
    text = render(message(1, "bob", "\x1b[31mred\x07\ttab\nnext"))
    assert text.endswith("<bob> [31mred    tab\n    next")
    assert safe("a\u202eb\x00c") == "abc"


def test_render_private_and_action_and_left():
    assert render(message(1, "amy", "/me waves", to="bob")).endswith(
        "<amy> (private to bob) *waves*")
    assert render({"type": "left", "name": "bob", "time": 1, "reason": "timeout"}).endswith(
        "* bob left (not responding)")
    assert render({"type": "left", "name": "bob", "time": 1, "reason": "kicked"}).endswith(
        "* bob was removed by the teacher")
    assert render({"type": "left", "name": "bob", "time": 1, "reason": "banned"}).endswith(
        "* bob left (banned)")  # a reason from a newer server
    assert render({"type": "notice", "text": "Pens down\nin 5 minutes", "time": 1}).endswith(
        "*** Pens down\n    in 5 minutes")
    assert render({"type": "pong"}) is None


# --- mentions and the title ------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("hi amy", True), ("AMY!", True), ("amy's turn", True), ("(amy)", True),
    ("amyloid", False), ("hi amy2", False), ("my.amy", False), ("", False),
])
def test_mentions(text, expected):
    assert mentions(text, "amy") is expected


def test_title_shows_unread_only_when_there_is_some():
    assert title("chat_app", 0) == "chat_app"
    assert title("chat_app", 3) == "(3) chat_app"


def test_backoff_doubles_up_to_thirty_seconds():
    assert list(itertools.islice(backoff_delays(), 8)) == [1, 2, 4, 8, 16, 30, 30, 30]


def test_join_problems_are_the_servers_words():
    message = ERROR_MESSAGES["name_taken"]
    assert join_problem("name_taken", message) == message
    assert join_problem("bad_name", "server text") == "server text"
    assert "odd_code" in join_problem("odd_code", "")


def test_wrong_password_only_after_one_was_sent():
    server_words = "Wrong password for this room. Ask the teacher for the password."
    assert password_problem(server_words, sent=True) == server_words
    unsent = password_problem(server_words, sent=False)
    assert "needs a password" in unsent and "Wrong" not in unsent


def test_run_line_hands_each_kind_to_its_handler():
    seen = []
    handlers = {kind: (lambda kind: lambda command: seen.append((kind, command.text)))(kind)
                for kind in KINDS}
    for line in ("hi", "/msg bob psst", "/who", "/help", "/quit", "/me waves"):
        run_line(line, handlers)
    assert seen == [("say", "hi"), ("msg", "psst"), ("who", ""), ("help", ""), ("quit", ""),
                    ("say", "/me waves")]
    with pytest.raises(CommandError):
        run_line("/dance", handlers)


# --- limits, pacing and long pastes ---------------------------------------------

def test_limits_come_from_the_welcome_or_the_defaults():
    assert limits_of({"limits": {"rate": 2.5, "burst": 4, "max_text": 99}}) == (2.5, 4, 99)
    defaults = (DEFAULT_RATE, DEFAULT_BURST, DEFAULT_MAX_TEXT_CHARS)
    assert limits_of({}) == defaults
    assert limits_of({"limits": {"rate": "x", "burst": True, "max_text": -1}}) == defaults
    assert limits_of({"limits": {"rate": 0}}).rate == 0.0


@pytest.mark.parametrize("text, pieces", [
    ("short", ["short"]),
    ("aaaa\nbbbb\ncccc", ["aaaa\nbbbb", "cccc"]),
    ("one two three four", ["one two", "three four"]),
    ("x" * 25, ["x" * 10, "x" * 10, "x" * 5]),
    ("a\n   \n\t\nb", ["a\n   \n\t\nb"]),
    ("   \n\u200b", []),
    ("code\n  x\n\n", ["code\n  x"]),  # a pasted block's final newline is not sent
    ("\n\n  indented", ["  indented"]),
])
def test_split_text_cuts_at_line_breaks(text, pieces):
    assert split_text(text, 10) == pieces
    assert all(len(piece) <= 10 for piece in split_text(text, 10))


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_the_pacer_lets_a_burst_through_then_paces_inside_the_servers_rate():
    clock = FakeClock()
    pacer = pacing_bucket(rate=10, burst=5, clock=clock)
    delays = [pacer.reserve() for _ in range(3)]  # the burst, less a margin of two
    assert delays == [0, 0, 0]
    wait = pacer.reserve()
    assert wait == pytest.approx(1 / 9.0)  # 10 a second, less the margin
    clock.now += wait
    assert pacer.reserve() == pytest.approx(1 / 9.0)
    clock.now += 60
    assert pacer.reserve() == 0
    assert pacing_bucket(rate=0, burst=5, clock=clock).reserve() == 0  # no limit


def test_a_sender_waiting_the_pacers_delays_never_exceeds_the_server_bucket():
    from chat_app.wire.rate_limit import RateLimiter
    clock = FakeClock()
    server = RateLimiter(5, 20, clock=clock)
    pacer = pacing_bucket(5, 20, clock=clock)
    for _ in range(200):
        clock.now += pacer.reserve()
        assert server.allow()


# --- notices ---------------------------------------------------------------------

def notice_frame(id_, text):
    return {"type": "notice", "id": id_, "text": text, "time": 2.0}


def test_history_notices_are_announcements_shown_once():
    state = ChatState("amy")
    unseen, _ = state.welcome(welcome(message(1, "bob", "hi"), notice_frame(2, "Pens down")))
    entries = [state.entry_for(frame, history=True) for frame in unseen]
    assert [(e.kind, e.text, e.history) for e in entries] == [
        ("message", "hi", True), ("announcement", "Pens down", True)]
    assert state.apply(notice_frame(3, "Break"))[0].kind == "announcement"
    unseen, _ = state.welcome(welcome(notice_frame(2, "Pens down"), notice_frame(3, "Break"),
                                      notice_frame(4, "Back")))
    assert [frame["text"] for frame in unseen] == ["Back"]
    assert state.apply(notice_frame(4, "Back")) == []  # on screen already
    assert state.apply({"type": "notice", "text": "no id", "time": 1})[0].text == "no id"


def test_rate_limited_is_not_a_refusal_and_is_shown_once():
    state = ChatState("amy")
    state.welcome(welcome())
    say = {"type": "say", "text": "held back"}
    state.sent(say)
    held = {"type": "error", "code": "rate_limited", "message": "held back, will follow"}
    assert state.say_refused(held) is None
    assert [e.text for e in state.apply(held)] == ["held back, will follow"]
    assert state.apply(held) == []
    _, resend = state.welcome(welcome())
    assert resend == [say]  # still awaited: it was never refused
    assert len(state.apply(held)) == 1  # a new connection may say it again


# --- chat state -----------------------------------------------------------------

def test_state_tracks_users_and_marks_own_private_and_mentions():
    state = ChatState("amy")
    unseen, resend = state.welcome({"type": "welcome", "name": "amy", "users": ["amy"],
                                    "history": [message(1, "bob", "old")]})
    assert [f["text"] for f in unseen] == ["old"] and resend == []
    assert state.entry_for(unseen[0], history=True).history
    state.apply({"type": "joined", "name": "bob", "time": 2})
    assert state.users == ["amy", "bob"]
    own, = state.apply(message(2, "amy", "mine"))
    assert own.own and not own.mention
    private, = state.apply(message(3, "bob", "psst amy", to="amy"))
    assert private.private == "amy" and private.mention
    action, = state.apply(message(4, "bob", "/me waves"))
    assert action.action and action.text == "waves"
    state.apply({"type": "left", "name": "bob", "time": 3, "reason": "quit"})
    assert state.users == ["amy"]


def test_unread_counts_only_while_unfocused():
    state = ChatState("amy")
    state.focus(False)
    state.apply(message(1, "bob", "one"))
    state.apply(message(2, "amy", "my own"))
    assert state.unread == 1
    state.focus(True)
    assert state.unread == 0


def test_rejoin_history_is_not_shown_twice():
    state = ChatState("amy")
    state.welcome(welcome())
    state.apply(message(5, "bob", "seen"))
    unseen, _ = state.welcome(welcome(message(5, "bob", "seen"), message(6, "bob", "missed")))
    assert [f["text"] for f in unseen] == ["missed"]


def test_a_message_deleted_while_away_is_named_at_the_rejoin():
    state = ChatState("amy")
    state.welcome(welcome())
    for frame in (message(3, "bob", "past --history"), message(5, "bob", "kept"),
                  message(6, "bob", "deleted meanwhile"),
                  dict(message(7, "bob", "private"), to="amy"),
                  {"type": "notice", "id": 8, "text": "The teacher locked the room.", "time": 1,
                   "about": "lock"},
                  message(9, "bob", "kept too")):
        state.apply(frame)
    state.welcome(welcome(message(5, "bob", "kept"), message(9, "bob", "kept too"),
                          message(10, "bob", "new")))
    assert state.gone == [6]  # not 3 (older than history), 7 (private), 8 (a change's notice)
    state.welcome(welcome(message(5, "bob", "kept"), message(9, "bob", "kept too"),
                          message(10, "bob", "new")))
    assert state.gone == []  # said once


def test_a_clear_while_away_is_found_at_the_rejoin():
    state = ChatState("amy")
    state.welcome(welcome())
    state.apply(message(5, "bob", "before the clear"))
    assert state.welcome(dict(welcome(), cleared_through=5))[0] == []
    assert state.cleared_away
    state.apply(message(6, "bob", "after"))
    state.welcome(dict(welcome(message(6, "bob", "after")), cleared_through=5))
    assert not state.cleared_away  # the same clear, known already
    state.apply({"type": "cleared", "through": 6, "time": 1})  # seen live: the window emptied
    state.apply(message(7, "bob", "newest"))
    state.welcome(dict(welcome(message(7, "bob", "newest")), cleared_through=6))
    assert not state.cleared_away


def test_a_restarted_server_without_log_starts_ids_again():
    state = ChatState("amy")
    state.welcome(welcome())
    state.apply(message(7, "bob", "old server"))
    state.welcome(welcome())
    assert [e.text for e in state.apply(message(1, "bob", "new server"))] == ["new server"]
    unseen, _ = state.welcome(welcome(message(1, "bob", "new server"),
                                      message(2, "bob", "later")))
    assert [f["text"] for f in unseen] == ["later"]


def test_unanswered_messages_are_sent_again_unless_history_shows_them():
    state = ChatState("amy")
    state.welcome(welcome())
    arrived = {"type": "say", "text": "arrived\r\n"}
    lost = {"type": "say", "text": "lost"}
    private = {"type": "say", "text": "secret", "to": "bob"}
    for say in (arrived, lost, private):
        state.sent(say)
    _, resend = state.welcome(welcome(message(9, "amy", "arrived\n")))
    assert resend == [lost, private]


def test_an_answered_say_is_no_longer_pending_and_refusals_come_back():
    state = ChatState("amy")
    first, second = {"type": "say", "text": "a"}, {"type": "say", "text": "b" * 9000}
    state.sent(first)
    state.sent(second)
    state.apply(message(1, "amy", "a"))
    refused = {"type": "error", "code": "text_too_long", "message": "too long"}
    assert state.say_refused(refused) == second
    assert state.welcome(welcome())[1] == []  # nothing left unanswered to send again


# --- settings -------------------------------------------------------------------

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


def test_the_terminal_client_shows_history_notices_as_announcements(tmp_path):
    import io

    from chat_app.client.text_client import TerminalClient

    class Options:
        host, port, name, password, text = "127.0.0.1", 1, "amy", None, True

    out = io.StringIO()
    client = TerminalClient(Options(), stdin=io.StringIO(""), stdout=out)
    client.on_joined(welcome(message(1, "bob", "hi"), notice_frame(2, "Pens down")))
    lines = out.getvalue().splitlines()
    assert lines[0] == "* Earlier messages:"
    assert lines[1].endswith("<bob> hi") and lines[2].endswith("*** Pens down")
    assert lines[3] == "* End of earlier messages."
    client.on_frame(notice_frame(2, "Pens down"))  # the same notice again: not shown
    client.on_frame(notice_frame(3, "Break"))
    assert out.getvalue().count("Pens down") == 1 and "*** Break" in out.getvalue()


def test_the_join_form_takes_the_address_as_the_board_shows_it():
    try:
        from chat_app.window.chat_window import check_join
    except ImportError:  # no tkinter in this Python
        check_join = None
    helpers.require(check_join is not None, "tkinter, for the join form's checks")
    form = {"port": "1234", "name": "amy"}
    assert check_join(dict(form, host="192.0.2.9:1235")).request["port"] == 1235
    request = check_join(dict(form, host="[2001:db8::7]:1236")).request
    assert (request["host"], request["port"]) == ("2001:db8::7", 1236)
    assert check_join(dict(form, host=" 192.0.2.9 ")).request["port"] == 1234  # the Port field
    check = check_join(dict(form, host="192.0.2.9:abc"))
    assert check.request is None and check.field == "host"
    assert "192.168.1.23:1235" in check.problem and "not a port number" in check.problem
    for typed, meant in (("127.0.0.1 1250", "127.0.0.1:1250"), ("::1  1250", "[::1]:1250")):
        check = check_join(dict(form, host=typed))  # the port after a space, as on paper
        assert check.request is None and check.field == "host"
        assert "write the port after a colon: %s." % meant in check.problem.lower()
    assert check_join(dict(form, host="192.0.2.9", name="a b")).field == "name"
    assert check_join(dict(form, host="192.0.2.9", port="x")).field == "port"


def test_says_the_server_leaves_unanswered_count_after_two_seconds():
    state = ChatState("amy")
    state.welcome(welcome())
    state.sent({"type": "say", "text": "one"})
    assert state.waiting_for_server(1, now=100.0) == 0
    assert state.waiting_for_server(1, now=101.9) == 0  # a busy server may take a moment
    assert state.waiting_for_server(1, now=102.0) == 1
    state.apply(message(1, "amy", "one"))
    assert state.waiting_for_server(1, now=102.1) == 0 and state.unconfirmed() == 0
    state.sent({"type": "say", "text": "two"})
    state.sent({"type": "say", "text": "three"})
    assert state.waiting_for_server(3, now=103.0) == 0
    state.apply(message(2, "amy", "two"))  # an answer: the wait starts again
    assert state.waiting_for_server(3, now=104.5) == 0
    assert state.waiting_for_server(3, now=106.5) == 1


def test_a_paced_run_counts_on_across_a_reconnect():
    from chat_app.client.link import Progress
    progress = Progress()
    for _ in range(61):
        progress.added()
    assert progress.pacing() == (True, (0, 61))
    events = [progress.written() for _ in range(22)]
    assert events[-1] == ("sending", (22, 61))
    progress.sending_again(29)  # the rejoin: 32 reached the room, 29 go again
    assert progress.waiting() == 29
    assert progress.written() == ("sending", (33, 61))
    events = [progress.written() for _ in range(28)]
    assert events[-1] == ("sent", 61) and progress.waiting() == 0


def test_a_run_that_nothing_continues_after_a_reconnect_ends():
    from chat_app.client.link import Progress
    progress = Progress()
    for _ in range(30):
        progress.added()
    progress.pacing()
    progress.written()
    progress.dropped()  # the line dropped; the rejoin had nothing to send again
    progress.added()
    assert progress.waiting() == 1 and progress.written() is None  # a new, unpaced run


# --- the rooms found, without a display (chat_app.discovery.room_search) ---------------

def _found(room="Lab 3", port=1234, **fields):
    return found(room, port, **dict({"address": "198.18.0.1"}, **fields))


WHOLE = "C7:1A:92:10:44:B3:0F:2E" + ":00" * 24


def test_a_found_room_reads_as_name_people_locks_16_digits_and_address():
    from chat_app.discovery.room_search import room_row
    assert room_row(_found(users=1)) == ("Lab 3", "1 person", "open", "not encrypted",
                                         "198.18.0.1:1234")
    assert room_row(_found(users=14, password=True, tls=True, fingerprint=WHOLE)) == (
        "Lab 3", "14 people", "password", "C71A 9210 44B3 0F2E", "198.18.0.1:1234")
    assert room_row(_found(tls=True))[3] == "encrypted"  # checked against the system's CAs
    assert room_row(_found(), same_name=True)[0] == "[same name] Lab 3"


def test_the_room_preselected_is_the_last_joined_else_the_only_one():
    from chat_app.discovery.room_search import preselect
    one, two = _found("Lab 1", port=1234), _found("Lab 2", port=1240)
    assert preselect([one], {}) == one
    assert preselect([one, two], {}) is None
    assert preselect([one, two], {"host": "198.18.0.1", "port": 1240}) == two
    assert preselect([one, two], {"host": "198.18.0.9", "port": 1, "room": "Lab 1"}) == one
    assert preselect([one, two], {"host": "198.18.0.9", "port": 1, "room": "LAB  1"}) == one
    assert preselect([], {"room": "Lab 1"}) is None


def test_no_room_whose_name_another_has_is_preselected_not_even_the_one_joined_last():
    from chat_app.discovery.room_search import preselect
    real, fake = _found(users=0), _found(address="198.18.0.3", users=23)
    other = _found("Chess", address="198.18.0.4")
    for rooms in ([real, fake], [fake, real], [real, fake, other]):
        assert preselect(rooms, {}) is None
        assert preselect(rooms, {"host": "198.18.0.1", "port": 1234, "room": "Lab 3"}) is None
        assert preselect(rooms, {"host": "198.18.0.3", "port": 1234}) is None
    assert preselect([real, fake, other], {"room": "Chess"}) == other


def test_every_list_shows_the_rooms_in_one_order_those_sharing_a_name_marked():
    from chat_app.discovery.room_search import listing, numbered
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
    from chat_app.discovery.room_search import needs_check
    assert needs_check(_found(tls=True, fingerprint=WHOLE))
    assert not needs_check(_found())
    assert not needs_check(_found(tls=True))  # checked against the system's CAs instead


def test_the_check_names_the_room_and_only_yes_joins():
    from chat_app.discovery.room_search import (
        CHECK_PROMPT,
        check_piped,
        check_words,
        confirmed,
    )
    room = _found(tls=True, fingerprint=WHOLE, port=1240)
    assert check_words(room).startswith('"Lab 3" at 198.18.0.1:1240 is encrypted. Before '
                                        "anything is sent, compare its fingerprint")
    assert "16 digits" in CHECK_PROMPT and CHECK_PROMPT.endswith("[y/N]: ")
    assert [confirmed(answer) for answer in ("y", " Y ", "yes", "", "n", "no", "yy", None)] == [
        True, True, True, False, False, False, False, False]
    assert check_piped(room).endswith('--tls-fingerprint "DIGITS FROM THE BOARD" '
                                      "198.18.0.1:1240")


def test_a_typed_room_number_is_checked():
    from chat_app.discovery.room_search import choice
    assert [choice(text, 3) for text in ("1", " 3 ", "0", "4", "x", "")] == [
        0, 2, None, None, None, None]


def test_the_search_repeats_off_the_calling_thread_and_stops():
    from chat_app.discovery.room_search import RoomSearch
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


# --- the teacher's room ----------------------------------------------------------

class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def room_welcome(**fields):
    return dict(welcome(), **fields)


def test_the_welcome_names_role_teachers_rules_hand_and_log():
    state = ChatState("amy")
    state.welcome(room_welcome(role="student", teachers=["Ann"], hand=True, logged=True,
                               state={"locked": True, "slow": 30, "private": False,
                                      "muted": ["bob"]}))
    assert state.role == "student" and state.is_teacher("ann") and not state.is_teacher("amy")
    assert state.hand and state.logged
    assert state.rules == {"locked": True, "slow": 30, "private": False, "muted": ["bob"]}
    older = ChatState("amy")
    older.welcome(welcome())  # a server before the teacher's room
    assert (older.role, older.teachers, older.hand, older.logged) == ("student", set(), False,
                                                                      False)
    assert older.rules == {"locked": False, "slow": 0, "private": True, "muted": []}


@pytest.mark.parametrize("odd", [
    {"locked": 1, "slow": True, "private": "no", "muted": "bob"},
    {"slow": -5, "muted": [3, None]},
    "locked",
])
def test_odd_rules_are_read_as_no_rule(odd):
    state = ChatState("amy")
    state.welcome(room_welcome(state=odd, role="boss", hand="yes"))
    assert state.rules == {"locked": False, "slow": 0, "private": True, "muted": []}
    assert state.role == "student" and state.hand is False


def test_teachers_are_marked_on_joins_and_messages_and_forgotten_when_they_leave():
    state = ChatState("amy")
    state.welcome(welcome())
    joined = state.apply({"type": "joined", "name": "ann", "teacher": True, "time": 1.0})
    assert joined[0].text == "ann joined (teacher)" and state.is_teacher("ann")
    shown = state.apply(dict(message(4, "ann", "open page 12"), teacher=True))[0]
    assert shown.teacher and shown.id == 4
    assert not state.apply(message(5, "bob", "ok"))[0].teacher
    state.apply({"type": "left", "name": "ann", "reason": "quit", "time": 2.0})
    assert not state.is_teacher("ann")


def test_notices_about_the_room_are_events_and_announcements_stay_announcements():
    state = ChatState("amy")
    state.welcome(welcome())
    event = state.apply({"type": "notice", "id": 9, "about": "lock", "text": "Locked.",
                         "time": 1.0})[0]
    said = state.apply({"type": "notice", "id": 10, "text": "Tests on Friday", "time": 1.0})[0]
    assert (event.kind, event.id, said.kind, said.id) == ("event", 9, "announcement", 10)


@pytest.mark.parametrize("code", ["muted", "locked", "slow_mode", "private_off"])
def test_the_rules_refusals_give_the_text_back(code):
    state = ChatState("amy")
    state.welcome(welcome())
    state.sent({"type": "say", "text": "can I go?"})
    refusal = {"type": "error", "code": code, "message": ERROR_MESSAGES.get(code, code),
               "seconds": 4}
    assert state.say_refused(refusal) == {"type": "say", "text": "can I go?"}


def test_slow_mode_counts_down_from_the_own_message_and_the_refusal_corrects_it():
    clock = Clock()
    state = ChatState("amy", clock=clock)
    state.welcome(room_welcome(state={"slow": 30}))
    assert state.slow_wait() == 0 and state.rules_words() == (
        "Slow mode: each student may send one message to the room every 30 seconds.")
    state.apply(message(3, "amy", "first"))
    clock.now += 10.5
    assert state.slow_wait() == 20
    assert state.rules_words() == "Slow mode: you can write to the room again in 20 seconds."
    state.apply(message(4, "amy", "psst", to="bob"))  # private messages do not count
    assert state.slow_wait() == 20
    state.apply({"type": "error", "code": "slow_mode", "message": "Wait.", "seconds": 7})
    assert state.slow_wait() == 7  # the server's clock wins
    clock.now += 7
    assert state.slow_wait() == 0
    state.apply(message(5, "amy", "again"))
    state.apply({"type": "room_state", "locked": False, "slow": 0, "private": True,
                 "muted": [], "time": 2.0})
    assert state.slow_wait() == 0 and state.rules_words() == ""


def test_a_teacher_has_no_countdown_and_no_rules_line():
    state = ChatState("ann", clock=Clock())
    state.welcome(room_welcome(name="ann", role="teacher", state={"slow": 30, "locked": True}))
    state.apply(message(3, "ann", "first"))
    assert state.slow_wait() == 0 and state.rules_words() == ""


def test_muted_and_locked_say_why_beside_the_send_button():
    state = ChatState("amy")
    state.welcome(room_welcome(state={"locked": True}))
    assert state.rules_words().startswith("The room is locked")
    state.apply({"type": "room_state", "locked": True, "slow": 0, "private": True,
                 "muted": ["AMY"], "time": 2.0})
    assert state.muted() and state.rules_words().startswith("The teacher has muted you")


def test_the_own_hand_follows_hand_frames_and_others_hands_are_the_teachers():
    state = ChatState("amy")
    state.welcome(welcome())
    shown = state.apply({"type": "hand", "name": "amy", "up": True, "time": 1.0})
    assert state.hand and shown[0].text.startswith("Your hand is up")
    assert state.apply({"type": "hand", "name": "bob", "up": False, "time": 1.0}) == []
    assert state.hand
    state.apply({"type": "hand", "name": "amy", "up": False, "time": 2.0})
    assert not state.hand


# --- the teacher's typed commands (commands.py) -----------------------------------

@pytest.mark.parametrize("line, frame", [
    ("/mute amy", {"action": "mute", "name": "amy"}),
    ("/UNMUTE amy", {"action": "unmute", "name": "amy"}),
    ("/lock", {"action": "lock"}),
    ("/unlock", {"action": "unlock"}),
    ("/slow 30", {"action": "slow", "seconds": 30}),
    ("/slow off", {"action": "slow", "seconds": 0}),
    ("/private off", {"action": "private", "allowed": False}),
    ("/private On", {"action": "private", "allowed": True}),
    ("/clear", {"action": "clear"}),
    ("/lower amy", {"action": "lower", "name": "amy"}),
    ("/kick bob", {"action": "kick", "name": "bob"}),
    ("/kick bob  shouting in class ", {"action": "kick", "name": "bob",
                                       "reason": "shouting in class"}),
    ("/say Pens down in 5 minutes", {"action": "announce", "text": "Pens down in 5 minutes"}),
    ("/hands down", {"action": "lower_all"}),
    ("/HANDS Down", {"action": "lower_all"}),
])
def test_a_teachers_typed_command_is_its_control_frame(line, frame):
    sent = []
    run_line(line, {"control": lambda command: sent.append(control_frame(command))},
             teacher=True)
    assert sent == [dict(frame, type="control")]


@pytest.mark.parametrize("line, why", [
    ("/slow fast", "Usage: /slow SECONDS (0 to 3600) or /slow off"),
    ("/slow 3601", "Usage: /slow SECONDS (0 to 3600) or /slow off"),
    ("/private maybe", "Usage: /private off or /private on"),
    ("/mute", "Usage: /mute NAME"), ("/mute amy bob", "Usage: /mute NAME"),
    ("/lock now", "Usage: /lock"), ("/kick", "Usage: /kick NAME [reason]"),
    ("/say", "Usage: /say TEXT"), ("/lower", "Usage: /lower NAME"),
    ("/hands all", "Usage: /hands to list the raised hands, /hands down to lower them all"),
    ("/delete 12", "right-click the message in the teacher's window"),
])
def test_a_teachers_usage_error_is_said_and_nothing_is_handled(line, why):
    with pytest.raises(CommandError) as caught:
        run_line(line, {}, teacher=True)  # no handler runs: the line is refused first
    assert why in str(caught.value)


def test_a_student_typing_a_teachers_command_is_told_and_sends_nothing():
    for word in ("mute amy", "lock", "slow 5", "hands", "hands down", "say hi", "delete 3",
                 "kick bob"):
        with pytest.raises(CommandError) as caught:
            run_line("/" + word, {"control": pytest.fail, "hands": pytest.fail})
        assert str(caught.value).startswith("Only the teacher can use /%s." % word.split()[0])
    assert parse_line("//lock").text == "/lock"  # said to the room, as the words suggest


def test_a_teachers_help_lists_the_students_commands_that_apply_and_the_teachers():
    words = teacher_help()
    students, teachers = words.split("Teacher commands:\n")
    usages = [row.split()[0] for row in students.splitlines()[1:]]
    assert usages == ["text", "/me", "/msg", "/who", "/help", "/quit", "//text"]  # no /hand
    assert [row.split()[0] for row in teachers.splitlines()[:-1]] == [
        "/kick", "/say", "/mute", "/unmute", "/lock", "/unlock", "/slow", "/private",
        "/clear", "/hands", "/lower"]
    assert "right-click it" in teachers.splitlines()[-1]
    assert "/quit            stop the room" in teacher_help("stop the room for everyone")
    assert "/hand " in HELP_TEXT and "Teacher commands" not in HELP_TEXT  # a student's


def test_a_teachers_state_follows_the_raised_hands_in_order():
    state = ChatState("ann")
    state.welcome(room_welcome(role="teacher", hands=[{"name": "bob", "time": 1.0}]))
    state.apply({"type": "hand", "name": "amy", "up": True, "time": 2.0})
    state.apply({"type": "hand", "name": "bob", "up": True, "time": 3.0})  # keeps its place
    assert state.hands.names() == ["bob", "amy"]
    state.apply({"type": "hand", "name": "BOB", "up": False, "time": 4.0})
    assert state.hands.names() == ["amy"]
    lines = hands_text([("amy", "10:42"), ("cara", "10:45")]).splitlines()
    assert lines[1:3] == ["  1. amy  since 10:42", "  2. cara  since 10:45"]
    assert hands_text([]) == "No hand is up."
    student = ChatState("amy")
    student.welcome(room_welcome(role="student", hands=[{"name": "bob", "time": 1.0}]))
    assert student.hands.names() == []  # a student is never told others' hands


def test_a_teacher_reads_why_a_hand_went_down_and_that_every_hand_was_lowered():
    state = ChatState("ann")
    state.welcome(room_welcome(role="teacher", hands=[{"name": "bob", "time": 1.0},
                                                      {"name": "amy", "time": 2.0}]))
    assert state.apply({"type": "hand", "name": "amy", "up": False, "time": 3.0}) == []
    [shown] = state.apply({"type": "hand", "name": "bob", "up": False, "time": 4.0,
                           "left": "disconnected"})
    assert shown.text == "bob left the room, so their raised hand went down."
    assert state.hands.names() == []
    state.apply({"type": "hand", "name": "amy", "up": True, "time": 5.0})
    [shown] = state.apply({"type": "hands_lowered", "count": 1, "time": 6.0})
    assert shown.text == "The teacher lowered every raised hand (1 hand)."
    assert state.hands.names() == []
    student = ChatState("amy")
    student.welcome(room_welcome(role="student"))
    assert student.apply({"type": "hands_lowered", "count": 1, "time": 6.0}) == []
