"""Names that mix scripts, by Unicode's security mechanisms (UTS #39, 5.1 and 5.2).

A name passes when it is "Highly Restrictive": its letters are all of one
script, or Latin with the scripts of Japanese (Han, Hiragana, Katakana), of
Chinese (Han, Bopomofo) or of Korean (Han, Hangul).  Characters of Common
and Inherited (digits, '_', '-', '.', most accents) go with every script.
A character's scripts are its Script_Extensions (script_extensions.py, a
generated table), so one used by several scripts (the Japanese prolonged
sound mark, a Devanagari sign) goes with any of them; and, as UTS #39
says, Han counts as Japanese, Chinese and Korean writing, Hiragana and
Katakana as Japanese, Hangul as Korean, Bopomofo as Chinese, so "山田たろう"
is one script.  This is the reference implementation's reading (ICU's
SpoofChecker): a string is single-script when the scripts of all its
characters have one in common, and Highly Restrictive when, its Latin
letters left out, what the rest have in common is Japanese, Chinese or
Korean writing.

"Теасher" (Cyrillic Т, е, а, с with Latin h, e, r) is refused; "José",
"नमस्ते", "李小龙", "Мария" and "Yamada山田" pass.  Nothing here does I/O.
"""

import collections

from .script_extensions import SCRIPT_SETS, script_set

# One bit for each script, and three for UTS #39's writing systems that
# join scripts: Han with Bopomofo (Chinese), Japanese, Korean.
_SCRIPTS = sorted({name for scripts in SCRIPT_SETS for name in scripts})
_BIT = {name: 1 << number for number, name in enumerate(_SCRIPTS)}
CHINESE, JAPANESE, KOREAN = (1 << len(_SCRIPTS) + number for number in range(3))
EVERY_SCRIPT = (1 << len(_SCRIPTS) + 3) - 1  # Common and Inherited: with any script
LATIN = _BIT["Latin"]

# Which scripts make up which writing system (UTS #39, 5.1: augmented script sets).
WRITING_SYSTEMS = (
    ("Han", CHINESE | JAPANESE | KOREAN),
    ("Hiragana", JAPANESE),
    ("Katakana", JAPANESE),
    ("Hangul", KOREAN),
    ("Bopomofo", CHINESE),
)


def _augmented(scripts):
    """Return a script set's bits, with the writing systems its scripts belong to."""
    if not scripts:
        return EVERY_SCRIPT
    bits = 0
    for name in scripts:
        bits |= _BIT[name]
    for name, systems in WRITING_SYSTEMS:
        if name in scripts:
            bits |= systems
    return bits


_BITS = tuple(_augmented(scripts) for scripts in SCRIPT_SETS)

# What a name that mixes scripts is told: its main script (the one of most
# of its letters), another script in it, and that script's first character.
Mix = collections.namedtuple("Mix", "main other char")


def highly_restrictive(name):
    """Tell whether a name passes UTS #39's Highly Restrictive level."""
    if name.isascii():
        return True  # Latin and Common alone
    common = without_latin = EVERY_SCRIPT
    for ch in name:
        bits = _BITS[script_set(ch)]
        common &= bits
        if not bits & LATIN:
            without_latin &= bits
    return bool(common or without_latin & (CHINESE | JAPANESE | KOREAN))


def script_mix(name):
    """Return None for a Highly Restrictive name, else the Mix that says what it mixes.

    The scripts are ranked by how many of the name's characters they
    write (a tie goes to the one written first); the characters are taken
    in that order, and the first that breaks the level is the one named.
    """
    if highly_restrictive(name):
        return None
    counts = collections.Counter()
    for ch in name:
        counts.update(SCRIPT_SETS[script_set(ch)])
    rank = {script: place for place, (script, _) in enumerate(counts.most_common())}

    def first_script(ch):
        scripts = SCRIPT_SETS[script_set(ch)]
        return min(scripts, key=rank.get) if scripts else None

    ranked = sorted(name, key=lambda ch: rank.get(first_script(ch), -1))
    end = next(end for end in range(2, len(ranked) + 1)
               if not highly_restrictive("".join(ranked[:end])))
    return Mix(counts.most_common(1)[0][0], first_script(ranked[end - 1]), ranked[end - 1])
