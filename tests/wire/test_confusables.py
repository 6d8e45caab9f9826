"""The confusables table (confusables.py, UTS #39 4): the mappings the name rules rely on."""

import helpers  # noqa: F401  (puts the project on sys.path)
from chat_app.wire import confusables

# How many confusables.txt mappings are kept: those of characters a name can hold.
CONFUSABLE_COUNT = 2738


def test_the_confusables_hold_the_mappings_the_rules_rely_on():
    prototype = confusables._prototypes()
    for ch, looks_like in (("0", "O"), ("1", "l"), ("I", "l"), ("m", "rn"), ("\u0430", "a"),
                           ("\u0435", "e"), ("\u0422", "T"), ("\u0441", "c"),
                           ("\u0660", ".")):
        assert prototype[ord(ch)] == looks_like, ch
    doc = confusables.__doc__
    assert "confusables.txt\n18.0.0" in doc and "python3 tools/make_look_alike.py" in doc
    assert "%d of the file's 6712 mappings" % CONFUSABLE_COUNT in doc
