"""What the teacher's window offers and sends, decided without Tk (teacher_view.py)."""

import pytest

from chat_app.client.chat_state import ChatState, Hands
from chat_app.window.teacher_view import (
    MAX_SLOW_SECONDS,
    ReceivedFrames,
    RulesInForce,
    TeacherView,
    control,
    log_records,
    rules_summary,
    slow_frame,
)


def labels(items):
    return [item.label for item in items]


def by_label(items, start):
    return next(item for item in items if item.label.startswith(start))


def welcome(**fields):
    frame = {"type": "welcome", "name": "Teacher", "role": "teacher", "teachers": ["Teacher"],
             "users": ["Teacher", "amy", "bob"],
             "state": {"locked": False, "slow": 0, "private": True, "muted": []},
             "hands": []}
    frame.update(fields)
    return frame


def teacher(**fields):
    """A teacher's view of the window's state, which has taken the welcome."""
    state = ChatState("Teacher")
    state.welcome(welcome(**fields))
    return TeacherView(state)


def apply(view, frame):
    """Give a frame as the window does: to its state, then ask the view what changed."""
    view.state.apply(frame)
    return view.changed(frame)


# --- the frames -------------------------------------------------------------

def test_a_control_frame_carries_its_action_and_fields():
    assert control("mute", name="amy") == {"type": "control", "action": "mute", "name": "amy"}
    assert control("clear") == {"type": "control", "action": "clear"}


@pytest.mark.parametrize("seconds", [0, 1, 30, MAX_SLOW_SECONDS])
def test_slow_mode_takes_whole_seconds_in_range(seconds):
    assert slow_frame(seconds) == {"type": "control", "action": "slow", "seconds": seconds}


@pytest.mark.parametrize("seconds", [-1, MAX_SLOW_SECONDS + 1, 2.5, True, "30", None])
def test_slow_mode_refuses_anything_else(seconds):
    with pytest.raises(ValueError, match="0 to %d" % MAX_SLOW_SECONDS):
        slow_frame(seconds)


# --- a person's menu ----------------------------------------------------------

def test_a_students_menu_offers_mute_kick_and_a_private_message():
    items = teacher().user_menu("amy")
    assert labels(items) == ["Mute amy", "Kick amy\u2026", "", "Private message to amy"]
    assert by_label(items, "Mute").action == "mute"
    assert by_label(items, "Mute").fields == {"name": "amy"}
    assert by_label(items, "Kick").action == "kick"  # asked for a reason first
    assert by_label(items, "Private").action == "private_to"


def test_a_muted_student_is_offered_unmute_whatever_the_names_case():
    items = teacher(state={"muted": ["AMY"]}).user_menu("amy")
    assert by_label(items, "Unmute").fields == {"name": "amy"}
    assert not any(label.startswith("Mute") for label in labels(items))


def test_the_menu_follows_room_state_frames():
    view = teacher()
    assert apply(view, {"type": "room_state", "locked": False, "slow": 0, "private": True,
                       "muted": ["bob"], "time": 1.0}) == "rules"
    assert labels(view.user_menu("bob"))[0] == "Unmute bob"
    apply(view, {"type": "room_state", "locked": False, "slow": 0, "private": True,
                "muted": [], "time": 2.0})
    assert labels(view.user_menu("bob"))[0] == "Mute bob"


def test_a_raised_hand_adds_lower_to_the_students_menu():
    view = teacher(hands=[{"name": "amy", "time": 100.0}])
    assert by_label(view.user_menu("amy"), "Lower").fields == {"name": "amy"}
    assert "Lower" not in " ".join(labels(view.user_menu("bob")))


def test_a_teacher_is_offered_only_a_private_message():
    view = teacher(teachers=["Teacher", "Laptop"])
    items = view.user_menu("laptop")
    assert [item.action for item in items if item.enabled] == ["private_to"]
    apply(view, {"type": "joined", "name": "Helper", "teacher": True, "time": 1.0})
    assert [item.action for item in view.user_menu("Helper") if item.enabled] == ["private_to"]
    apply(view, {"type": "left", "name": "Helper", "time": 2.0})
    apply(view, {"type": "joined", "name": "Helper", "time": 3.0})  # a student now
    assert by_label(view.user_menu("Helper"), "Mute").enabled


def test_ones_own_name_offers_nothing():
    assert [item.enabled for item in teacher().user_menu("teacher")] == [False]


# --- a message's menu -------------------------------------------------------

def test_a_messages_menu_deletes_it_by_its_id():
    items = teacher().message_menu(17)
    assert [(item.action, item.fields) for item in items] == [("delete", {"id": 17})]
    assert "17" in items[0].label
    assert teacher().message_menu(None) == []
    said = {"type": "message", "id": 17, "from": "amy", "text": "a rude\nword " + "x" * 60}
    label = teacher().message_menu(17, said)[0].label
    assert label.startswith("Delete amy's message \u201ca rude word xxx") and "\u2026\u201d" in label
    notice = {"type": "notice", "id": 18, "text": "Quiz at ten"}
    assert "the announcement \u201cQuiz at ten\u201d" in teacher().message_menu(18, notice)[0].label


# --- the Room menu -------------------------------------------------------------

