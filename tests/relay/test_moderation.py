"""The room's rules without sockets: moderation.Rules with a fake clock."""

import pytest

import helpers  # noqa: F401  (puts the project on sys.path)
from chat_app.relay.moderation import MAX_MUTED, MUTED_NAMES_PER_MACHINE, Member, Rules
from chat_app.wire.protocol import ProtocolError

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


# Students on two computers of the lab (198.18.0.5 and .6) and one on this computer.
LAB = "198.18.0.5"


class Roster:
    """The room's members as Rules.apply asks for them: names, machines, neighbours."""

    def __init__(self, *members):
        self.members = {name.lower(): (name, teacher, machine)
                        for name, teacher, machine in members}

    def __call__(self, name):
        found = self.members.get(name.lower())
        if found is None:
            return None
        name, teacher, machine = found
        neighbours = tuple(other for other, is_teacher, where in self.members.values()
                           if where == machine and machine and other != name and not is_teacher)
        return Member(name, teacher, machine, neighbours)


def mute(rules, roster, name, action="mute"):
    return rules.apply({"type": "control", "action": action, "name": name}, roster)


def test_muting_a_student_mutes_their_computer_under_any_name():
    roster = Roster(("bob", False, LAB), ("bobby", False, LAB), ("amy", False, "198.18.0.6"),
                    ("lee", False, None), ("Mr_T", True, LAB))
    rules = Rules()
    change = mute(rules, roster, "bob")
    assert change.words.startswith("The teacher muted bob, and bobby on the same computer:")
    assert rules.state()["muted"] == ["bob", "bobby"]  # names only: clients never see addresses
    for name in ("bob", "bobby", "a_new_name"):
        with pytest.raises(ProtocolError) as caught:
            rules.check_say(name, False, 0.0, machine=LAB)
        assert caught.value.code == "muted"
    rules.check_say("amy", False, 0.0, machine="198.18.0.6")
    rules.check_say("Mr_T", True, 0.0, machine=LAB)  # a teacher is never muted
    # A name joining from there is muted and listed; this computer's people are not.
    assert rules.arrived("charlie", LAB) is True and rules.is_muted("charlie")
    assert rules.arrived("charlie", LAB) is None  # listed already
    assert rules.arrived("dora", "198.18.0.6") is None and rules.arrived("eve", None) is None
    # Unmuting any of its names unmutes the computer, and every name muted with it.
    change = mute(rules, roster, "CHARLIE", action="unmute")
    assert change.words == ("The teacher unmuted bob, bobby and charlie (one computer): they "
                            "can write to the room again.")
    assert rules.state()["muted"] == []
    rules.check_say("a_new_name", False, 0.0, machine=LAB)
    assert rules.arrived("fred", LAB) is None


def test_a_neighbour_muted_already_stays_with_its_own_mute():
    rules = Rules()
    mute(rules, Roster(("bobby", False, "198.18.0.6")), "bobby")  # before moving to bob's
    roster = Roster(("bob", False, LAB), ("bobby", False, LAB))
    assert mute(rules, roster, "bob").words.startswith("The teacher muted bob: messages to the")
    assert rules.saved_state(0.0)["muted_machines"] == [
        {"address": "198.18.0.6", "names": ["bobby"]}, {"address": LAB, "names": ["bob"]}]
    mute(rules, roster, "bobby", action="unmute")
    assert rules.state()["muted"] == ["bob"]


def test_this_computers_students_and_a_shared_address_are_muted_by_name_as_before():
    roster = Roster(("bob", False, None), ("bobby", False, None))
    rules = Rules()
    assert mute(rules, roster, "bob").words == ("The teacher muted bob: bob's messages to the "
                                                "room are not sent until the teacher unmutes "
                                                "them.")
    rules.check_say("bobby", False, 0.0)
    assert rules.arrived("bobby", None) is None and rules.state()["muted"] == ["bob"]


