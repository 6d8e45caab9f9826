"""chat_app: a classroom chat that travels as one file (chat.pyz)."""

__version__ = "0.1"
