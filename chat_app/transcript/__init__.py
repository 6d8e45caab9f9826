"""A lesson's record: a --log file (or what a window received) made readable.

Reading the log and writing the file (export.py), the log's lines read
back as records (log_reader.py, checked by wire/records.py), the lesson's
figures (lesson.py), and the text, Markdown and HTML formats (formats.py,
html.py).

May import: wire.
"""
