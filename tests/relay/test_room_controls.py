"""The teacher's room over real sockets: each control checked from the students' side."""

import json
import os

import pytest

from helpers import RunningServer, wait_until
from chat_app.wire import teacher_id
from chat_app.relay.session import PROMPT_NAME_LOGGED
from test_text_sessions import read_until, unwrap

pytestmark = pytest.mark.system  # real servers, processes or sockets

def teaching(server):
    """Note the token the server wrote for its teacher (teacher_id.py), as the clients read it."""
    server.token = teacher_id.read_token(server.port)
    assert server.token, "the server wrote no teacher token"
    return server


def join_all(server, teacher="ms_lee", students=("amy", "bob")):
    """Join a teacher (with the token) and students; return (teacher, [students])."""
    lee = server.client()
    assert lee.join(teacher, teacher_token=server.token)["role"] == "teacher"
    clients = []
    for name in students:
        client = server.client()
        client.join(name)
        lee.expect("joined", name=name)
        for earlier in clients:
            earlier.expect("joined", name=name)
        clients.append(client)
    return lee, clients


@pytest.fixture
def room(make_server):
    server = teaching(make_server())
    lee, (amy, bob) = join_all(server)
    return server, lee, amy, bob


def control(client, action, **fields):
    fields.update(type="control", action=action)
    client.send(fields)


def say(client, text, to=None):
    frame = {"type": "say", "text": text}
    if to:
        frame["to"] = to
    client.send(frame)


def changed(client, about):
    """Expect a change's notice, then the room_state after it; return both."""
    notice = client.expect("notice", about=about)
    return notice, client.expect("room_state")


def test_welcome_tells_roles_teachers_rules_and_marks_the_teacher(make_server):
    server = teaching(make_server())
    lee = server.client()
    welcome = lee.join("ms_lee", teacher_token=server.token)
    assert (welcome["role"], welcome["teachers"], welcome["hands"], welcome["logged"]) == (
        "teacher", ["ms_lee"], [], False)
    assert welcome["state"] == {"locked": False, "slow": 0, "private": True, "muted": []}
    amy = server.client()
    welcome = amy.join("amy")
    assert (welcome["role"], welcome["teachers"], welcome["hand"]) == ("student", ["ms_lee"],
                                                                       False)
    assert "hands" not in welcome
    assert lee.expect("joined", name="amy").get("teacher") is None
    say(lee, "Good morning")
    assert amy.expect("message", text="Good morning")["teacher"] is True
    say(amy, "hi")
    assert "teacher" not in lee.expect("message", text="hi")


def test_mute_refuses_the_room_but_not_the_teacher(room):
    server, lee, amy, bob = room
    control(lee, "mute", name="BOB")
    notice, state = changed(amy, "mute")
    assert "muted bob" in notice["text"] and state["muted"] == ["bob"]
    say(bob, "noise")
    assert "private message" in bob.expect_error("muted")["message"]
    say(bob, "may I ask?", to="ms_lee")
    assert lee.expect("message", text="may I ask?")["to"] == "ms_lee"
    control(lee, "unmute", name="bob")
    changed(bob, "unmute")
    say(bob, "thanks")
    assert amy.expect("message")["text"] == "thanks"  # nothing of bob's came before


def test_lock_lets_only_teachers_talk_to_the_room(room):
    server, lee, amy, bob = room
    control(lee, "lock")
    notice, state = changed(amy, "lock")
    assert state["locked"] is True
    say(amy, "hello?")
    amy.expect_error("locked")
    say(amy, "help", to="ms_lee")
    lee.expect("message", text="help")
    say(lee, "quiet please")
    assert bob.expect("message")["text"] == "quiet please"
    control(lee, "lock")  # already locked: nothing changes, nothing is said
    control(lee, "unlock")
    seen = [bob.frame()]
    while seen[-1].get("about") != "unlock":
        seen.append(bob.frame())
    assert [f.get("about") for f in seen if f["type"] == "notice"] == ["unlock"]
    assert bob.expect("room_state")["locked"] is False


