"""Windows: closing the server's console window stops it as Ctrl+C does.

Windows tells a console program that its window is closing (or that the
user logs off, or the computer shuts down) with a console control event,
and ends the process as soon as the handler returns, or after about five
seconds.  The C runtime turns the event into SIGBREAK, but Python's
handler for it only sets a flag and returns, so the process ended before
anyone was told goodbye.  This handler asks the server to stop and holds
the process until the server has said goodbye, within the time Windows
gives.  Elsewhere nothing is installed: SIGHUP does this job (relay/listener.py).
"""

import threading

# The console events after which Windows ends the process (see the
# HandlerRoutine documentation): the window closing, log-off, shut-down.
# Ctrl+C (0) and Ctrl+Break (1) are left to the C runtime's handlers,
# which turn them into SIGINT and SIGBREAK.
CTRL_CLOSE_EVENT, CTRL_LOGOFF_EVENT, CTRL_SHUTDOWN_EVENT = 2, 5, 6
ENDING_EVENTS = (CTRL_CLOSE_EVENT, CTRL_LOGOFF_EVENT, CTRL_SHUTDOWN_EVENT)

# Windows ends the process five seconds after a close event; the server's
# goodbye takes under two (ChatServer.stop), and half a second is spare.
GRACE_SECONDS = 4.5


class ConsoleClose:
    """Stop the server when its console goes away, and hold on until it has."""

    def __init__(self, stop):
        self._stop = stop  # asks the server to stop; may block until it stops serving
        self._stopped = threading.Event()
        self._routine = None  # the registered callback, kept alive while Windows holds it

    def handle(self, event):
        """Windows' callback, on a thread of its own: True when the event is handled here."""
        if event not in ENDING_EVENTS:
            return False
        self._stop()
        self._stopped.wait(GRACE_SECONDS)
        return True

    def stopped(self):
        """The server has said goodbye to everyone: the process may end."""
        self._stopped.set()

    def install(self):
        """Register with Windows; return False where there is no Windows console API."""
        try:
            import ctypes
            from ctypes import wintypes
            kernel32 = ctypes.windll.kernel32
        except (ImportError, AttributeError, OSError):
            return False
        routine_type = ctypes.WINFUNCTYPE(wintypes.BOOL, wintypes.DWORD)
        self._routine = routine_type(self.handle)
        return bool(kernel32.SetConsoleCtrlHandler(self._routine, True))
