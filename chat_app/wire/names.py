"""Names: which a person may take, and when two names are one or look alike.

check_name refuses a name that is empty or too long, holds a character
that shows as nothing (ignorable.py), stacks marks, has no letter or digit
or mixes scripts (mixed_scripts.py), and returns its NFKC form; name_key is
the form under which two names are the same name, and look_alike_key the
form under which they look alike (UTS #39's skeleton: confusables.py).
The room keeps one member per name and per look-alike; every client checks
a name the same way before it is sent.  Nothing here does I/O.
"""

import itertools
import unicodedata

from .confusables import skeleton
from .ignorable import is_default_ignorable
from .mixed_scripts import script_mix
from .protocol import ERROR_MESSAGES, MAX_NAME_CHARS, ProtocolError

# Characters allowed in names besides letters, combining marks and digits.
NAME_PUNCTUATION = "_-."

# bad_name's words for a name that mixes scripts (mixed_scripts.script_mix),
# with room for its main script, the other, and that one's character.
MIXED_SCRIPTS_WORDS = ("The name mixes %s and %s letters (the %s %s), so it could pass for "
                       "another name. Write it in one alphabet.")

# name_taken's words for a name that looks like another (look_alike_key):
# like a member's, or like a teacher's, there or not.
LOOKS_LIKE_MEMBER_WORDS = ("The name %s looks like %s, who is in the room, so it could pass "
                           "for them. Choose another name.")
LOOKS_LIKE_TEACHER_WORDS = ("The name %s looks like the teacher's name, %s, so it could pass "
                            "for the teacher. Choose another name.")

# Most nonspacing or enclosing marks allowed in a row in a name.  Unicode's
# security mechanisms (UTS #39, 5.4) suggest refusing more than four: real
# writing stacks at most that many (Tibetan subjoined letters with a vowel,
# pointed Hebrew), while a tower of accents paints over the lines around it.
MAX_MARKS_IN_A_ROW = 4


def _name_char_ok(ch, first):
    category = unicodedata.category(ch)
    if category[0] == "L" or category == "Nd" or ch in NAME_PUNCTUATION:
        return True
    return category[0] == "M" and not first


def _is_stacking_mark(ch):
    return unicodedata.category(ch) in ("Mn", "Me")


# What describe_char says for a character that has no name of its own.
UNNAMED_WORDS = {
    "Cc": "control character",
    "Cn": "unassigned character",
    "Co": "private-use character",
    "Cs": "surrogate",
}


def describe_char(ch):
    """Name a character for an error message: 'a space', "'!'", 'U+3164 (hangul filler)'."""
    if ch == " ":
        return "a space"
    category = unicodedata.category(ch)
    if ch.isprintable() and category[0] != "M" and not is_default_ignorable(ch):
        return "'%s'" % ch
    words = unicodedata.name(ch, UNNAMED_WORDS.get(category, "character")).lower()
    return "U+%04X (%s)" % (ord(ch), words)


def _bad_name(why):
    return ProtocolError("bad_name", "%s %s" % (why, ERROR_MESSAGES["bad_name"]))


def _refuse_invisible(text):
    for ch in text:
        if is_default_ignorable(ch):
            raise _bad_name(
                "The name contains %s, a character that shows as nothing, so the name "
                "would look like another one." % describe_char(ch))


def _refuse_mixed_scripts(name):
    mix = script_mix(name)
    if mix is not None:
        words = describe_char(mix.char)
        if not words.startswith("U+"):  # a printable character: its code point too
            words += ", U+%04X" % ord(mix.char)
        raise _bad_name(MIXED_SCRIPTS_WORDS % (mix.main, mix.other, mix.other, words))


def _refuse_mark_stacks(name):
    for stacking, run in itertools.groupby(name, _is_stacking_mark):
        run = list(run)
        if stacking and len(run) > MAX_MARKS_IN_A_ROW:
            raise _bad_name(
                "The name stacks %d accents or other combining marks in a row (the first "
                "is %s); at most %d are allowed, since more pile up over the text around "
                "the name." % (len(run), describe_char(run[0]), MAX_MARKS_IN_A_ROW))


def check_name(raw):
    """Return the NFKC form of a proposed name, or raise ProtocolError(bad_name).

    Invisible characters (Default_Ignorable_Code_Point) are refused both as
    typed and after NFKC, which maps some of them onto others; so is a name
    that mixes scripts (mixed_scripts.py).
    """
    name = unicodedata.normalize("NFKC", raw)
    if not name:
        raise _bad_name("The name is empty.")
    if len(name) > MAX_NAME_CHARS:
        raise _bad_name("The name has %d characters; the limit is %d."
                        % (len(name), MAX_NAME_CHARS))
    _refuse_invisible(raw)  # after the length check: NFKC shortens a text a few times at most
    _refuse_invisible(name)
    for index, ch in enumerate(name):
        if not _name_char_ok(ch, index == 0):
            raise _bad_name("The name contains %s." % describe_char(ch))
    _refuse_mark_stacks(name)
    if all(ch in NAME_PUNCTUATION for ch in name):  # "..." or "-" reads as no one
        raise _bad_name("The name has no letter or digit.")
    _refuse_mixed_scripts(name)
    return name


def name_key(name):
    """Return the form under which two names count as the same."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


# What look_alike_key leaves out: "Teacher." and "T-eacher" read as "Teacher".
_WITHOUT_PUNCTUATION = str.maketrans("", "", NAME_PUNCTUATION)


def look_alike_key(name):
    """Return the form under which two names look alike, whatever their case and '_-.'.

    skeleton(NFKC(casefold(skeleton(NFKC(name))))) without '_', '-' and
    '.', skeleton being UTS #39's (confusables.py): "Теасher" (Cyrillic
    Т, е, а, с), "TEACHER", "Teacher." and "T-eacher" all give "teacher",
    "B0b" gives "bob" and "AIi" (a capital i) "ali".  The skeleton comes
    first: case folding first would make Cyrillic 'Т', which looks like
    'T', into 'т', which looks like no Latin letter.  The skeleton comes
    again after it, for what case folding made: Cyrillic "ТОМ" becomes
    "TOM", then "tom", and "Tom" becomes "Torn" ('m' looks like "rn"),
    then "torn"; the second skeleton makes both "torn".
    """
    first = skeleton(unicodedata.normalize("NFKC", name))
    folded = unicodedata.normalize("NFKC", first.casefold())
    return skeleton(folded).translate(_WITHOUT_PUNCTUATION)


def look_alike_error(name, holder, teacher):
    """Return name_taken's ProtocolError: `name` looks like `holder`'s, a teacher's or not."""
    if teacher:
        return ProtocolError("name_taken", LOOKS_LIKE_TEACHER_WORDS % (name, holder))
    return ProtocolError("name_taken", LOOKS_LIKE_MEMBER_WORDS % (name, holder))
