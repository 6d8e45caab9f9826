"""chat_app/wire/text_format.py: frames rendered as terminal-safe lines."""

import helpers  # noqa: F401  (puts the project on sys.path)
from chat_app.wire.text_format import render, safe
from test_chat_state import message


# --- formatting ----------------------------------------------------------------

def test_render_is_terminal_safe():
    text = render(message(1, "bob", "\x1b[31mred\x07\ttab\nnext"))
    assert text.endswith("<bob> [31mred    tab\n    next")
    assert safe("a\u202eb\x00c") == "abc"


def test_render_private_and_action_and_left():
    assert render(message(1, "amy", "/me waves", to="bob")).endswith(
        "<amy> (private to bob) *waves*")
    assert render({"type": "left", "name": "bob", "time": 1, "reason": "timeout"}).endswith(
        "* bob left (not responding)")
    assert render({"type": "left", "name": "bob", "time": 1, "reason": "kicked"}).endswith(
        "* bob was removed by the teacher")
    assert render({"type": "left", "name": "bob", "time": 1, "reason": "banned"}).endswith(
        "* bob left (banned)")  # a reason from a newer server
    assert render({"type": "notice", "text": "Pens down\nin 5 minutes", "time": 1}).endswith(
        "*** Pens down\n    in 5 minutes")
    assert render({"type": "pong"}) is None
