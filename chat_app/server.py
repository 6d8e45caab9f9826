"""The server's front door: `chat.pyz server` and `python -m chat_app.server`.

The room itself lives in the relay package (chat_app/relay/); this module
only hands the command line's options to `relay.listener.run`.  Run as a
script it is `python -m chat_app server ...`: the program's own entry
(chat_app/__main__.py, which checks the Python version and parses the
options), run by name so that the server side imports nothing of the
command line's, which reaches the client side.
"""

import runpy
import sys

from .relay.listener import run

__all__ = ["run"]

if __name__ == "__main__":
    sys.argv[1:1] = ["server"]
    runpy.run_module("chat_app", run_name="__main__", alter_sys=True)
