"""The room: who is connected, who has joined, and the order of everything said.

One lock guards the registry.  Under it the room numbers each message,
adds it to history, appends its bytes once to the stream that every JSON
member reads (people at a terminal get their own rendering in their
outbox), so every member receives frames in the same order, and queues it
for the log writer.  The room never sends: the fanout thread does, after
the lock is released, without ever waiting on a socket (see fanout.py), so
a slow reader delays no one.  Frames for some members only (a private
message, a raised hand, which only teachers and that student see) go to
their outboxes alone, never into the stream.  The room's rules (mute, lock,
slow mode, private messages, hands) are a moderation.Rules, asked and
changed under the same lock; teachers change them with `control` frames
(CONTROLS: room_controls.py, a part of the Room).  Each connection is a
Peer (peer.py).  Mute, slow mode and the message rate follow a member's
computer (its address, the peer's `machine`) unless it is this computer
or the server runs with --shared-address: the room keeps one Machine per
such address while it has a connection, with the token bucket its
connections share.  With a log, the stream holds each frame back
until the log writer has written its line or given up on it (at most
KEEP_UP_SECONDS: see log_writer.py), so no one receives an event that a
server killed right after has not logged.  What a student causes is logged
within their address's share of the log (log_budget.py), so that no one
machine can push the lesson out of it; the log records what changes of the
rules and hands, and starts each file with a snapshot (`snapshot_line`).
What the room says to the teacher goes to its `console`
(terminal.console.Console).
"""

import collections
import json
import threading
import time

from ..wire import text_format
from .access import (
    PASSWORD_NOT_CHECKED_MESSAGE,
    SLOWDOWN_WORDS,
    PasswordGuard,
    PasswordTryAbandoned,
    is_loopback,
)
from .log_budget import LogBudget, share_for
from .moderation import Rules
from .outbox import MAX_BACKLOG_BYTES, Stream
from .peer import Machine, Rendered
from .peer_wait import PasswordTryWait
from .room_controls import RoomControls
from ..wire.protocol import (
    DEFAULT_MAX_TEXT_CHARS,
    PASSWORD_MISSING_MESSAGE,
    STUDENT,
    TEACHER,
    ProtocolError,
    bye_frame,
    encode,
    encode_message,
    fit_lists,
    hand_frame,
    joined_frame,
    left_frame,
    limits_field,
    message_frame,
    notice_frame,
    password_wait_frame,
    room_state_frame,
    welcome_bytes,
    welcome_frame,
)
from ..wire.names import check_name, look_alike_error, look_alike_key, name_key
from ..wire.rate_limit import DEFAULT_BURST
from ..wire.records import (
    MAX_LOG_LINE_BYTES,
    SNAPSHOT_CUTS,
    STOPPED_CUTS,
    rule_record,
    stopped_record,
)
from ..terminal.console import QUIET

DEFAULT_HISTORY = 100

# Different people in the room from one address (not this computer's) at
# which the console asks, once, whether the class shares an address (NAT):
# two or three may be a student with a spare window, four are a group.
SHARED_ADDRESS_PEOPLE = 4

# What the console then says (the count, the address, the names).
SHARED_ADDRESS_WORDS = (
    "%d people are in the room from %s (%s). If the class reaches this computer through "
    "one shared address (NAT), the room takes them for one computer meanwhile: muting one "
    "mutes them all, slow mode lets one message through for all of them, and they share one "
    "computer's message rate. If so, restart the server with --shared-address.")

# What the console says of a name that joins from a muted computer.
MUTED_ARRIVAL_WORDS = "%s joined from %s, which is muted: %s is muted too"

# What the console adds to a leave when the student's raised hand went down
# with them (whatever the reason: a hand is up only for someone in the room).
HAND_WENT_DOWN = "; their raised hand went down"


