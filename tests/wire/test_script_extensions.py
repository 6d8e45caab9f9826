"""The Script_Extensions table (script_extensions.py): each character's scripts, by runs."""

import helpers  # noqa: F401  (puts the project on sys.path)
from chat_app.wire import script_extensions


def test_script_extensions_let_a_shared_character_go_with_each_of_its_scripts():
    sets = script_extensions.SCRIPT_SETS
    scripts_of = lambda ch: sets[script_extensions.script_set(ch)]  # noqa: E731
    assert scripts_of("a") == ("Latin",) and scripts_of("\u0430") == ("Cyrillic",)
    assert scripts_of("山") == ("Han",) and scripts_of("た") == ("Hiragana",)
    assert scripts_of("\u30fc") == ("Hiragana", "Katakana")  # the prolonged sound mark
    for common in "07_-.\u0327":  # digits, the name punctuation, a cedilla: Common, Inherited
        assert scripts_of(common) == ()
    assert {"Cyrillic", "Greek", "Latin"} <= set(scripts_of("\u0301"))  # the acute accent


def test_the_script_table_names_its_unicode_version_and_how_to_remake_it():
    doc = script_extensions.__doc__
    assert "Unicode 17.0" in doc and "python3 tools/make_look_alike.py" in doc
    assert "%d runs of %d script sets" % (len(script_extensions._FIRSTS),
                                          len(script_extensions.SCRIPT_SETS)) in doc
    firsts = script_extensions._FIRSTS
    assert firsts[0] == 0 and all(a < b for a, b in zip(firsts, firsts[1:]))
    # The generator checks both tables against `regex` and confusables.txt (development-only
    # packages, not installed where the tests run): python3 tools/make_look_alike.py --check
