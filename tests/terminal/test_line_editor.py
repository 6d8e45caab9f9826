"""The teacher's prompt line, driven by keys without a terminal (line_editor.py)."""

from chat_app.terminal.line_editor import END_OF_INPUT, LineEditor
from chat_app.wire.text_format import columns

LEFT, RIGHT, HOME, END, DELETE = "\x1b[D", "\x1b[C", "\x1b[H", "\x1b[F", "\x1b[3~"
UP, DOWN = "\x1b[A", "\x1b[B"


def screen_row(editor):
    """What the prompt row shows after erase() and draw(): (text, cursor column)."""
    row, column = [], 0
    for char in editor.erase() + editor.draw():
        if char == "\r":
            column = 0
        elif char == "\b":
            column = max(0, column - 1)
        else:
            row[column:column + 1] = [char]
            column += 1
    return "".join(row).rstrip(), column


def test_enter_completes_lines_and_clears_the_prompt():
    editor = LineEditor()
    assert editor.feed("/who") == []
    assert screen_row(editor) == ("> /who", 6)
    assert editor.feed("\r/kick bob\r\n/say hi\n") == ["/who", "/kick bob", "/say hi"]
    assert (editor.text, editor.cursor) == ("", 0)
    assert screen_row(editor) == (">", 2)


def test_cursor_keys_edit_in_the_middle():
    editor = LineEditor()
    editor.feed("/sy hello" + LEFT * 7 + "a")
    assert (editor.text, editor.cursor) == ("/say hello", 3)
    assert screen_row(editor) == ("> /say hello", 5)
    editor.feed(HOME + DELETE + "!" + END + "\x7f\x7f")
    assert editor.text == "!say hel" and editor.cursor == 8
    editor.feed("\x01" + RIGHT + "\x08")  # Ctrl+A, right, Backspace
    assert (editor.text, editor.cursor) == ("say hel", 0)
    editor.feed("\x15")  # Ctrl+U
    assert (editor.text, editor.cursor) == ("", 0)


def test_keys_split_across_reads_and_unknown_ones_are_not_typed():
    editor = LineEditor()
    editor.feed("ab\x1b[")
    editor.feed("D")  # the rest of Left arrives in the next read
    editor.feed("\x1b[15~\x1bOP\x07\x00")  # F5, F1, bell, NUL: not text
    editor.feed("\x1bx")  # Alt+x
    assert (editor.text, editor.cursor) == ("ab", 1)


def test_erase_removes_exactly_what_was_drawn():
    editor = LineEditor()
    editor.feed("/say 你好")
    drawn = editor.draw()
    assert columns("> /say 你好") == 11
    assert editor.erase() == "\r" + " " * 11 + "\r"
    assert editor.erase() == "\r"  # nothing drawn since
    assert drawn == "> /say 你好"


def test_a_long_line_scrolls_sideways_instead_of_wrapping():
    editor = LineEditor(width=20)
    editor.feed("/say " + "x" * 30 + "END")
    text, column = screen_row(editor)
    assert len(text) == 19 and text.startswith("> ") and text.endswith("xxEND")
    assert column == 19
    editor.feed(HOME)
    text, column = screen_row(editor)
    assert text.startswith("> /say xxx") and len(text) == 19 and column == 2


def test_up_and_down_recall_earlier_lines_and_keep_the_draft():
    editor = LineEditor()
    editor.feed("/who\r/kick bob\r/kick bob\r\r/say hi")
    editor.feed(UP)
    assert (editor.text, editor.cursor) == ("/kick bob", 9)  # repeats and blanks kept once
    editor.feed(UP + UP + UP)
    assert editor.text == "/who"
    editor.feed(DOWN)
    assert editor.text == "/kick bob"
    editor.feed(DOWN + DOWN)
    assert editor.text == "/say hi"  # back to what was being typed
    editor.feed(UP + " amy")
    assert editor.feed("\r") == ["/kick bob amy"]
    editor.feed(UP)
    assert editor.text == "/kick bob amy"


def test_ctrl_d_ends_input_on_an_empty_line_and_deletes_within_one():
    editor = LineEditor()
    assert editor.feed("ab" + LEFT + "\x04") == []  # deletes the b, as in a shell
    assert (editor.text, editor.cursor) == ("a", 1)
    assert editor.feed("\x7f\x04") == [END_OF_INPUT]
    assert editor.feed("x\r\x04") == ["x", END_OF_INPUT]


def test_update_shows_completed_lines_then_the_prompt_and_nothing_when_unchanged():
    editor = LineEditor()
    editor.draw()
    editor.feed("hi")
    assert editor.update() == "\r  \r> hi"
    assert editor.update() == ""  # the screen already shows it
    editor.feed(" you\r")
    assert editor.update() == "\r    \r> hi you\n> "


def test_a_secret_line_is_not_shown_not_recalled_and_the_typed_line_comes_back():
    editor = LineEditor()
    editor.feed("/who\rhalf typ")
    assert editor.update() == "\r> /who\n> half typ"
    editor.ask_secret("Password: ")
    assert editor.secret and editor.text == ""
    assert editor.update() == "\r          \rPassword: "
    editor.feed("s3")
    assert editor.update() == ""  # typing a secret changes nothing on the screen
    editor.feed(UP + "cret")  # no earlier line is recalled into a password
    assert editor.feed("\r") == ["s3cret"]
    assert not editor.secret and (editor.text, editor.cursor) == ("half typ", 8)
    assert "s3cret" not in editor.update()  # its line leaves nothing behind
    assert screen_row(editor) == ("> half typ", 10)
    editor.feed("\x15" + UP)
    assert editor.text == "/who"  # the password is not among the earlier lines


def test_an_entered_line_can_leave_the_screen_with_the_prompt():
    kept, taken = LineEditor(), LineEditor(keep_entered=False)
    for editor in (kept, taken):
        editor.draw()
        editor.feed("hello")
        assert editor.update().endswith("> hello")
        editor.feed("\r")
    assert "> hello\n" in kept.update()
    shown = taken.update()
    assert "hello" not in shown and shown.endswith("> ")
    assert taken.feed("\x1b[A") == [] and taken.text == "hello"  # still recalled by Up


def test_clear_drops_a_half_typed_line_and_says_whether_there_was_one():
    editor = LineEditor()
    editor.draw()
    assert editor.clear() is False  # nothing typed: Ctrl+C then stops the server
    editor.feed("/kick am")
    assert editor.update().endswith("> /kick am")
    assert editor.clear() is True and editor.text == "" and editor.cursor == 0
    assert editor.update().endswith("> ")
