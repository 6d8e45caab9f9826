"""The Default_Ignorable_Code_Point table (ignorable.py): sorted, complete, its lookup's edges."""

import helpers  # noqa: F401  (puts the project on sys.path)
from chat_app.wire import ignorable

# The characters issue 11 found accepted beside "admin", all shown as nothing.
FOUND_IN_THE_ATTACK = "\u3164\u115f\u1160\uffa0\u034f\ufe0f\u180b\u17b4\U000e0100"

# How many code points Unicode 17.0 marks Default_Ignorable_Code_Point.
IGNORABLE_COUNT = 4174


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