class Room(RoomControls):
    """The registry of connections and members, and the relay between them."""

    # Called with each room message frame (never a private one) after the lock
    # is released: the teacher's console shows the conversation with it.
    watch = None

    def __init__(self, max_clients, password=None, history=DEFAULT_HISTORY,
                 log=None, console=QUIET, clock=time.time, max_per_ip=0,
                 password_guard=None, limits=None, name=None, shared_address=False):
        self._lock = threading.Lock()
        self._emptied = threading.Condition(self._lock)  # notified when no connection is left
        self._connections = set()
        self._per_address = collections.Counter()  # connections from each address
        self._max_per_ip = max_per_ip  # 0: no limit
        # address -> Machine, for each address sanctions follow (none under
        # --shared-address), while it has a connection
        self._machines = {}
        self._shared_address = shared_address
        self._guard = password_guard or PasswordGuard()
        self._members = {}  # name key -> Peer, in join order
        self._teachers = {}  # name key -> Peer, the teachers among them, in join order
        self._look_alikes = {}  # look_alike_key -> Peer, every member
        # look_alike_key -> name, of every teacher who joined in this run: a
        # teacher's window away for a moment comes back to its name.
        self._teacher_names = {}
        self._rules = Rules()
        self._hands_logged = set()  # name keys of the raised hands whose raise the log holds
        self._budget = None  # each source's share of the log (a LogBudget), with a log
        self._text_members = {}  # the members at a terminal, who get text, not the stream
        # The members' names and the JSON members' outboxes, by name key, kept
        # as members come and go: a join copies each at its exact size (at
        # 2000 members, lists grown item by item left megabytes behind in the
        # joining threads' allocator caches).
        self._names = {}
        self._readers = {}
        self.stream = Stream()
        self._fanout = None
        # (id, encoded line without "\n") of each room message and announcement
        self._history = collections.deque(maxlen=history)
        self._cleared_through = None  # the highest id a teacher's clear removed, if any
        self._last_id = 0
        self._max_clients = max_clients
        self._password = password  # compared as sent by nc and older clients
        self._verifier = None  # what proves it without sending it (scram.Verifier)
        if password is not None:
            from ..wire import scram
            self._verifier = scram.Verifier.make(password)
        self._log = None
        if log is not None:
            self.attach_log(log)
        self._closing = False  # shutting down: no more leave notices
        self.console = console  # terminal.console.Console: joins, leaves, warnings
        self._clock = clock
        # What every welcome tells clients to stay within (rate 0: no limit).
        self._limits = limits or limits_field(0, DEFAULT_BURST, DEFAULT_MAX_TEXT_CHARS)
        self.name = name  # the room's name (--room), told in every welcome

    # --- registry -----------------------------------------------------

    def load_history(self, entries, last_id, saved_state=None, cleared_through=None):
        """Seed history, the message counter and the rules from a reloaded log.

        `entries` are messages and announcements; `saved_state` the rules
        and hands the log leaves, as a saved_state record, if any
        (HistoryLog.saved_state; moderation.Rules.restore): the log holds
        the raise of each of those hands; `cleared_through` the newest
        clear's last id, if any.
        """
        with self._lock:
            self._cleared_through = cleared_through
            for frame in entries:
                self._history.append((frame["id"], encode(frame)[:-1]))
            self._last_id = max(self._last_id, last_id)
            if saved_state is not None:
                self._rules.restore(saved_state)
                self._hands_logged = {name_key(hand["name"]) for hand in self._rules.hands()}

    def attach_fanout(self, fanout):
        """Have this Fanout (fanout.py) send the room's frames from now on."""
        with self._lock:
            self._fanout = fanout
            self._update_readers()

    def attach_log(self, log):
        """Hand room events to this LogWriter (log_writer.py) from now on.

        The stream holds each frame back until the log writer releases it;
        each of the log's files starts with the room's snapshot_line().
        """
        with self._lock:
            self._log = log
            self._budget = LogBudget(share_for(log.max_size))
            log.on_release = self.stream.release
            log.snapshot = self.snapshot_line
            self.stream.hold()

    def snapshot_line(self):
        """Return the log's snapshot of the rules and hands now: an encoded saved_state line.

        The log writer's thread calls it (no lock held) to start each file.
        """
        with self._lock:
            record = self._rules.saved_state(self._clock())
        return fit_lists(record, MAX_LOG_LINE_BYTES, SNAPSHOT_CUTS)[1]

    def close_log(self):
        """Stop logging; write what is queued (a bounded wait) and close the log file."""
        with self._lock:
            log, self._log = self._log, None
            self.stream.release_all()
        if log is not None:
            log.close()

    @property
    def max_clients(self):
        return self._max_clients

    @property
    def has_password(self):
        return self._password is not None

    @property
    def verifier(self):
        """Return what proves the room's password (a scram.Verifier), or None without one."""
        return self._verifier

    @property
    def logged(self):
        """Tell whether the room keeps a log (--log): what is said may end in a transcript."""
        return self._log is not None

    def admit(self, peer):
        """Count a new connection in; return None, or why it is refused.

        The answer is "full" (--max-clients) or "per_ip" (--max-per-ip).
        An admitted connection from another computer shares its Machine's
        bucket, unless the server runs with --shared-address.
        """
        loopback = is_loopback(peer.address)
        with self._lock:
            if len(self._connections) >= self._max_clients:
                return "full"
            address = peer.address
            if (self._max_per_ip and self._per_address[address] >= self._max_per_ip
                    and not loopback):
                return "per_ip"
            self._connections.add(peer)
            self._per_address[address] += 1
            if not loopback and not self._shared_address:
                machine = self._machines.get(address)
                if machine is None:
                    machine = self._machines[address] = Machine(self._limits["rate"],
                                                                self._limits["burst"])
                peer.machine, peer.limiter = address, machine.limiter
            return None

    def release(self, peer):
        """Forget a connection that has ended."""
        with self._lock:
            if peer in self._connections:
                self._connections.discard(peer)
                self._per_address[peer.address] -= 1
                if not self._per_address[peer.address]:
                    del self._per_address[peer.address]
                    self._machines.pop(peer.address, None)  # its bucket and names go with it
                if not self._connections:
                    self._emptied.notify_all()

    def wait_empty(self, timeout):
        """Wait until every connection has ended, at most `timeout` seconds; True if so."""
        with self._lock:
            return self._emptied.wait_for(lambda: not self._connections, timeout)

    def connection_count(self):
        with self._lock:
            return len(self._connections)

    def members(self):
        """Return (name, address, joined at) for every member, in join order.

        A teacher's name carries the teacher mark ("lee (teacher)").
        """
        with self._lock:
            return [(peer.name + (text_format.TEACHER_MARK if key in self._teachers else ""),
                     peer.address, peer.since) for key, peer in self._members.items()]

    def users(self):
        """Return the members' names in the order they joined."""
        with self._lock:
            return [peer.name for peer in self._members.values()]

    # --- joining and leaving -----------------------------------------

    def check_password(self, password, address, peer, login=None):
        """Raise bad_password unless the password, or `login`'s proof of it, opens this room.

        `login` is a scram.ServerLogin whose proof frame was taken: then the
        proof is checked, and no password is sent.  The check takes the
        same time whatever is wrong; an address that keeps guessing, one
        try after another or many at once, has its tries checked one at a
        time, slower and slower (access.py).  A try that will wait is told
        so first (password_wait); it leaves its line as soon as `peer`'s
        connection ends.
        """
        if self._password is None:
            return
        if login is not None:
            given, check = login.has_proof("password"), lambda: login.check("password")
        else:
            given, check = bool(password), lambda: self._same(password, self._password)
        if not given:  # nothing to guess with: not counted as a wrong try
            raise ProtocolError("bad_password", PASSWORD_MISSING_MESSAGE)
        if not self.check_slowly(check, address, peer):
            raise ProtocolError("bad_password")

    def compare_slowly(self, given, expected, address, peer):
        """Return whether `given` is the secret `expected`, checked in its address's line."""
        return self.check_slowly(lambda: self._same(given, expected), address, peer)

    @staticmethod
    def _same(given, expected):
        import hmac  # here: it loads OpenSSL (see nonblocking.use_tls), unneeded without a password
        return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))

    def check_slowly(self, check, address, peer):
        """Return what check() says of a password try, run when its turn in its address's line comes.

        Room and teacher passwords, sent or proven, share one line per
        address, so guessing either counts against both (access.PasswordGuard).
        """
        waiter = PasswordTryWait(peer, lambda seconds: self._tell(
            peer, Rendered(password_wait_frame(seconds))))
        try:
            return self._guard.attempt(
                address, check, waiter,
                slowed=lambda address: self.console.info(SLOWDOWN_WORDS % address))
        except PasswordTryAbandoned:
            raise ProtocolError("bad_password", PASSWORD_NOT_CHECKED_MESSAGE)

    @staticmethod
    def _tell(peer, rendered):
        """Send a frame to a connection that has not joined (never under the lock)."""
        if peer.outbox.put(rendered.bytes_for(peer)):
            peer.outbox.flush()

    def join(self, peer, raw_name, password=None, teacher=False, login=None):
        """Add a peer under a name and welcome it; raise ProtocolError if refused.

        `teacher` is what the join proved (handler.py decides it); only a
        JSON connection can be a teacher.  `login`: the join's proofs
        (scram.ServerLogin), checked instead of a password; the welcome then
        carries the room's own proof (server_proof).
        """
        teacher = teacher and peer.wire == "json"
        name = check_name(raw_name)
        self.check_password(password, peer.address, peer, login)
        key, look_alike = name_key(name), look_alike_key(name)
        with self._lock:
            holder = self._members.get(key)
            if holder is not None:
                raise ProtocolError(
                    "name_taken",
                    "The name %s is already in use in this room. Choose another name."
                    % holder.name,
                )
            self._refuse_look_alike(name, look_alike, teacher)
            users = list(self._names.values())
            users.append(name)
            # None, or muted from its machine (True: listed, so the welcome says so)
            muted_too = None if teacher else self._rules.arrived(name, peer.machine)
            extra = self._welcome_fields(name, teacher)
            if login is not None:
                extra["server_proof"] = login.server_proof()
            if peer.wire == "json":
                welcome = Rendered(None, welcome_bytes(
                    name, users, [line for _, line in self._history], self._limits,
                    room=self.name, extra=extra))
            else:
                history = [json.loads(line.decode("utf-8")) for _, line in self._history]
                welcome = Rendered(welcome_frame(name, users, history, self._limits, self.name,
                                                 extra))
            peer.since = self._clock()  # /who counts from the join, not the connection
            notice = Rendered(joined_frame(name, peer.since, teacher))
            flush = [peer]
            overflowed = self._broadcast(notice, flush)
            # The newcomer's welcome comes first; the stream from after its own notice.
            data = welcome.bytes_for(peer)
            peer.outbox.limit = MAX_BACKLOG_BYTES + len(data)
            peer.outbox.put(data)
            peer.name, peer.key, peer.teacher = name, key, teacher
            peer.look_alike = look_alike
            self._members[key] = peer
            self._look_alikes[look_alike] = peer
            if teacher:
                self._teachers[key] = peer
                self._teacher_names[look_alike] = name
            self._names[key] = name
            if peer.wire == "json":
                peer.outbox.follow(self.stream.end)
                self._readers[key] = peer.outbox
                self._update_readers()
            else:
                self._text_members[key] = peer
            log_error = self._append_log(notice, peer)
            if muted_too:  # the muted list grew: everyone's rules, and the log's
                overflowed.update(self._broadcast(
                    Rendered(room_state_frame(self._rules.state(), peer.since)), []))
                log_error = [log_error, self._append_log(Rendered(rule_record(
                    "mute", {"name": name, "machine": peer.machine}, peer.since)))]
            crowd = self._count_in(peer)
        self._after(overflowed, log_error, flush)
        self.console.info("%s joined (%s)%s"
                          % (name, peer.address, " as a teacher" if teacher else ""))
        if muted_too is not None:
            self.console.info(MUTED_ARRIVAL_WORDS % (name, peer.address, name))
        if crowd is not None:
            self.console.info(SHARED_ADDRESS_WORDS % (len(crowd), peer.address, ", ".join(crowd)))
        return name

    def _refuse_look_alike(self, name, look_alike, teacher):
        """Raise name_taken if a name looks like a member's, or a student's like a teacher's.

        A teacher's name stays taken for students all the run (lock held).
        """
        holder = self._look_alikes.get(look_alike)
        if holder is not None:
            raise look_alike_error(name, holder.name, holder.teacher)
        if not teacher and look_alike in self._teacher_names:
            raise look_alike_error(name, self._teacher_names[look_alike], True)

    def _count_in(self, peer):
        """Count a member in its machine (lock held); return its people's names, to ask once.

        The console asks whether the class shares one address when
        SHARED_ADDRESS_PEOPLE different people are in the room from one.
        """
        machine = self._machines.get(peer.machine)  # None: this computer's, or shared
        if machine is None:
            return None
        machine.people[peer.key] = True
        if machine.asked or len(machine.people) < SHARED_ADDRESS_PEOPLE:
            return None
        machine.asked = True
        return [self._names[key] for key in machine.people]

    def _welcome_fields(self, name, teacher):
        """Return what a welcome says of the teacher's room (lock held)."""
        teachers = [peer.name for peer in self._teachers.values()]
        fields = {"role": TEACHER if teacher else STUDENT, "teachers": teachers,
                  "state": self._rules.state(), "logged": self._log is not None}
        if self._cleared_through is not None:  # a window away at the clear learns of it
            fields["cleared_through"] = self._cleared_through
        if teacher:
            teachers.append(name)
            fields["hands"] = self._rules.hands()
        else:
            fields["hand"] = self._rules.raised_at(name) is not None
        return fields

    def leave(self, peer, reason):
        """Remove a member, if it had joined, and tell the others why."""
        with self._lock:
            if peer.key is None or self._members.get(peer.key) is not peer:
                return
            del self._members[peer.key]
            del self._names[peer.key]
            del self._look_alikes[peer.look_alike]
            self._teachers.pop(peer.key, None)
            machine = self._machines.get(peer.machine)
            if machine is not None:
                machine.people.pop(peer.key, None)
            if self._text_members.pop(peer.key, None) is None:
                peer.outbox.follow(None)
                del self._readers[peer.key]
                self._update_readers()
            if self._closing:
                return
            now = self._clock()
            notice = Rendered(left_frame(peer.name, now, reason))
            flush = []
            overflowed = self._broadcast(notice, flush)
            queued = [self._append_log(notice, peer)]
            lowered = self._rules.lower_hand(peer.name)
            if lowered:  # the teachers are told why, in the hand frame
                moved, logged, told = self._hand_moved(peer.name, False, now, peer, reason)
                overflowed.update(moved)
                queued.extend(logged)
                flush.extend(told)
        self._after(overflowed, queued, flush)
        self.console.info("%s %s%s" % (peer.name, text_format.left_words(reason),
                                       HAND_WENT_DOWN if lowered else ""))

    # --- messages -----------------------------------------------------

    def say(self, peer, text, to=None):
        """Relay a checked text from a member, to the room or to one person."""
        # While the fanout is far behind, let it catch up (unless this
        # connection is cut off meanwhile: then there is no one to relay for).
        self.stream.wait_for_space(lambda: peer.reason is not None)
        if peer.reason is not None:
            return
        with self._lock:
            now = self._clock()
            if to is not None:
                target = self._members.get(name_key(to))
                if target is None:
                    raise ProtocolError(
                        "no_such_user",
                        "Nobody called %s is in the room; the message was not sent." % to[:40],
                    )
                self._rules.check_say(peer.name, peer.teacher, now, to_teacher=target.teacher)
                recipients = [peer] if target is peer else [peer, target]
                to = target.name
            else:
                self._rules.check_say(peer.name, peer.teacher, now, key=peer.key,
                                      machine=peer.machine)
                self._rules.said(peer.name, peer.teacher, now, key=peer.key, machine=peer.machine)
            self._last_id += 1
            frame = message_frame(self._last_id, peer.name, text, now, to, peer.teacher)
            message = Rendered(frame, encode_message(frame))
            if to is None:
                recipients = []
                overflowed = self._broadcast(message, recipients)
                self._history.append((self._last_id, message.json_bytes()[:-1]))
            else:
                overflowed = self._put(message, recipients)
            log_error = self._append_log(message, peer)  # private ones too: the teacher's record
        self._after(overflowed, log_error, recipients)
        if to is None and self.watch is not None:
            self.watch(message.frame)

    def announce(self, text):
        """Send the teacher's announcement to every member; return (its id, how many got it).

        Like a room message it is numbered, kept in history and logged, so
        late joiners and a restarted server still have it (and /delete ID
        can remove it).
        """
        with self._lock:
            self._last_id += 1
            notice = Rendered(notice_frame(self._last_id, text, self._clock()))
            flush = []
            overflowed = self._broadcast(notice, flush)
            self._history.append((self._last_id, notice.json_bytes()[:-1]))
            log_error = self._append_log(notice)
            announced = (self._last_id, len(self._members))
        self._after(overflowed, log_error, flush)
        return announced

    # --- the teacher's room -------------------------------------------

    def hands(self):
        """Return the raised hands, oldest first: [{"name": ..., "time": ...}]."""
        with self._lock:
            return self._rules.hands()

    def rules(self):
        """Return the room's rules as room_state carries them."""
        with self._lock:
            return self._rules.state()

    def hand(self, peer, up):
        """Raise or lower a student's hand; teachers and that student are told.

        Raising a raised hand (or lowering a lowered one) changes nothing:
        the student alone is told how it stands.
        """
        if peer.teacher:
            raise ProtocolError("not_student")
        with self._lock:
            now = self._clock()
            changed = (self._rules.raise_hand(peer.name, now) if up
                       else self._rules.lower_hand(peer.name))
            if changed:
                overflowed, queued, recipients = self._hand_moved(peer.name, up, now, peer)
            else:
                when = self._rules.raised_at(peer.name)
                recipients = [peer]
                overflowed = self._put(Rendered(hand_frame(peer.name, up, when or now)),
                                       recipients)
                queued = None
        self._after(overflowed, queued, recipients)
        if changed:
            self.console.info("%s %s their hand" % (peer.name, "raised" if up else "lowered"))

    def _hand_moved(self, name, up, now, source=None, left=None):
        """Tell the teachers and the student that a hand moved; log it (lock held).

        `source` is the student's Peer when they moved it (the log counts
        it in their address's share), `left` the leave reason when it went
        down as they left.  A hand whose raise the log holds is logged going
        down, whatever the share, so that the log never keeps a hand up that
        went down; one whose raise it left out is not.
        Return (overflowed, the log's answers, recipients).
        """
        recipients = list(self._teachers.values())
        key = name_key(name)
        student = self._members.get(key)
        if student is not None:
            recipients.append(student)
        rendered = Rendered(hand_frame(name, up, now, left))
        overflowed = self._put(rendered, recipients)
        queued = None
        if up:
            queued = self._append_log(rendered, source)
            if self._log is not None and not self._is_cut(source):
                self._hands_logged.add(key)
        elif key in self._hands_logged:
            self._hands_logged.discard(key)
            queued = self._append_log(rendered)
        return overflowed, [queued], recipients

    def close_all(self, reason):
        """Send bye to every connection and wake their threads to end."""
        with self._lock:
            queued = []
            if not self._closing:  # the log says who was in the room: no one leaves after this
                now = self._clock()
                for record, words in (self._budget.summaries(now) if self._budget else ()):
                    queued.append(self._append_log(Rendered(record), warning=words))
                queued.append(self._append_log(Rendered(*fit_lists(
                    stopped_record(list(self._names.values()), now), MAX_LOG_LINE_BYTES,
                    STOPPED_CUTS))))
            self._closing = True
            peers = list(self._connections)
            overflowed = self._put(Rendered(bye_frame(reason)), peers)
            for peer in peers:
                peer.outbox.stop_at(self.stream.end)  # bye is its last frame
        self._after(overflowed, queued, peers)
        for peer in peers:
            peer.end("disconnected")  # wakes a held-back reader; the bye still goes out
        return peers

    # --- internals ----------------------------------------------------

    def _broadcast(self, rendered, flush):
        """Queue a frame for every member (lock held); return those past their limit.

        The frame goes once into the stream; members at a terminal get its
        text in their outboxes, and are added to `flush`.
        """
        self.stream.append(rendered.json_bytes())
        if not self._text_members:
            return {}  # every member reads the stream (programs, the usual room)
        # A member at a terminal that is ending (kicked: its bye is queued) gets nothing more.
        text_members = [peer for peer in self._text_members.values() if peer.reason is None]
        flush.extend(text_members)
        return self._put(rendered, text_members)

    def _put(self, rendered, peers):
        """Queue a frame for these peers alone (lock held); return those past their limit."""
        overflowed = {}
        for peer in peers:
            data = rendered.bytes_for(peer)
            if data and not peer.outbox.put(data):
                overflowed[id(peer)] = peer
        return overflowed

    def _append_log(self, rendered, source=None, warning=None):
        """Queue a frame, just appended to the stream, for the log writer (lock held).

        Memory only, in the room's order; the stream holds the frame until
        the log writer releases it.  `source` is the member who caused it,
        if a student: it is logged within their address's share of the log
        (log_budget.py), or a record of the cut, or a summary, takes its
        place, or nothing.  `warning` is for the console.  Return what the
        log writer made of it (a log_writer.Queued), or None.
        """
        if self._log is None:
            return None
        line = rendered.json_bytes()
        if source is not None and not source.teacher and not source.local:
            keep, record, words = self._budget.take(source.address, len(line), self._clock())
            if not keep:
                if record is None:
                    return self._log.skip(self.stream.end)
                line, warning = encode(record), words
        return self._log.put(line, self.stream.end, warning)

    def _is_cut(self, source):
        """Tell whether the log no longer keeps what this member causes (lock held)."""
        return (source is not None and self._budget is not None
                and self._budget.is_cut(source.address))

    def _after(self, overflowed, queued, recipients):
        """Do the I/O that must not happen under the lock.

        `queued` is the log writer's answer for the frame (or a list of
        them, for frames logged in order): a warning goes to the console,
        and the fanout is woken once the last line is written or given up
        on (at most KEEP_UP_SECONDS; see log_writer.py): until then the
        stream holds the frames, and whatever follows them.
        """
        last = None
        for answer in queued if isinstance(queued, list) else (queued,):
            if answer is not None:
                if answer.warning:
                    self.console.error(answer.warning)
                last = answer
        if last is not None:
            last.wait_released()
        for peer in recipients:
            if id(peer) not in overflowed:
                peer.outbox.flush()
        self._fanout.deliver()
        for peer in overflowed.values():
            peer.outbox.on_overflow()

    def _update_readers(self):
        """Tell the fanout which outboxes read the stream (lock held)."""
        if self._fanout is not None:
            self._fanout.set_members(tuple(self._readers.values()))
