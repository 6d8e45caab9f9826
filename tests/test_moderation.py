"""The room's rules without sockets: moderation.Rules with a fake clock."""

import pytest

import helpers  # noqa: F401  (puts the project on sys.path)
from chat_app.moderation import Rules
from chat_app.protocol import ProtocolError

MEMBERS = {"amy": ("Amy", False), "bob": ("bob", False), "mr_t": ("Mr_T", True)}


def member(name):
    return MEMBERS.get(name.lower())


def refusal(rules, name, now=0.0, teacher=False, to_teacher=None):
    with pytest.raises(ProtocolError) as caught:
        rules.check_say(name, teacher, now, to_teacher)
    return caught.value


def control(rules, action, **fields):
    fields.update(action=action, type="control")
    return rules.apply(fields, member)


def test_muted_student_may_still_message_a_teacher_by_any_spelling_of_the_name():
    rules = Rules()
    change = control(rules, "mute", name="AMY")
    assert change.about == "mute" and "muted Amy" in change.words
    assert refusal(rules, "amy").code == "muted"
    rules.check_say("Amy", False, 0.0, to_teacher=True)
    rules.check_say("bob", False, 0.0)
    assert rules.state()["muted"] == ["Amy"]
    assert control(rules, "mute", name="amy") is None  # nothing changed: no notice
    assert control(rules, "unmute", name="amy").about == "unmute"
    rules.check_say("amy", False, 0.0)


def test_teachers_cannot_be_muted_and_unknown_names_are_no_such_user():
    rules = Rules()
    assert pytest.raises(ProtocolError, control, rules, "mute",
                         name="mr_t").value.code == "bad_control"
    assert pytest.raises(ProtocolError, control, rules, "mute",
                         name="zed").value.code == "no_such_user"


def test_locked_room_refuses_students_not_teachers_nor_private_messages():
    rules = Rules()
    assert control(rules, "lock").about == "lock"
    assert control(rules, "lock") is None
    assert refusal(rules, "bob").code == "locked"
    rules.check_say("Mr_T", True, 0.0)
    rules.check_say("bob", False, 0.0, to_teacher=False)
    assert control(rules, "unlock").about == "unlock"
    rules.check_say("bob", False, 0.0)


def test_slow_mode_counts_from_each_students_last_room_message():
    rules = Rules()
    control(rules, "slow", seconds=30)
    rules.check_say("bob", False, 100.0)
    rules.said("bob", False, 100.0)
    error = refusal(rules, "bob", now=110.2)
    assert error.code == "slow_mode" and error.fields == {"seconds": 20}
    assert "every 30 seconds" in error.message and "Wait 20 seconds" in error.message
    last = refusal(rules, "bob", now=129.99)
    assert last.fields == {"seconds": 1} and "Wait 1 second," in last.message
    rules.check_say("bob", False, 130.0)
    rules.check_say("amy", False, 110.0)  # each student has their own time
    rules.said("Mr_T", True, 110.0)
    rules.check_say("Mr_T", True, 111.0)
    assert control(rules, "slow", seconds=0).words.startswith("The teacher turned slow mode off")
    rules.check_say("bob", False, 100.5)


@pytest.mark.parametrize("seconds", [-1, 3601])
def test_slow_mode_out_of_range_is_bad_control(seconds):
    error = pytest.raises(ProtocolError, control, Rules(), "slow", seconds=seconds).value
    assert error.code == "bad_control" and "3600" in error.message


def test_private_off_stops_student_to_student_only():
    rules = Rules()
    assert control(rules, "private", allowed=False).about == "private"
    assert refusal(rules, "bob", to_teacher=False).code == "private_off"
    rules.check_say("bob", False, 0.0, to_teacher=True)
    rules.check_say("Mr_T", True, 0.0, to_teacher=False)
    assert rules.state() == {"locked": False, "slow": 0, "private": False, "muted": []}


def test_hands_keep_their_order_and_first_time():
    rules = Rules()
    assert rules.raise_hand("bob", 5.0) and rules.raise_hand("Amy", 6.0)
    assert not rules.raise_hand("BOB", 7.0)
    assert rules.hands() == [{"name": "bob", "time": 5.0}, {"name": "Amy", "time": 6.0}]
    assert rules.lower("amy", member) == "Amy"
    error = pytest.raises(ProtocolError, rules.lower, "amy", member).value
    assert error.code == "bad_control" and "not up" in error.message
    assert rules.lower_hand("bob") and not rules.lower_hand("bob")


def test_saved_state_restores_everything_and_survives_garbage():
    rules = Rules()
    control(rules, "mute", name="bob")
    control(rules, "lock")
    control(rules, "slow", seconds=9)
    control(rules, "private", allowed=False)
    rules.raise_hand("Amy", 3.5)
    record = rules.saved_state(10.0)
    assert list(record)[0] == "type" and record["type"] == "saved_state"
    again = Rules()
    again.restore(record)
    assert again.saved_state(10.0) == record
    assert again.is_muted("BOB") and again.raised_at("amy") == 3.5
    broken = Rules()
    broken.restore({"type": "saved_state", "slow": 99999, "muted": "bob", "hands": [1, {}]})
    assert broken.state() == Rules().state() and broken.hands() == []


def test_a_name_key_given_is_the_one_checked():
    """The room passes the key it has (name_key() of the name); the rules take it as it is."""
    rules = Rules()
    control(rules, "mute", name="amy")
    assert refusal(rules, "Amy").code == "muted"
    rules.check_say("Amy", False, 0.0, key="someone else")
    control(rules, "unmute", name="amy")
    control(rules, "slow", seconds=30)
    rules.said("Amy", False, 100.0, key="amy")
    with pytest.raises(ProtocolError) as caught:
        rules.check_say("whoever", False, 110.0, key="amy")
    assert caught.value.code == "slow_mode"
