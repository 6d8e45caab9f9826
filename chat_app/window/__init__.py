"""The Tk window: the join form, the chat, and the teacher's panel.

Widgets are built and drawn here; what to show is decided by
client/chat_state.py, and the network runs in client/link.py's threads.
Tk is touched only on the Tk thread.

May import: client, wire, discovery, transcript.
"""
