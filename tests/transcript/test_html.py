"""The HTML format (html.py): one page that runs nothing and shows every text as written.
The same page from the command line: test_transcript_command.py."""

from chat_app.transcript import export as transcript
from lesson_log import FORBIDDEN, PageParser, lesson_records, room_texts


def test_the_page_has_no_active_element_and_every_room_text_whole():
    page = transcript.render(lesson_records(), "html")
    parser = PageParser()
    parser.feed(page)
    parser.close()
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert not [name for name in parser.attributes if name.startswith("on") or name in
                ("src", "href")]
    assert "script" not in parser.tags and "img" not in parser.tags
    assert not FORBIDDEN.search(page)
    assert [text for text in parser.said if text in room_texts()] == room_texts()
    assert "secret" not in page  # the private message, left out
