"""Name rules: invisible characters, stacked marks, mixed scripts and look-alikes are
refused, real names pass; the look-alike attack is made from a lab host (helpers.Lab)."""

import json
import subprocess
import sys
import unicodedata

import pytest

import helpers
from chat_app.wire import confusables, ignorable, mixed_scripts, script_extensions, teacher_id
from chat_app.wire.protocol import (
    MAX_MARKS_IN_A_ROW,
    NAME_PUNCTUATION,
    ProtocolError,
    check_name,
    describe_char,
    look_alike_key,
    name_key,
)
from test_attacks import LAB_CLIENTS
from test_room_controls import teaching
from test_text_sessions import person, read_until

# The characters issue 11 found accepted beside "admin", all shown as nothing.
FOUND_IN_THE_ATTACK = "\u3164\u115f\u1160\uffa0\u034f\ufe0f\u180b\u17b4\U000e0100"

# How many code points Unicode 17.0 marks Default_Ignorable_Code_Point.
IGNORABLE_COUNT = 4174


def refusal(name):
    with pytest.raises(ProtocolError) as caught:
        check_name(name)
    assert caught.value.code == "bad_name"
    return caught.value.message


def table_code_points():
    return [code for first, last in ignorable.RANGES for code in range(first, last + 1)]


def test_the_table_is_sorted_disjoint_and_complete():
    ranges = ignorable.RANGES
    assert all(first <= last for first, last in ranges)
    assert all(a_last + 1 < b_first for (_, a_last), (b_first, _) in zip(ranges, ranges[1:]))
    assert len(table_code_points()) == IGNORABLE_COUNT
    assert all(ignorable.is_default_ignorable(ch) for ch in FOUND_IN_THE_ATTACK)
    for first, last in ranges:  # the lookup's edges: just outside each range is not in it
        assert not ignorable.is_default_ignorable(chr(first - 1))
        assert not ignorable.is_default_ignorable(chr(last + 1))


def test_the_table_names_its_unicode_version_and_how_to_remake_it():
    doc = ignorable.__doc__
    assert "Unicode 17.0" in doc and "python3 tools/make_ignorable.py" in doc
    assert "4174 code points" in doc
    # The generator checks the committed file against `regex` (a development-only
    # package, not installed where the tests run): python3 tools/make_ignorable.py --check


def test_every_ignorable_code_point_is_refused_inside_a_name_and_alone():
    for code in table_code_points():
        ch = chr(code)
        for name in ("ad" + ch + "min", ch):
            try:
                check_name(name)
            except ProtocolError as error:
                assert error.code == "bad_name"
                assert "U+%04X" % code in error.message, (hex(code), error.message)
            else:
                raise AssertionError("U+%04X was accepted in %r" % (code, name))


@pytest.mark.parametrize("ch", FOUND_IN_THE_ATTACK)
def test_the_attack_characters_are_named_in_words(ch):
    words = refusal("admin" + ch)
    assert "U+%04X" % ord(ch) in words
    assert "shows as nothing" in words and "letters, digits" in words


def test_hangul_filler_is_refused_before_and_after_nfkc():
    # U+3164 and U+FFA0 normalise to U+1160: all three are refused, named as typed.
    assert unicodedata.normalize("NFKC", "\u3164") == "\u1160"
    assert "U+3164" in refusal("admin\u3164")
    assert "U+FFA0" in refusal("admin\uffa0")


def test_describe_char_never_shows_an_invisible_character_as_itself():
    assert describe_char("\u3164") == "U+3164 (hangul filler)"
    assert describe_char("\U000e0fff") == "U+E0FFF (unassigned character)"
    assert describe_char("!") == "'!'"


# Names in one script each (Japanese, Chinese and Korean writing count as one,
# with or without Latin, as UTS #39's Highly Restrictive level allows).
REAL_NAMES = [
    "José", unicodedata.normalize("NFD", "José"), "नमस्ते", "한글", "李小龙", "Ἀθηνᾶ",
    unicodedata.normalize("NFD", "Ἀθηνᾶ"), "Nguyễn", unicodedata.normalize("NFD", "Nguyễn"),
    "Zoë", "བསྒྲུབས", "שָׁלוֹם", "x" + "\u0301" * MAX_MARKS_IN_A_ROW, "Мария", "Мария_2",
    "山田たろう", "やまだ", "ヤマダ_タロウ", "Yamada山田", "Kim한글", "王ㄅㄆ", "李小龙7",
    "amy.b-2", "Ольга", "Σωκράτης", "محمد", "Nguyễn_Văn-An",
]


