"""The server's front door: `chat.pyz server` and `python -m chat_app.server`.

The room itself lives in the relay package (chat_app/relay/); this module
only hands the command line's options to `relay.listener.run`.
"""

import sys

from .relay.listener import run

if __name__ == "__main__":
    from .cli import main
    sys.exit(main(["server"] + sys.argv[1:]))