def test_slow_mode_tells_how_long_to_wait(room):
    server, lee, amy, bob = room
    control(lee, "slow", seconds=60)
    assert changed(amy, "slow")[1]["slow"] == 60
    say(amy, "one")
    amy.expect("message", text="one")
    say(amy, "two")
    error = amy.expect_error("slow_mode")
    assert 1 <= error["seconds"] <= 60 and "60 seconds" in error["message"]
    say(lee, "teachers are not slowed")
    say(lee, "not at all")
    amy.expect("message", text="not at all")
    control(lee, "slow", seconds=3601)
    lee.expect_error("bad_control")


def test_private_off_stops_students_messaging_each_other_only(room):
    server, lee, amy, bob = room
    control(lee, "private", allowed=False)
    assert changed(bob, "private")[1]["private"] is False
    say(amy, "psst", to="bob")
    amy.expect_error("private_off")
    say(amy, "a question", to="ms_lee")
    lee.expect("message", text="a question")
    say(lee, "an answer", to="amy")
    amy.expect("message", text="an answer")


def test_delete_removes_a_message_everywhere_and_from_history(room):
    server, lee, amy, bob = room
    say(amy, "oops")
    gone = bob.expect("message", text="oops")
    say(amy, "fine")
    bob.expect("message", text="fine")
    control(lee, "delete", id=gone["id"])
    assert bob.expect("deleted")["id"] == gone["id"]
    notice = bob.frame()  # its notice comes right after, naming whose, never the id
    assert notice["about"] == "delete"
    assert notice["text"].startswith("The teacher deleted a message from amy (sent at ")
    late = server.client()
    assert [m["text"] for m in late.join("late")["history"]] == ["fine"]
    control(lee, "delete", id=gone["id"])
    lee.expect_error("no_such_message")


def test_clear_empties_history_for_everyone(room):
    server, lee, amy, bob = room
    say(amy, "before")
    said = bob.expect("message", text="before")["id"]
    control(lee, "clear")
    assert bob.expect("cleared")["through"] == said
    assert "cleared" in bob.frame()["text"]
    late = server.client()
    welcome = late.join("late")
    assert welcome["history"] == []
    assert welcome["cleared_through"] == said  # a window away at the clear learns of it


def test_hands_go_to_teachers_in_order_and_to_each_student_alone(room):
    server, lee, amy, bob = room
    amy.send({"type": "hand", "up": True})
    assert amy.expect("hand")["up"] is True
    bob.send({"type": "hand", "up": True})
    bob.expect("hand", name="bob")
    amy.send({"type": "hand", "up": True})  # still up, in its place
    amy.expect("hand", name="amy")
    assert [f["name"] for f in (lee.expect("hand"), lee.expect("hand"))] == ["amy", "bob"]
    second = server.client()
    hands = second.join("mr_k", teacher_token=server.token)["hands"]
    assert [hand["name"] for hand in hands] == ["amy", "bob"]
    assert hands[0]["time"] <= hands[1]["time"]
    control(lee, "lower", name="amy")
    assert amy.expect("hand")["up"] is False
    assert second.expect("hand", name="amy")["up"] is False
    say(bob, "last")
    seen = [bob.frame()]
    while seen[-1].get("text") != "last":
        seen.append(bob.frame())
    assert [f["type"] for f in seen] == ["joined", "message"]  # never amy's hand
    lee.send({"type": "hand", "up": True})
    lee.expect_error("not_student")
    control(lee, "lower", name="amy")
    lee.expect_error("bad_control")


def test_a_student_can_never_become_teacher(room):
    server, lee, amy, bob = room
    control(amy, "lock")
    amy.expect_error("not_teacher")
    control(amy, "no_such_action")
    amy.expect_error("not_teacher")
    amy.send({"type": "join", "name": "amy", "teacher_token": server.token})
    amy.expect_error("already_joined")
    forger = server.client()
    forger.send({"type": "join", "name": "eve", "teacher_token": "f" * 32})
    forger.expect_error("bad_teacher")
    forger.assert_closed()
    guesser = server.client()
    guesser.send({"type": "join", "name": "eve", "teacher_password": "let me in"})
    assert "teacher password" in guesser.expect_error("bad_teacher")["message"]
    early = server.client()
    control(early, "lock")
    early.expect_error("not_joined")
    # The teacher's name, taken while the teacher is there, and after they left
    # (a teacher's name stays theirs all the run: tests/wire/test_names_in_a_room.py).
    thief = server.client()
    thief.send({"type": "join", "name": "MS_LEE"})
    thief.expect_error("name_taken")
    lee.send({"type": "leave"})
    amy.expect("left", name="ms_lee")
    thief = server.client()
    thief.send({"type": "join", "name": "ms_lee"})
    assert "the teacher's name" in thief.expect_error("name_taken")["message"]
    thief = server.client()
    assert thief.join("ms_lee2")["role"] == "student"
    control(thief, "unlock")
    thief.expect_error("not_teacher")
    say(thief, "I am the teacher")
    assert "teacher" not in amy.expect("message", text="I am the teacher")


