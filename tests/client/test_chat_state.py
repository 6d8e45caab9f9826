"""chat_app/client/chat_state.py: what the clients decide without a display.

Mentions, the title, backoff, the server's words, limits and long pastes,
notices, the state of the chat across rejoins, and the teacher's room.
"""

import itertools

import pytest

import helpers  # noqa: F401  (puts the project on sys.path)
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
from chat_app.wire.commands import hands_text
from chat_app.wire.protocol import DEFAULT_MAX_TEXT_CHARS, ERROR_MESSAGES
from chat_app.wire.rate_limit import DEFAULT_BURST, DEFAULT_RATE


def welcome(*history):
    return {"type": "welcome", "name": "amy", "users": [], "history": list(history)}


def message(id_, sender, text, to=None):
    frame = {"type": "message", "id": id_, "from": sender, "text": text, "time": 1.0}
    if to:
        frame["to"] = to
    return frame


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


# --- limits and long pastes ---------------------------------------------------

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
