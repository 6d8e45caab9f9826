"""Who is the teacher: proven at join, never claimed.

A join proves its sender is a teacher in one of two ways (docs/protocol.md,
"Becoming the teacher"):

- `teacher_token`: at every start the server writes a new random token to
  a file in the per-user directory of the OS user who started it, readable
  by that user alone.  A client started by that user on that computer reads
  it and sends it; nobody else can read it, so it proves both.  The client
  sends it only to an address of its own computer (`join_fields`), so a
  token never leaves the machine.
- the teacher password: `server --teacher-password PW`, for a teacher on
  another computer.  The shipped clients prove it (`"teacher": true` in
  the join, then a proof: scram.py) and never send it; older clients and
  scripts may send it as `teacher_password`.  Wrong ones wait in the same
  slowed line as wrong room passwords (Room.check_slowly).

A token file that other users can read proves nothing: the server then
refuses every token, says so on its console, and keeps refusing until it is
restarted (a new private file is written at every start).
"""

import os
import stat

from .protocol import ProtocolError

# Overrides where the token file lives (tests, or a teacher whose home
# directory is on a network share that other users can read).
HOME_VARIABLE = "CHAT_APP_HOME"

# One file per port: two rooms on one computer each have their own token.
FILE_NAME = "teacher-%d.token"

# Random bytes in a token (shown as twice as many hex digits): far beyond guessing.
TOKEN_BYTES = 16

# Only the owner may read or write the file and its directory.
FILE_MODE = 0o600
DIRECTORY_MODE = 0o700

# Permission bits that let anyone but the owner in.
OTHERS_BITS = stat.S_IRWXG | stat.S_IRWXO

# A token file longer than this is not ours (and is not read whole).
MAX_TOKEN_FILE_BYTES = 256

NOT_THIS_SERVER = (
    "That teacher token was not written by this server: it may be from an earlier run. "
    "Start the client again on the server's computer (it reads the new one), or join with "
    "the teacher password.")
READABLE_BY_OTHERS = (
    "The server's teacher token file %s can be read by other users of the computer, so a "
    "token proves nothing and is refused until the server is restarted (it then writes a new "
    "private file). Meanwhile join with the teacher password (server --teacher-password).")
NO_TEACHER_PASSWORD = (
    "This server has no teacher password. Join as the teacher from the server's own computer, "
    "or restart the server with --teacher-password.")
WRONG_TEACHER_PASSWORD = (
    "Wrong teacher password. Students join without one; teachers ask for the password the "
    "server was started with (--teacher-password).")


def home():
    """Return the per-user directory where this user's token files live."""
    override = os.environ.get(HOME_VARIABLE)
    if override:
        return override
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~")
        return os.path.join(base, "chat_app")
    return os.path.join(os.path.expanduser("~"), ".chat_app")


def token_path(port, directory=None):
    """Return the token file of the server on `port`."""
    return os.path.join(directory or home(), FILE_NAME % port)


def private_problem(info):
    """Return why a file's os.stat() result lets others in, or None.

    On Windows the per-user directory is private by the system's default
    and the permission bits say nothing, so only POSIX is checked.
    """
    if os.name == "nt":
        return None
    if info.st_uid != os.getuid():
        return "it belongs to another user"
    if info.st_mode & OTHERS_BITS:
        return "its permissions are %s" % stat.filemode(info.st_mode)
    return None


def write_token(port, directory=None):
    """Write a new token for the server on `port`; return (path, token). Raise OSError.

    The directory is made private if it is new; an old file (a server
    that was killed) is replaced, never written through.
    """
    directory = directory or home()
    os.makedirs(directory, mode=DIRECTORY_MODE, exist_ok=True)
    path = token_path(port, directory)
    token = os.urandom(TOKEN_BYTES).hex()
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(path, flags, FILE_MODE)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(token + "\n")
    return path, token


def read_token(port, directory=None):
    """Return this user's token for the server on `port`, or None (no file, or not private)."""
    path = token_path(port, directory)
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as handle:
        if private_problem(os.fstat(handle.fileno())) is not None:
            return None
        data = handle.read(MAX_TOKEN_FILE_BYTES + 1)
    try:
        token = data.decode("ascii").strip()
    except UnicodeDecodeError:
        return None
    return token if token and len(data) <= MAX_TOKEN_FILE_BYTES else None


def join_fields(host, port, directory=None, is_local=None):
    """Return the join fields that make this user the teacher of the server at host:port.

    {"teacher_token": ...} when `host` is this computer and this user's
    token file for `port` is there and private; else {} (a student).
    """
    if is_local is None:
        from .local_addresses import is_this_computer
        is_local = is_this_computer
    if not is_local(host):
        return {}
    token = read_token(port, directory)
    return {"teacher_token": token} if token else {}


def proof(password=None):
    """Return the join_fields(host, port) a client adds to its joins.

    The teacher password, when the person gave one (a teacher on another
    computer), which the client's connection proves and never sends
    (connection.ServerConnection.join); else this user's token, for a
    server on this computer.
    """
    if password:
        return lambda host, port: {"teacher_password": password}
    return join_fields


