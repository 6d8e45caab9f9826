"""The window client's front door: `python -m chat_app.client_gui` (as `chat.pyz client`).

The window lives in the window package (chat_app/window/): cli.py opens
Tk's root and hands it, with the command line's options, to
`window.chat_window.run`; this module only passes its arguments to cli.py.
"""

import sys

if __name__ == "__main__":
    from .cli import main
    sys.exit(main(["client"] + sys.argv[1:]))
