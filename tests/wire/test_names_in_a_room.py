"""The name rules in a room: look-alikes of those present and of the teacher are refused,
at a terminal too; the look-alike attack is made from a lab host (helpers.Lab)."""

import json
import subprocess
import sys

import pytest

import helpers
from chat_app.wire import script_extensions, teacher_id
from helpers import LAB_CLIENTS
from test_confusables import CONFUSABLE_COUNT
from test_room_controls import teaching
from test_text_sessions import person, read_until

pytestmark = pytest.mark.system


def joined(server, name, **fields):
    client = server.client()
    return client, client.join(name, **fields)


def refused(server, name, code="name_taken"):
    client = server.client()
    client.send({"type": "join", "name": name})
    message = client.expect_error(code)["message"]
    client.assert_closed()
    return message


def test_a_look_alike_of_someone_present_is_refused_until_they_leave(make_server):
    server = make_server()
    bob, _ = joined(server, "Bob")
    for name in ("B0b", "ВОВ", "bob.", "B-o-b"):
        assert refused(server, name) == (
            "The name %s looks like Bob, who is in the room, so it could pass for them. "
            "Choose another name." % name)
    assert "already in use" in refused(server, "BOB")  # the same name: as before
    bob.send({"type": "leave"})
    server.wait_connections(0)
    _, welcome = joined(server, "B0b")  # a student's name is theirs only while they are in
    assert welcome["name"] == "B0b"


def test_a_teachers_name_stays_the_teachers_all_the_run(make_server):
    server = teaching(make_server())
    lee, welcome = joined(server, "Ms.Lee", teacher_token=server.token)
    assert welcome["role"] == "teacher"
    words = ("The name %s looks like the teacher's name, Ms.Lee, so it could pass for the "
             "teacher. Choose another name.")
    assert refused(server, "MsLee") == words % "MsLee"
    lee.send({"type": "leave"})
    server.wait_connections(0)
    for name in ("Ms.Lee", "ms-lee", "MS_LEE", "MsLee"):  # away: still theirs
        assert refused(server, name) == words % name
    back, welcome = joined(server, "Ms.Lee", teacher_token=server.token)
    assert welcome["role"] == "teacher"  # the teacher's own window comes back to its name
    amy, _ = joined(server, "amy")  # other names are free as ever
    back.expect("joined", name="amy")


def test_a_person_at_a_terminal_is_asked_again_after_a_look_alike(make_server):
    server = make_server()
    bob = person(server, "Bob")
    client = server.client()
    client.send_raw("ВОВ\n".encode("utf-8"))  # all Cyrillic: one script, like Bob
    assert "looks like Bob, who is in the room" in client.read_text()
    assert client.read_text() == "Type another name and press Enter:"
    client.send_raw("Теасher\n".encode("utf-8"))
    assert "mixes Cyrillic and Latin letters" in client.read_text()
    assert client.read_text() == "Type another name and press Enter:"
    client.send_raw(b"amelia\n")
    assert any("Welcome, amelia" in line for line in read_until(client, "people in the room"))
    bob.close()


# --- the attack, from a student's machine -------------------------------------

def attend(lab, host, address, port, name, *args):
    """Join from a lab host and stay; return (process, its answer to the join)."""
    process = lab.popen(host, [sys.executable, LAB_CLIENTS, "attend", address, str(port),
                               name] + list(args),
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, universal_newlines=True)
    return process, json.loads(process.stdout.readline())


def tried(lab, host, address, port, *names):
    """Try each name from a lab host; return {name: the answer}."""
    done = lab.run(host, [sys.executable, LAB_CLIENTS, "names", address, str(port)]
                   + list(names), stdout=subprocess.PIPE, universal_newlines=True, check=True)
    return dict(zip(names, json.loads(done.stdout)))


def leave(process):
    process.stdin.close()
    assert process.wait(helpers.WAIT) == 0


def test_the_attack_look_alike_names_from_a_students_machine(pyz, tmp_path):
    with helpers.Lab("teacher", "bob", "student") as lab:
        address = lab.address("teacher")
        server = helpers.ServerProcess(sys.executable, pyz, cwd=str(tmp_path), host=address,
                                       prefix=lab.command("teacher"))
        people = []
        try:
            token = teacher_id.read_token(server.port)
            teacher, answer = attend(lab, "teacher", address, server.port, "Teacher",
                                     "--teacher-token", token)
            people.append(teacher)
            assert answer["role"] == "teacher"
            bob, answer = attend(lab, "bob", address, server.port, "Bob")
            people.append(bob)
            attack = ["Теасher", "Teacher.", "T-eacher", "B0b", "ВОВ"]
            answers = tried(lab, "student", address, server.port, *(attack + ["Amy"]))
            print("\nlook-alike joins from a student's machine: %s; tables: %d confusable "
                  "mappings, %d script runs" % (
                      {name: answer.get("code") or "joined as %s" % answer["name"]
                       for name, answer in answers.items()},
                      CONFUSABLE_COUNT, len(script_extensions._FIRSTS)))
            assert answers["Amy"]["type"] == "welcome"  # a real name still joins
            mixed = answers["Теасher"]
            assert (mixed["type"], mixed.get("code")) == ("error", "bad_name"), mixed
            assert "mixes Cyrillic and Latin letters" in mixed["message"]
            for name in ("Teacher.", "T-eacher"):
                assert answers[name]["code"] == "name_taken"
                assert "looks like the teacher's name, Teacher," in answers[name]["message"]
            for name in ("B0b", "ВОВ"):
                assert answers[name]["code"] == "name_taken"
                assert "looks like Bob, who is in the room" in answers[name]["message"]
            # The teacher's window goes away a moment: the name is kept for it.
            leave(people.pop(0))
            server.wait_for(r"Teacher left")
            away = tried(lab, "student", address, server.port, "Teacher", "teacher.")
            for name, answer in away.items():
                assert answer["code"] == "name_taken", (name, answer)
                assert "the teacher's name" in answer["message"]
            back, answer = attend(lab, "teacher", address, server.port, "Teacher",
                                  "--teacher-token", token)
            people.append(back)
            assert (answer["name"], answer["role"]) == ("Teacher", "teacher")
            server.wait_for(r"refused B0b \(%s\): that name, or one that looks like it, is in "
                            r"use" % lab.address("student").replace(".", r"\."))
        finally:
            for process in people:
                leave(process)
            server.kill()