@pytest.mark.parametrize("name", REAL_NAMES)
def test_real_names_in_any_script_keep_working(name):
    assert check_name(name) == unicodedata.normalize("NFKC", name)


def test_a_tower_of_accents_is_refused_saying_why():
    words = refusal("x" + "\u0301" * 31)
    assert "31 accents or other combining marks in a row" in words
    assert "U+0301 (combining acute accent)" in words
    assert "at most %d" % MAX_MARKS_IN_A_ROW in words
    assert "%d accents" % (MAX_MARKS_IN_A_ROW + 1) in refusal(
        "ab" + "\u0301\u0302" * 2 + "\u0303" + "c")


def test_other_rules_are_unchanged():
    assert "'''" in refusal("O'Brien")
    assert "a space" in refusal("a b")


@pytest.mark.parametrize("name", ["...", "-", "_.-"])
def test_a_name_needs_a_letter_or_digit(name):
    assert "no letter or digit" in refusal(name)
    assert check_name("a.") == "a." and check_name("_7") == "_7"


# --- mixed scripts (UTS #39, 5.2: Highly Restrictive) --------------------------

# Names that mix scripts, with (main script, other script, the character named).
MIXED = [
    ("Теасher", ("Cyrillic", "Latin", "h")),  # Cyrillic Т, е, а, с: the issue's look-alike
    ("Мaрия", ("Cyrillic", "Latin", "a")),  # one Latin 'a' in a Russian name
    ("раураl", ("Cyrillic", "Latin", "l")),  # "paypal" in Cyrillic, but for its 'l'
    ("Αlice", ("Latin", "Greek", "Α")),  # a Greek capital alpha
    ("Teacher\u0660", ("Latin", "Arabic", "\u0660")),  # an Arabic-Indic zero: a dot
    ("한글たろう", ("Hiragana", "Hangul", "한")),  # Korean with Japanese kana
    ("Yamada山田Дима", ("Latin", "Cyrillic", "Д")),  # Latin with Han is fine; Cyrillic is not
]


@pytest.mark.parametrize("name, mix", MIXED)
def test_a_name_mixing_scripts_is_refused_naming_the_scripts_and_a_character(name, mix):
    main, other, char = mix
    assert mixed_scripts.script_mix(name) == mixed_scripts.Mix(main, other, char)
    words = refusal(name)
    assert words.startswith("The name mixes %s and %s letters (the %s %s" % (
        main, other, other, describe_char(char)))
    assert "U+%04X" % ord(char) in words
    assert "so it could pass for another name. Write it in one alphabet." in words


def test_the_issues_look_alike_is_refused_in_words():
    assert refusal("Теасher").startswith(
        "The name mixes Cyrillic and Latin letters (the Latin 'h', U+0068), so it could pass "
        "for another name. Write it in one alphabet. Names are 1 to 32 characters")


def test_the_join_form_refuses_a_mixed_name_before_connecting():
    try:
        from chat_app.window.chat_window import check_join
    except ImportError:  # no tkinter in this Python
        check_join = None
    helpers.require(check_join is not None, "tkinter, for the join form's checks")
    check = check_join({"host": "192.0.2.9", "port": "1234", "name": "Теасher"})
    assert check.request is None and check.field == "name"
    assert "mixes Cyrillic and Latin letters" in check.problem


def test_script_extensions_let_a_shared_character_go_with_each_of_its_scripts():
    sets = script_extensions.SCRIPT_SETS
    scripts_of = lambda ch: sets[script_extensions.script_set(ch)]  # noqa: E731
    assert scripts_of("a") == ("Latin",) and scripts_of("\u0430") == ("Cyrillic",)
    assert scripts_of("山") == ("Han",) and scripts_of("た") == ("Hiragana",)
    assert scripts_of("\u30fc") == ("Hiragana", "Katakana")  # the prolonged sound mark
    for common in "07_-.\u0327":  # digits, the name punctuation, a cedilla: Common, Inherited
        assert scripts_of(common) == ()
    assert {"Cyrillic", "Greek", "Latin"} <= set(scripts_of("\u0301"))  # the acute accent
    assert mixed_scripts.highly_restrictive("らーめん") and mixed_scripts.highly_restrictive("ラーメン")


