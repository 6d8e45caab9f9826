"""The clients' side without Tk: the network, the state, and the text client.

The connection and its proofs (connection.py), the threads that read and
write without blocking a user interface (link.py), what to show decided
without Tk (chat_state.py), the remembered address and name
(settings.py), and `client --text` (text_client.py).

May import: wire, discovery, terminal.
"""