def test_the_teachers_mistakes_are_told(room):
    server, lee, amy, bob = room
    control(lee, "dance")
    assert "mute" in lee.expect_error("bad_control")["message"]
    control(lee, "mute", name="nobody")
    lee.expect_error("no_such_user")
    control(lee, "mute")
    lee.expect_error("bad_frame")
    second = server.client()
    second.join("mr_k", teacher_token=server.token)
    control(lee, "mute", name="mr_k")
    lee.expect_error("bad_control")


def test_kick_and_announce_by_control(room):
    server, lee, amy, bob = room
    control(lee, "announce", text="Pens down")
    assert amy.expect("notice")["text"] == "Pens down"
    control(lee, "kick", name="bob", reason="shouting")
    assert bob.expect("bye") == {"type": "bye", "reason": "shouting", "kicked": True}
    assert amy.expect("left", name="bob")["reason"] == "kicked"


def test_info_answers_before_and_after_the_join(make_server, tmp_path):
    server = teaching(make_server("--log", str(tmp_path / "room.jsonl"), "--room", "Lab 3"))
    client = server.client()
    client.send({"type": "info"})
    info = client.expect("info")
    assert (info["room"], info["logged"], info["password"]) == ("Lab 3", True, False)
    assert client.join("amy")["logged"] is True


def test_a_restart_keeps_rules_hands_and_deletions(tmp_path):
    path = str(tmp_path / "room.jsonl")
    first = teaching(RunningServer("--log", path))
    try:
        lee, (amy, bob) = join_all(first)
        say(amy, "before the clear")
        lee.expect("message", text="before the clear")
        control(lee, "clear")
        cleared = lee.expect("cleared")["through"]
        say(amy, "keep")
        say(amy, "drop")
        dropped = lee.expect("message", text="drop")
        amy.send({"type": "hand", "up": True})
        hands_up = lee.expect("hand", name="amy")
        for action, fields in (("mute", {"name": "bob"}), ("lock", {}), ("slow", {"seconds": 9}),
                               ("private", {"allowed": False}), ("delete", {"id": dropped["id"]})):
            control(lee, action, **fields)
            lee.expect("notice", about=action)
        say(lee, "last", to="amy")  # private: logged, never history
        amy.expect("message", text="last")
    finally:
        first.close()
    logged = [json.loads(line) for line in open(path, encoding="utf-8")]
    kinds = [r["type"] for r in logged]
    assert kinds[0] == "saved_state" and kinds.count("saved_state") == 1  # the run's snapshot
    assert [(r["action"], r.get("name")) for r in logged if r["type"] == "rule"] == [
        ("mute", "bob"), ("lock", None), ("slow", None), ("private", None)]  # what changed
    assert [r for r in logged if r["type"] == "hand"] == [
        {"type": "hand", "name": "amy", "up": True, "time": hands_up["time"]}]
    assert any(r.get("to") == "amy" for r in logged)
    second = teaching(RunningServer("--log", path))
    try:
        late = second.client()
        welcome = late.join("amy")
        assert welcome["state"] == {"locked": True, "slow": 9, "private": False, "muted": ["bob"]}
        assert welcome["hand"] is True and welcome["logged"] is True
        assert [m["text"] for m in welcome["history"]] == ["keep"]
        assert welcome["cleared_through"] == cleared
        lee = second.client()
        hands = lee.join("ms_lee", teacher_token=second.token)["hands"]
        assert [hand["name"] for hand in hands] == ["amy"]
        bob = second.client()
        bob.join("bob")
        say(bob, "still muted?")
        bob.expect_error("muted")
    finally:
        second.close()


