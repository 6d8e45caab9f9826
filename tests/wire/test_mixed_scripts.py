"""Mixed scripts (mixed_scripts.py, UTS #39 5.2: Highly Restrictive): which name mixes what."""

import pytest

import helpers  # noqa: F401  (puts the project on sys.path)
from chat_app.wire import mixed_scripts
from test_names import MIXED


@pytest.mark.parametrize("name, mix", MIXED)
def test_a_name_mixing_scripts_names_its_main_script_the_other_and_a_character(name, mix):
    main, other, char = mix
    assert mixed_scripts.script_mix(name) == mixed_scripts.Mix(main, other, char)


def test_japanese_writing_is_one_script_with_its_kana():
    assert mixed_scripts.highly_restrictive("らーめん") and mixed_scripts.highly_restrictive("ラーメン")
