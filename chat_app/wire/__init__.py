"""What both sides agree on: the protocol, its words, and the small tools under it.

Frames, limits and error texts (protocol.py); the names a person may take
and when two look alike (names.py, with the Unicode data in confusables.py,
mixed_scripts.py, script_extensions.py and ignorable.py); the --log file's
records, shared by the server's log and the transcript (records.py); the
proof of a password (scram.py); TLS and its fingerprints (tls.py); the slash
commands both clients and the console understand (commands.py); how text is
cut and laid out for a terminal (text_format.py); the token bucket
(rate_limit.py); this computer's addresses (local_addresses.py,
interfaces.py) and the teacher's key file (teacher_id.py); the name of the
Python command (interpreter.py); and a socket's non-blocking sends
(nonblocking.py).  No module here opens a socket or starts a thread unless
its docstring says so.

May import: nothing else in chat_app.
"""
