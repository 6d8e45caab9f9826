"""The window client's front door: what `chat.pyz client` runs when Tk is there.

The window lives in the window package (chat_app/window/); cli.py opens
Tk's root with `open_root` and hands it, with the command line's options,
to `run`.
"""

from .window.chat_window import open_root, run

__all__ = ["open_root", "run"]
