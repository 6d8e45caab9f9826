"""Saving a transcript (export.py): a file is replaced whole or not at all.  The command
itself, run as a person runs it: test_transcript_command.py."""

import os

import pytest

from chat_app.transcript import export as transcript


def test_a_failed_save_leaves_the_old_file_and_no_temporary_one(tmp_path, monkeypatch):
    out = tmp_path / "lesson.txt"
    out.write_text("kept")

    def refuse(source, target):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError):
        transcript.save(str(out), "new", "txt")
    assert out.read_text() == "kept" and os.listdir(str(tmp_path)) == ["lesson.txt"]