class TeacherKeys:
    """What proves a teacher to one running server: its token and its teacher password."""

    def __init__(self, token=None, path=None, password=None, room=None, console=None):
        self._token = token
        self.path = path
        self._password = password  # compared as sent by older clients and scripts
        self._verifier = None  # what proves it without sending it (scram.Verifier)
        if password is not None:
            from . import scram
            self._verifier = scram.Verifier.make(password)
        self._room = room  # its check_slowly() checks teacher passwords in the slowed line
        self.console = console  # the server's console (terminal/console.py), told of problems
        self._token_problem = None  # set once the file was found readable by others

    @classmethod
    def start(cls, port, password, room, console, directory=None):
        """Write this run's token file and return the keys; say so if it cannot be written."""
        try:
            path, token = write_token(port, directory)
        except OSError as exc:
            console.error("could not write the teacher token file in %s (%s): a client on this computer "
                 "is not recognised as the teacher; teachers join with --teacher-password."
                 % (directory or home(), exc.strerror or exc))
            return cls(password=password, room=room, console=console)
        return cls(token, path, password, room, console)

    @property
    def has_token(self):
        return self._token is not None

    @property
    def verifier(self):
        """Return what proves the teacher password (a scram.Verifier), or None without one."""
        return self._verifier

    def join_fields(self):
        """Return the join fields that prove a teacher to this server, to a client in its process.

        Its token (no file, user or address check is needed in the process
        that holds the server); without one (the file could not be
        written), its teacher password; else {} (nothing proves a teacher).
        """
        if self._token is not None:
            return {"teacher_token": self._token}
        if self._password is not None:
            return {"teacher_password": self._password}
        return {}

    def check(self, frame, address, peer):
        """Return True if the join `frame` proves a teacher, False if it claims nothing.

        Raise ProtocolError("bad_teacher", why) if it claims and fails.
        A teacher password may wait its turn, as room passwords do.
        """
        token, password = frame.get("teacher_token"), frame.get("teacher_password")
        if token is not None:
            return self._check_token(token)
        if password is not None:
            return self._check_password(password, address, peer)
        return False

    def claim(self, frame):
        """Return what a proving join (one with a nonce) claims: True, False, or None (to prove).

        True: its teacher token is this server's.  None: it will prove the
        teacher password (`"teacher": true`).  False: a student.  Raise
        ProtocolError("bad_teacher", why) for a wrong token, or a claim on a
        server without a teacher password.  Teacher password fields sent
        alongside are not read: a join with a nonce proves what it claims.
        """
        if frame.get("teacher_token") is not None:
            return self._check_token(frame["teacher_token"])
        if frame.get("teacher") is not True:
            return False
        if self._verifier is None:
            raise ProtocolError("bad_teacher", NO_TEACHER_PASSWORD)
        return None

    def check_proof(self, login, address, peer):
        """Return True if the join's proof of the teacher password (scram.ServerLogin) is right.

        Raise ProtocolError("bad_teacher", why) if it is not; it waits its
        turn as a sent one does.
        """
        if not self._room.check_slowly(lambda: login.check("teacher_password"), address, peer):
            raise ProtocolError("bad_teacher", WRONG_TEACHER_PASSWORD)
        return True

    def _check_token(self, token):
        problem = self._file_problem()
        if problem is not None:
            raise ProtocolError("bad_teacher", READABLE_BY_OTHERS % self.path)
        import hmac  # here: it loads OpenSSL (see nonblocking.use_tls)
        if self._token is None or not hmac.compare_digest(
                token.encode("utf-8"), self._token.encode("utf-8")):
            raise ProtocolError("bad_teacher", NOT_THIS_SERVER)
        return True

    def _file_problem(self):
        """Return why the token file proves nothing (said once on the console), or None."""
        if self._token_problem is None and self.path is not None:
            try:
                problem = private_problem(os.stat(self.path))
            except OSError:
                problem = None  # gone: whoever could read it had to be its owner
            if problem is not None:
                self._token_problem = problem
                self.console.error(
                    "the teacher token file %s can be read by other users (%s): every teacher "
                    "token is refused until the server is restarted. Teachers join with "
                    "--teacher-password meanwhile." % (self.path, problem))
        return self._token_problem

    def _check_password(self, password, address, peer):
        if self._password is None:
            raise ProtocolError("bad_teacher", NO_TEACHER_PASSWORD)
        if not self._room.compare_slowly(password, self._password, address, peer):
            raise ProtocolError("bad_teacher", WRONG_TEACHER_PASSWORD)
        return True

    def remove(self):
        """Remove this run's token file, if it still holds this run's token."""
        if self.path is None:
            return
        if read_token_at(self.path) == self._token:
            try:
                os.unlink(self.path)
            except OSError:
                pass


def read_token_at(path):
    """Return the token in the file at `path`, or None."""
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_TOKEN_FILE_BYTES).decode("ascii", "replace").strip()
    except OSError:
        return None
