"""Typing and printing in a terminal, for the server's console and the text client alike.

The line being typed (line_editor.py), printing above it without breaking
it (prompt.py), the server's console, the one object every part of the
room prints through (console.py), its buffer for a console that may stop
taking output (console_buffer.py) and a Windows console window being
closed (console_close.py).

May import: wire.
"""
