"""Name rules (names.py): invisible characters, stacked marks, mixed scripts and
look-alikes are refused, real names pass, and look-alike names share one key.  In a
room: test_names_in_a_room.py."""

import unicodedata

import pytest

import helpers
from chat_app.wire import confusables
from chat_app.wire.names import (
    MAX_MARKS_IN_A_ROW,
    NAME_PUNCTUATION,
    check_name,
    describe_char,
    look_alike_key,
    name_key,
)
from chat_app.wire.protocol import ProtocolError
from test_confusables import CONFUSABLE_COUNT
from test_ignorable import FOUND_IN_THE_ATTACK, table_code_points


def refusal(name):
    with pytest.raises(ProtocolError) as caught:
        check_name(name)
    assert caught.value.code == "bad_name"
    return caught.value.message


@pytest.mark.parametrize("name", ["alice", "Zoë", "李雷", "أحمد", "user_1", "a.b-c", "x" * 32,
                                  "e\u0301"])
def test_good_names(name):
    assert check_name(name)


@pytest.mark.parametrize("name, named", [
    ("", "empty"), ("x" * 33, "33 characters"), ("a b", "a space"), ("tab\there", "U+0009"),
    ("evil\u202etxt", "U+202E"), ("zero\u200bwidth", "U+200B"), ("bell\x07", "U+0007"),
    ("\u0301accent", "U+0301"), ("semi;colon", "';'"), ("emoji😀", "'😀'"),
])
def test_bad_names_say_what_is_wrong(name, named):
    with pytest.raises(ProtocolError) as caught:
        check_name(name)
    assert caught.value.code == "bad_name"
    assert named in caught.value.message
    assert "letters, digits" in caught.value.message


def test_names_are_nfkc_normalised_and_compared_casefolded():
    assert check_name("ｆｕｌｌ") == "full"
    assert name_key("Alice") == name_key("aLICE") == name_key("ＡＬＩＣＥ")
    assert name_key("Straße") == name_key("STRASSE")
    assert name_key("alice") != name_key("alicia")


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
        from chat_app.window.join_form import check_join
    except ImportError:  # no tkinter in this Python
        check_join = None
    helpers.require(check_join is not None, "tkinter, for the join form's checks")
    check = check_join({"host": "192.0.2.9", "port": "1234", "name": "Теасher"})
    assert check.request is None and check.field == "name"
    assert "mixes Cyrillic and Latin letters" in check.problem


# --- look-alike names (UTS #39, 4: skeletons) ---------------------------------

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