def test_a_person_at_nc_is_told_it_is_recorded_sees_notices_and_raises_a_hand(make_server,
                                                                               tmp_path):
    server = teaching(make_server("--log", str(tmp_path / "room.jsonl")))
    lee, _ = join_all(server, students=())
    carl = server.client()
    assert read_until(carl, "Type your name")[-1] == PROMPT_NAME_LOGGED
    carl.send_raw(b"carl\n")
    lines = read_until(carl, "alone in the room|people in the room")
    carl.send_raw(b"/hand\n")
    assert read_until(carl, "hand")[-1] == "* Your hand is up: the teacher can see it."
    assert lee.expect("hand")["name"] == "carl"
    control(lee, "lock")
    rows = read_until(carl, r"\*\*\*")[-1:] + read_until(carl, r"message\.$")  # 80 columns
    assert all(len(row) < 80 for row in rows)
    assert unwrap(rows).endswith("*** The teacher locked the room: only the teacher writes to the "
                                 "room now. Students can still send the teacher a private "
                                 "message.")
    carl.send_raw(b"anyone?\n")
    assert read_until(carl, "^! ")[-1].startswith("! The teacher has locked the room")
    carl.send_raw(b"/hand down\n")
    assert read_until(carl, "hand")[-1] == "* Your hand is down."
    wait_until(lambda: server.room.hands() == [], what="carl's hand to be down")
    assert lines  # the welcome came


def test_terminals_read_the_rules_the_teacher_mark_and_nothing_for_bare_events():
    from chat_app.wire import text_format
    welcome = {"type": "welcome", "name": "amy", "users": ["ms_lee", "amy"], "history": [],
               "logged": True, "hand": True,
               "state": {"locked": True, "slow": 1, "private": False, "muted": []}}
    lines = text_format.render(welcome).split("\n")
    assert lines[2:] == [
        "* This room is recorded: the teacher keeps a log of what is said.",
        "* The room is locked: only the teacher writes to the room now. You can still send "
        "the teacher a private message.",
        "* Slow mode is on: each student may send one message to the room every 1 second.",
        "* Private messages between students are off; the teacher can still be messaged.",
        "* Your hand is up: the teacher can see it."]
    message = {"type": "message", "id": 1, "from": "ms_lee", "text": "hi", "time": 0,
               "teacher": True}
    assert text_format.render(message).endswith("<ms_lee (teacher)> hi")
    for frame in ({"type": "deleted", "id": 1, "time": 0}, {"type": "cleared", "time": 0},
                  {"type": "room_state", "locked": True, "slow": 0, "private": True,
                   "muted": [], "time": 0}):
        assert text_format.render(frame) is None


def three_hands_up(server, lee, amy, bob):
    """Have carl join, and amy, bob and carl raise a hand; return carl."""
    carl = server.client()
    carl.join("carl")
    for student in (amy, bob, carl):
        student.send({"type": "hand", "up": True})
        assert student.expect("hand")["up"] is True
    assert [lee.expect("hand")["name"] for _ in range(3)] == ["amy", "bob", "carl"]
    return carl


def test_a_hand_goes_down_whenever_its_student_leaves_and_the_teacher_is_told_why(room):
    server, lee, amy, bob = room
    carl = three_hands_up(server, lee, amy, bob)
    amy.send({"type": "leave"})
    lee.expect("left", name="amy")
    assert lee.expect("hand", name="amy")["left"] == "quit"
    control(lee, "kick", name="bob")
    kicked = lee.expect("hand", name="bob")
    assert (kicked["up"], kicked["left"]) == (False, "kicked")
    carl.reset()  # the connection drops: a hand is up only for someone in the room
    lee.expect("left", name="carl")
    lowered = lee.expect("hand", name="carl")
    assert (lowered["up"], lowered["left"]) == (False, "disconnected")
    server.out.wait_for(r"carl left \(connection lost\); their raised hand went down")
    assert server.room.hands() == []
    back = server.client()
    assert back.join("carl")["hand"] is False
    late = server.client()
    assert late.join("mr_k", teacher_token=server.token)["hands"] == []


