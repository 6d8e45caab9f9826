"""The room: what `chat.pyz server` runs.  It runs where Tk is missing.

The listening server and starting and stopping it (listener.py); one
connection's handler (handler.py) and its I/O-free state table
(session.py); the room, its registry and its lock (room.py), a
connection as the room sees it (peer.py) and the teacher's controls of
the room (room_controls.py); the shared stream and each connection's
outbox (outbox.py) and the one thread that sends (fanout.py,
one_cpu.py); limits per address and per computer (access.py,
accept_backoff.py, peer_wait.py); mute, slow mode, hands and the lock
(moderation.py); the history log (history_log.py,
log_writer.py, log_budget.py); and the teacher's console
(teacher_console.py, console_digest.py).  Each part prints through
the one terminal.console.Console it is given as `console`.

May import: wire, terminal, discovery.
"""