def test_slow_mode_times_a_computers_messages_together_and_this_computers_by_name():
    rules = Rules()
    rules.apply({"type": "control", "action": "slow", "seconds": 60}, Roster())
    rules.said("bob", False, 100.0, machine=LAB)
    with pytest.raises(ProtocolError) as caught:
        rules.check_say("bobby", False, 110.0, machine=LAB)
    assert caught.value.code == "slow_mode" and caught.value.fields == {"seconds": 50}
    rules.check_say("amy", False, 110.0, machine="198.18.0.6")
    rules.said("lee", False, 100.0)
    rules.check_say("kim", False, 110.0)  # this computer: each name its own time
    rules.check_say(LAB, False, 110.0)  # a name that reads like an address is not one


def test_the_muted_list_is_capped_and_a_computer_adds_only_a_few_names_to_it():
    rules = Rules()
    roster = Roster(("bob", False, LAB))
    mute(rules, roster, "bob")
    listed = [rules.arrived("alias%d" % number, LAB) for number in range(20)]
    assert listed == [True] * (MUTED_NAMES_PER_MACHINE - 1) + [False] * (
        21 - MUTED_NAMES_PER_MACHINE)
    assert len(rules.state()["muted"]) == MUTED_NAMES_PER_MACHINE
    with pytest.raises(ProtocolError):  # an unlisted name is muted by its computer all the same
        rules.check_say("alias19", False, 0.0, machine=LAB)
    roster = Roster(*[("s%d" % number, False, None) for number in range(MAX_MUTED + 1)])
    for number in range(MAX_MUTED - MUTED_NAMES_PER_MACHINE):
        mute(rules, roster, "s%d" % number)
    assert len(rules.state()["muted"]) == MAX_MUTED
    error = pytest.raises(ProtocolError, mute, rules, roster, "s%d" % MAX_MUTED).value
    assert error.code == "bad_control" and "The muted list is full (100 names)" in error.message
    # An unlisted name of a muted computer unmutes it too.
    assert mute(rules, Roster(("alias19", False, LAB)), "alias19", "unmute").about == "unmute"
    rules.check_say("alias19", False, 0.0, machine=LAB)


def test_muted_computers_are_saved_for_a_restart_but_never_told_to_clients():
    rules = Rules()
    mute(rules, Roster(("bob", False, LAB)), "bob")
    rules.arrived("bobby", LAB)
    record = rules.saved_state(10.0)
    assert record["muted_machines"] == [{"address": LAB, "names": ["bob", "bobby"]}]
    assert LAB not in str(rules.state())
    again = Rules()
    again.restore(record)
    assert again.saved_state(10.0) == record
    assert again.arrived("robert", LAB) is True
    assert mute(again, Roster(), "bob", action="unmute").about == "unmute"  # bob is away
    assert again.state()["muted"] == []
    broken = Rules()
    broken.restore({"type": "saved_state", "muted": ["bob"], "muted_machines": [
        "x", {"address": 5}, {"address": LAB, "names": ["nobody listed", 7]},
        {"address": "198.18.0.6", "names": ["bob", "BOB"]}, {"address": "::1", "names": ["bob"]}]})
    assert broken.saved_state(0.0)["muted_machines"] == [{"address": "198.18.0.6",
                                                          "names": ["bob"]}]
    huge = Rules()
    huge.restore({"type": "saved_state", "muted": ["n%d" % number for number in range(5000)]})
    assert len(huge.state()["muted"]) == MAX_MUTED


# --- the log: a snapshot, then what changed ------------------------------------------

def hand(name, up, when, **more):
    return dict({"type": "hand", "name": name, "up": up, "time": when}, **more)


def rule(action, **fields):
    return dict({"type": "rule", "action": action, "time": 1.0}, **fields)


def test_each_rule_change_carries_what_it_set_for_the_log():
    rules = Rules()
    assert control(rules, "mute", name="AMY").fields == {"name": "Amy"}  # as joined
    assert control(rules, "unmute", name="amy").fields == {"name": "Amy"}
    assert control(rules, "lock").fields == {}
    assert control(rules, "slow", seconds=30).fields == {"seconds": 30}
    assert control(rules, "private", allowed=False).fields == {"allowed": False}


