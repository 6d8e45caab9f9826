"""The server's front door: what `chat.pyz server` runs.

The room itself lives in the relay package (chat_app/relay/); cli.py hands
the command line's options to `run` here.  Nothing on this side imports
the clients or Tk: the server runs where Tk is missing.
"""

from .relay.listener import run

__all__ = ["run"]