def test_the_room_menu_says_what_each_entry_does_now():
    items = teacher().room_menu()
    assert by_label(items, "Lock").action == "lock"
    assert "off" in by_label(items, "Slow mode\u2026").label
    assert not by_label(items, "Slow mode off").enabled
    private = by_label(items, "Private messages")
    assert private.check is True and private.fields == {"allowed": False}
    assert [item.action for item in items if item.action] == [
        "lock", "slow", "slow", "private", "announce", "clear", "save_transcript"]


def test_the_room_menu_reflects_a_locked_slow_private_off_room():
    view = teacher(state={"locked": True, "slow": 45, "private": False, "muted": []})
    items = view.room_menu()
    assert by_label(items, "Unlock").action == "unlock"
    assert "45 s" in by_label(items, "Slow mode\u2026").label
    off = by_label(items, "Slow mode off")
    assert off.enabled and off.fields == {"seconds": 0}
    private = by_label(items, "Private messages")
    assert private.check is False and private.fields == {"allowed": True}


def test_odd_state_values_read_as_the_defaults():
    rules = RulesInForce({"locked": "yes", "slow": True, "private": None, "muted": "amy"})
    assert (rules.locked, rules.slow, rules.private, rules.muted) == (False, 0, True, [])


# --- the hands ------------------------------------------------------------------

def test_hands_keep_the_order_they_went_up_in():
    view = teacher(hands=[{"name": "bob", "time": 10.0}])
    apply(view, {"type": "hand", "name": "amy", "up": True, "time": 20.0})
    apply(view, {"type": "hand", "name": "cat", "up": True, "time": 30.0})
    assert view.state.hands.names() == ["bob", "amy", "cat"]
    apply(view, {"type": "hand", "name": "BOB", "up": True, "time": 40.0})  # keeps its place
    assert view.state.hands.names() == ["bob", "amy", "cat"]
    assert apply(view, {"type": "hand", "name": "amy", "up": False, "time": 50.0}) == "hands"
    assert view.state.hands.names() == ["bob", "cat"]


def test_the_hand_of_a_student_whose_line_dropped_shows_as_away():
    view = teacher(users=["Teacher", "amy"], hands=[{"name": "amy", "time": 10.0},
                                                   {"name": "bob", "time": 20.0}])
    assert [here for _, _, here in view.hand_rows()] == [True, False]  # bob: from the log
    assert apply(view, {"type": "left", "name": "amy", "time": 30.0,
                       "reason": "disconnected"}) == "hands"
    assert apply(view, {"type": "joined", "name": "bob", "time": 31.0}) == "hands"
    assert [(name, here) for name, _, here in view.hand_rows()] == [("amy", False),
                                                                    ("bob", True)]
    assert apply(view, {"type": "joined", "name": "cat", "time": 32.0}) is None  # no hand


def test_every_hand_lowered_empties_the_list():
    view = teacher(hands=[{"name": "amy", "time": 10.0}, {"name": "bob", "time": 20.0}])
    assert apply(view, {"type": "hands_lowered", "count": 2, "time": 30.0}) == "hands"
    assert view.hand_rows() == []


def test_a_hands_row_gives_the_time_it_went_up():
    hands = Hands([{"name": "amy", "time": 0}])
    [(name, when)] = hands.rows()
    assert name == "amy" and len(when) == 5 and when[2] == ":"


def test_a_lowered_hand_that_was_not_up_changes_nothing():
    hands = Hands()
    hands.change("amy", False, 1.0)
    assert hands.rows() == []


# --- the frames received, for a transcript ----------------------------------------

def test_the_lesson_keeps_each_message_once_across_rejoins():
    received = ReceivedFrames()
    first = {"type": "message", "id": 1, "from": "amy", "text": "hi", "time": 1.0}
    received.welcome({"history": [first]})
    received.record({"type": "message", "id": 2, "from": "bob", "text": "yo", "time": 2.0})
    received.record({"type": "ping"})
    received.record({"type": "room_state", "locked": True})
    received.welcome({"history": [first]})  # a rejoin repeats the history
    received.record({"type": "deleted", "id": 2, "time": 3.0})
    assert [record["type"] for record in received.records()] == ["message", "message", "deleted"]


def test_the_lesson_keeps_notices_about_the_rules_and_is_bounded():
    received = ReceivedFrames(limit=2)
    for number in range(3):
        received.record({"type": "notice", "id": number, "about": "lock", "text": "x"})
    assert [record["id"] for record in received.records()] == [1, 2]


def test_the_logs_records_start_at_the_lesson():
    def read_log(path):
        assert path == "room.log"
        return ([{"type": "message", "time": 5.0}, {"type": "message", "time": 15.0},
                 {"type": "cleared"}], ["line 3: not JSON"])

    records, skipped = log_records(read_log, "room.log", 10.0)
    assert records == [{"type": "message", "time": 15.0}, {"type": "cleared"}]
    assert skipped == 1


def test_the_rules_in_force_in_one_line():
    assert rules_summary(RulesInForce({})) == ""
    line = rules_summary(RulesInForce({"locked": True, "slow": 30, "private": False,
                                "muted": ["bob", "cat"]}))
    assert line == ("Room locked. Slow mode: one message per 30 s. Private messages between "
                    "students: off. Muted: bob, cat.")
