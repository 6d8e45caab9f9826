"""The window client's front door: `chat.pyz client` when Tk is there.

The window lives in the window package (chat_app/window/); this module
only opens Tk's root and hands it, with the command line's options, to
`window.chat_window.run`.
"""

import sys

from .window.chat_window import open_root, run

if __name__ == "__main__":
    from .cli import main
    sys.exit(main(["client"] + sys.argv[1:]))