def test_a_snapshot_and_the_changes_after_it_give_the_room_back():
    live = Rules()
    live.raise_hand("amy", 1.0)
    snapshot = live.saved_state(1.0)
    log = []
    for action, fields in (("mute", {"name": "bob"}), ("lock", {}), ("slow", {"seconds": 9}),
                           ("private", {"allowed": False}), ("unlock", {})):
        change = control(live, action, **fields)
        log.append(rule(change.about, **change.fields))
    for name, up, when in (("bob", True, 2.0), ("amy", False, 3.0), ("amy", True, 4.0),
                           ("carl", True, 5.0), ("carl", False, 6.0)):
        if up:
            live.raise_hand(name, when)
        else:
            live.lower_hand(name)
        log.append(hand(name, up, when))
    control(live, "unmute", name="bob")
    log.append(rule("unmute", name="bob"))
    again = Rules()
    for record in [snapshot] + log:
        again.replay(record)
    assert again.saved_state(9.0) == live.saved_state(9.0)
    assert [h["name"] for h in again.hands()] == ["bob", "amy"]  # amy raised again: last


def test_replaying_a_change_the_snapshot_already_holds_changes_nothing():
    """The log's snapshot is the room's state when it is written, which may already hold
    changes still queued behind it: replaying them again must leave it as it is."""
    live = Rules()
    live.raise_hand("amy", 1.0)
    live.raise_hand("bob", 2.0)
    control(live, "mute", name="bob")
    snapshot = live.saved_state(3.0)
    again = Rules()
    for record in (snapshot, hand("amy", True, 1.0), hand("bob", True, 2.0),
                   rule("mute", name="bob")):
        again.replay(record)
    assert again.saved_state(3.0) == snapshot


def test_lower_all_hands_lowered_and_a_stop_bring_hands_down():
    rules = Rules()
    for number, name in enumerate(("amy", "Bob", "carl")):
        rules.raise_hand(name, float(number))
    assert rules.lower_all() == ["amy", "Bob", "carl"] and rules.hands() == []
    assert rules.lower_all() == []
    for number, name in enumerate(("amy", "Bob", "carl")):
        rules.replay(hand(name, True, float(number)))
    rules.replay({"type": "stopped", "names": ["BOB", "dan"], "time": 9.0})
    assert rules.hands() == [{"name": "Bob", "time": 1.0}]  # only those still in the room
    rules.replay({"type": "stopped", "names": [], "more_names": 3, "time": 9.0})
    assert rules.hands() == [{"name": "Bob", "time": 1.0}]  # cut: it cannot say who left
    rules.replay({"type": "hands_lowered", "count": 1, "time": 10.0})
    assert rules.hands() == []


def test_a_malformed_change_is_skipped():
    rules = Rules()
    for record in (hand("amy", "yes", 1.0), hand(None, True, 1.0), hand("amy", True, "now"),
                   rule("mute"), rule("slow", seconds=99999), rule("slow", seconds=True),
                   rule("private", allowed=0), rule("shout"), {"type": "rule"}, "garbage",
                   {"type": "stopped", "names": "amy"}, {"type": "joined", "name": "x"}):
        rules.replay(record)
    assert rules.saved_state(0.0) == Rules().saved_state(0.0)


def test_a_computer_muted_after_the_snapshot_is_muted_again_by_replaying_the_log():
    live = Rules()
    snapshot = live.saved_state(1.0)
    log = []
    change = mute(live, Roster(("bob", False, LAB), ("bobby", False, LAB)), "bob")
    log.append(rule(change.about, **change.fields))
    assert change.fields == {"name": "bob", "machine": LAB, "also": ["bobby"]}
    assert live.arrived("robert", LAB) is True  # the room logs it as a mute of its own
    log.append(rule("mute", name="robert", machine=LAB))
    again = Rules()
    for record in [snapshot] + log:
        again.replay(record)
    assert again.saved_state(9.0) == live.saved_state(9.0)
    with pytest.raises(ProtocolError):
        again.check_say("a_new_name", False, 0.0, machine=LAB)
    change = mute(live, Roster(), "robert", action="unmute")  # robert is away: by the log
    assert change.fields == {"name": "bob", "machine": LAB}
    again.replay(rule(change.about, **change.fields))
    assert again.saved_state(9.0) == live.saved_state(9.0) and again.state()["muted"] == []
    again.check_say("a_new_name", False, 0.0, machine=LAB)