def test_a_restart_after_a_clear_says_the_log_still_holds_everything(tmp_path):
    path = str(tmp_path / "room.jsonl")
    first = teaching(RunningServer("--log", path))
    try:
        lee, (amy, bob) = join_all(first)
        say(amy, "before")
        lee.expect("message", text="before")
        control(lee, "clear")
        lee.expect("cleared")
    finally:
        first.close()
    second = RunningServer("--log", path)
    try:
        second.out.wait_for(r"room\.jsonl: the room's history was cleared last time, so "
                            r"newcomers see no earlier messages; the file keeps everything")
    finally:
        second.close()
    assert '"text":"before"' in open(path, encoding="utf-8").read()


@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")
def test_a_token_file_others_can_read_is_refused_and_the_server_says_why(make_server):
    server = teaching(make_server())
    path = teacher_id.token_path(server.port)
    os.chmod(path, 0o644)  # someone made it readable to every user of the computer
    thief = server.client()
    thief.send({"type": "join", "name": "eve", "teacher_token": server.token})
    assert "can be read by other users" in thief.expect_error("bad_teacher")["message"]
    thief.assert_closed()
    server.err.wait_for(r"the teacher token file .* can be read by other users \(its "
                        r"permissions are -rw-r--r--\): every teacher token is refused")


def test_lower_all_tells_each_student_their_hand_and_each_teacher_once(room):
    server, lee, amy, bob = room
    carl = three_hands_up(server, lee, amy, bob)
    second = server.client()
    assert len(second.join("mr_k", teacher_token=server.token)["hands"]) == 3
    control(amy, "lower_all")
    amy.expect_error("not_teacher")
    control(lee, "lower_all")
    for student in (amy, bob, carl):
        assert student.expect("hand")["up"] is False
    for teacher in (lee, second):
        frames = [teacher.frame()]
        while frames[-1]["type"] != "hands_lowered":
            frames.append(teacher.frame())
        assert frames[-1]["count"] == 3 and "hand" not in [f["type"] for f in frames]
    server.out.wait_for(r"The teacher lowered every raised hand \(3 hands\)\.")
    assert server.room.hands() == []
    control(lee, "lower_all")
    assert "No hand is up" in lee.expect_error("bad_control")["message"]


def test_the_log_keeps_no_hand_of_someone_who_left_and_a_stop_keeps_those_in_the_room(tmp_path):
    path = str(tmp_path / "room.jsonl")
    first = teaching(RunningServer("--log", path))
    try:
        lee, (amy, bob) = join_all(first)
        for number in range(30):  # up, then gone: a hand is up only for someone in the room
            student = first.client()
            student.join("passing%d" % number)
            student.send({"type": "hand", "up": True})
            student.expect("hand")
            student.reset()
        wait_until(lambda: len(first.room.members()) == 3, what="the 30 to be gone")
        assert first.room.hands() == []
        for student in (amy, bob):
            student.send({"type": "hand", "up": True})
            student.expect("hand")
        control(lee, "lower_all")
        lee.expect("hands_lowered")
        amy.send({"type": "hand", "up": True})
        lee.expect("hand", name="amy")
        control(lee, "lock")
        lee.expect("room_state")
    finally:
        first.close()
    logged = [json.loads(line) for line in open(path, encoding="utf-8")]
    assert [r["type"] for r in logged].count("saved_state") == 1
    assert [r for r in logged if r["type"] == "hands_lowered"][0]["count"] == 2
    assert logged[-1]["names"] == ["ms_lee", "amy", "bob"]  # the stop: no left after it
    second = teaching(RunningServer("--log", path))
    try:
        lee = second.client()
        welcome = lee.join("ms_lee", teacher_token=second.token)
        assert [hand["name"] for hand in welcome["hands"]] == ["amy"]  # she was in the room
        assert welcome["state"]["locked"] is True
        lee.send({"type": "say", "text": "back"})
        lee.expect("message")
    finally:
        second.close()
    logged = [json.loads(line) for line in open(path, encoding="utf-8")]
    snapshots = [r for r in logged if r["type"] == "saved_state"]
    assert len(snapshots) == 2 and [h["name"] for h in snapshots[-1]["hands"]] == ["amy"]