def test_the_script_table_names_its_unicode_version_and_how_to_remake_it():
    doc = script_extensions.__doc__
    assert "Unicode 17.0" in doc and "python3 tools/make_look_alike.py" in doc
    assert "%d runs of %d script sets" % (len(script_extensions._FIRSTS),
                                          len(script_extensions.SCRIPT_SETS)) in doc
    firsts = script_extensions._FIRSTS
    assert firsts[0] == 0 and all(a < b for a, b in zip(firsts, firsts[1:]))
    # The generator checks both tables against `regex` and confusables.txt (development-only
    # packages, not installed where the tests run): python3 tools/make_look_alike.py --check


# --- look-alike names (UTS #39, 4: skeletons) ---------------------------------

# How many confusables.txt mappings are kept: those of characters a name can hold.
CONFUSABLE_COUNT = 2738

# Names that look alike, each group giving one look_alike_key.
LOOK_ALIKES = [
    ["Teacher", "Теасher", "TEACHER", "teacher", "Teacher.", "T-eacher", "_Teacher_",
     "ТЕАСНЕR"],  # case, the name punctuation, Cyrillic capitals
    ["Bob", "B0b", "BOB", "ВОВ", "b0b"],  # zero for O; ВОВ is all Cyrillic
    ["Ali", "AIi", "A1i"],  # a capital i, a one, for 'l'
    ["Olga", "0lga", "OIga"],
    ["Tom", "ТОМ", "Torn"],  # 'm' looks like "rn", and so does Cyrillic 'М' folded
]


@pytest.mark.parametrize("names", LOOK_ALIKES)
def test_names_that_look_alike_have_one_key(names):
    keys = {name: look_alike_key(name) for name in names}
    assert len(set(keys.values())) == 1, keys


@pytest.mark.parametrize("first, second", [
    ("José", "Jose"), ("amy", "ann"), ("Ilya", "ilya"), ("Мария", "Maria"), ("Bob", "Rob"),
])
def test_names_that_do_not_look_alike_have_their_own_keys(first, second):
    assert look_alike_key(first) != look_alike_key(second)


def test_names_equal_but_for_case_are_still_the_same_name():
    # "Ilya" and "ilya" differ in their skeletons ('I' looks like 'l', 'i' does not), and
    # count as the same name all the same: the room compares name_key first.
    assert name_key("Ilya") == name_key("ilya")


def test_the_key_needs_its_skeleton_before_and_after_case_folding():
    def casefold_first(name):
        return confusables.skeleton(name.casefold())

    def one_skeleton(name):
        return confusables.skeleton(name).casefold()

    # Cyrillic 'Т' looks like 'T'; folded, 'т' looks like no Latin letter.
    assert casefold_first("ТЕАСНЕR") != casefold_first("Teacher")
    # "Tom" is "Torn" to the skeleton; Cyrillic "ТОМ" is "TOM", and "tom" once folded.
    assert one_skeleton("ТОМ") != one_skeleton("Tom")
    assert look_alike_key("ТЕАСНЕR") == look_alike_key("Teacher")
    assert look_alike_key("ТОМ") == look_alike_key("Tom")


def test_the_key_of_a_key_is_itself_and_every_mapped_character_can_be_in_a_name():
    mapped = [chr(code) for code in confusables._prototypes()]
    assert len(mapped) == CONFUSABLE_COUNT
    for ch in mapped + [chr(code) for code in range(0x20, 0x7F)]:
        key = look_alike_key(ch)
        assert look_alike_key(key) == key, (hex(ord(ch)), key)
        assert not set(key) & set(NAME_PUNCTUATION)
        if unicodedata.category(ch) != "Cn" and ord(ch) >= 0x80:  # assigned in this Python
            category = unicodedata.category(ch)
            assert category[0] in "LM" or category == "Nd", (hex(ord(ch)), category)


def test_the_confusables_hold_the_mappings_the_rules_rely_on():
    prototype = confusables._prototypes()
    for ch, looks_like in (("0", "O"), ("1", "l"), ("I", "l"), ("m", "rn"), ("\u0430", "a"),
                           ("\u0435", "e"), ("\u0422", "T"), ("\u0441", "c"),
                           ("\u0660", ".")):
        assert prototype[ord(ch)] == looks_like, ch
    doc = confusables.__doc__
    assert "confusables.txt\n18.0.0" in doc and "python3 tools/make_look_alike.py" in doc
    assert "%d of the file's 6712 mappings" % CONFUSABLE_COUNT in doc


# --- in a room ------------------------------------------------------------

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
