"""Typing and printing in a terminal, for the server's console and the text client alike.

The line being typed (line_editor.py), printing above it without breaking
it (prompt.py), a console that may stop taking output (console_buffer.py)
and a Windows console window being closed (console_close.py).

May import: wire.
"""
