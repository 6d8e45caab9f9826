"""The room's rules and raised hands, with no I/O of its own.

`Rules` holds what a teacher decided (muted names, a locked room, slow
mode, private messages between students on or off) and the raised hands in
the order they went up.  The room asks it, under the room's lock, whether a
say may go (`check_say`, which raises the refusal), tells it when a
student's room message went (`said`), and applies the rule-changing
`control` actions through a table (`apply`), which answer with a `Change`:
the notice's words and what it set, or None when nothing changed.
`saved_state()` is the log's snapshot of it all, which starts each log
file; after it the log holds what changed (`hand` frames, `rule` and
`hands_lowered` records), and at start `restore()` takes the newest
snapshot back and `replay()` each later change, in order.  Every change
sets a value rather than toggling one, so replaying one the snapshot
already holds changes nothing.  Names are compared by names.name_key, so
muting lasts across leaving, a rejoin and a restart.

A sanction follows the computer, not only the name: a member from another
computer than this one has a `machine` (its address; None for this
computer, or for every member under --shared-address).  Muting such a
member mutes their machine: the other names present from it, and any
name that joins from it later (`arrived`), are muted and listed too, and
unmuting any of them unmutes the machine.  Slow mode times a machine's
room messages together.  The muted machines' addresses are the server's
own: saved_state() and the `rule` records keep them for a restart,
state() (which clients get) never.  Tests drive it with a fake clock
(tests/relay/test_moderation.py); no socket, no thread.
"""

import collections
import math

from ..wire.names import name_key
from ..wire.protocol import (
    MAX_SLOW_SECONDS,
    ProtocolError,
    slow_mode_error,
    slow_rule,
)

# What a kick from a control or the console says when no reason is given.
DEFAULT_KICK_REASON = "no reason given"

# How the room may be reached privately, in the notices that close a way.
TO_TEACHER = "Private messages to and from the teacher still go."

# Names in the muted list at most.  A class mutes a handful of students;
# every room_state and welcome carries the list, and 100 names of at most
# protocol.MAX_NAME_CHARS (32) characters, 4 bytes each in UTF-8, keep it
# within 13 KB, far below the 64 KiB of a line.
MAX_MUTED = 100

# Names of one muted computer that join the muted list at most (the one the
# teacher muted, then names present from it or joining from it later).  A
# student who rejoins under a new name or two is seen; a script rejoining
# under hundreds fills no list, and is muted by its address all the same.
MUTED_NAMES_PER_MACHINE = 5

# What muting is refused with once the list is full.
MUTED_LIST_FULL = ("The muted list is full (%d names): unmute someone first, or remove a "
                   "student with /kick." % MAX_MUTED)

# A rule change: `about` names it (mute, lock ...: the control's action),
# `words` say it in its notice, `fields` are what it set, for the log's
# `rule` record (wire.records.rule_record).
Change = collections.namedtuple("Change", "about words fields")

# A member as the rules see it: the name as joined, whether a teacher, the
# machine (address) sanctions follow, or None, and the names of the other
# students present from that machine.
Member = collections.namedtuple("Member", "name teacher machine neighbours")
Member.__new__.__defaults__ = (None, ())

# Whose room messages slow mode times, when they come from a machine (a
# name key is a plain string: "198.18.0.5" is a valid name, too).
MACHINE = "machine"


class Rules:
    """The rules a teacher set, and the raised hands, of one room."""

    def __init__(self):
        self.locked = False
        self.slow = 0  # seconds between one student's room messages; 0: off
        self.private = True  # students may message each other privately
        self._muted = collections.OrderedDict()  # name key -> name as muted, in that order
        # machine (address) -> the keys of its names in _muted, the one the teacher muted first
        self._muted_machines = collections.OrderedDict()
        self._hands = collections.OrderedDict()  # name key -> (name, time), in order raised
        self._last_said = {}  # name key, or (MACHINE, address) -> when its last room message went

    # --- what the room asks ------------------------------------------

    def state(self):
        """Return the rules as room_state and welcome.state carry them."""
        return {"locked": self.locked, "slow": self.slow, "private": self.private,
                "muted": list(self._muted.values())}

    def hands(self):
        """Return the raised hands, oldest first: [{"name": ..., "time": ...}]."""
        return [{"name": name, "time": when} for name, when in self._hands.values()]

    def raised_at(self, name):
        """Return when this student's hand went up, or None if it is down."""
        hand = self._hands.get(name_key(name))
        return None if hand is None else hand[1]

    def is_muted(self, name):
        return name_key(name) in self._muted

    def check_say(self, name, teacher, now, to_teacher=None, key=None, machine=None):
        """Raise the refusal of a say, if any.

        `to_teacher` is None for a say to the room, else whether its
        private recipient is a teacher.  Teachers' says always go.
        `key` is the name's name_key(), if the caller has it already;
        `machine` the sender's, if sanctions follow it.
        """
        if teacher:
            return
        if to_teacher is not None:
            if not to_teacher and not self.private:
                raise ProtocolError("private_off")
            return
        if key is None:
            key = name_key(name)
        if key in self._muted or (machine is not None and machine in self._muted_machines):
            raise ProtocolError("muted")
        if self.locked:
            raise ProtocolError("locked")
        last = self._last_said.get(key if machine is None else (MACHINE, machine))
        if self.slow and last is not None and now < last + self.slow:
            raise slow_mode_error(self.slow, max(1, int(math.ceil(last + self.slow - now))))

    def said(self, name, teacher, now, key=None, machine=None):
        """Note that a member's room message went (slow mode counts from it, for its machine)."""
        if teacher:
            return
        if machine is not None:
            self._last_said[(MACHINE, machine)] = now
        else:
            self._last_said[name_key(name) if key is None else key] = now

    def arrived(self, name, machine):
        """Mute a student who joins from a muted machine; return None, or whether listed.

        True: the name joins the muted list (the room tells everyone the
        rules changed); False: it is muted by its machine alone, the list
        having no room for it (MUTED_NAMES_PER_MACHINE, MAX_MUTED).
        """
        if machine is None or machine not in self._muted_machines:
            return None
        key = name_key(name)
        if key in self._muted:
            return None  # muted already, by name
        return self._list_with(machine, key, name)

    def raise_hand(self, name, now):
        """Raise a student's hand; return True if it was down (a raised hand keeps its place)."""
        key = name_key(name)
        if key in self._hands:
            return False
        self._hands[key] = (name, now)
        return True

    def lower_hand(self, name):
        """Lower a student's hand; return True if it was up."""
        return self._hands.pop(name_key(name), None) is not None

    def lower_all(self):
        """Lower every raised hand (control `lower_all`); return their names, oldest first."""
        names = [name for name, _ in self._hands.values()]
        self._hands.clear()
        return names

    # --- the teacher's controls --------------------------------------

    def apply(self, frame, member):
        """Apply a rule-changing control; return its Change, or None if nothing changed.

        `member(name)` returns (name as joined, is a teacher) for a member,
        or None.  Raises ProtocolError (bad_control, no_such_user).
        """
        return RULE_ACTIONS[frame["action"]](self, frame, member)

    def _mute(self, frame, member):
        found = _present_member(frame["name"], member)
        name = found.name
        if found.teacher:
            raise ProtocolError("bad_control", "%s is a teacher; teachers cannot be muted." % name)
        key = name_key(name)
        if key in self._muted:
            return None
        if len(self._muted) >= MAX_MUTED:
            raise ProtocolError("bad_control", MUTED_LIST_FULL)
        self._muted[key] = name
        fields = {"name": name}
        if found.machine is None:
            return Change("mute", "The teacher muted %s: %s's messages to the room are not sent "
                                  "until the teacher unmutes them." % (name, name), fields)
        self._muted_machines.setdefault(found.machine, []).append(key)
        also = [other for other in found.neighbours if name_key(other) not in self._muted
                and self._list_with(found.machine, name_key(other), other)]
        fields.update(machine=found.machine, also=also)
        if not also:
            return Change("mute", "The teacher muted %s: messages to the room from %s's "
                                  "computer, under any name, are not sent until the teacher "
                                  "unmutes them." % (name, name), fields)
        return Change("mute", "The teacher muted %s, and %s on the same computer: their "
                              "messages to the room are not sent until the teacher unmutes them."
                      % (name, _joined(also)), fields)

    def _unmute(self, frame, member):
        key = name_key(frame["name"])
        machine = next((machine for machine, keys in self._muted_machines.items()
                        if key in keys), None)
        if machine is None and key not in self._muted:
            found = _present_member(frame["name"], member)  # a muted name may be unmuted while away
            if found.machine not in self._muted_machines:
                return None
            machine = found.machine  # muted by its machine alone, not listed
        names = self._unmute_keys(key, machine)
        fields = {"name": frame["name"] if not names else names[0]}
        if machine is not None:
            fields["machine"] = machine
        if len(names) <= 1:
            name = fields["name"]
            return Change("unmute", "The teacher unmuted %s: %s can write to the room again."
                          % (name, name), fields)
        return Change("unmute", "The teacher unmuted %s (one computer): they can write to the "
                                "room again." % _joined(names), fields)

    def _unmute_keys(self, key, machine):
        """Unmute a name, or with its machine every name muted with it; return their names."""
        keys = [key] if machine is None else self._muted_machines.pop(machine, [key])
        return [self._muted.pop(each) for each in keys if each in self._muted]

    def _list_with(self, machine, key, name):
        """List a name muted with its machine while the lists have room; return whether listed."""
        keys = self._muted_machines[machine]
        if len(keys) >= MUTED_NAMES_PER_MACHINE or len(self._muted) >= MAX_MUTED:
            return False
        keys.append(key)
        self._muted[key] = name
        return True

    def _lock(self, frame, member):
        return self._set_locked(True, Change(
            "lock", "The teacher locked the room: only the teacher writes to the room now. "
                    "Students can still send the teacher a private message.", {}))

    def _unlock(self, frame, member):
        return self._set_locked(False, Change(
            "unlock", "The teacher unlocked the room: everyone can write to the room again.", {}))

    def _set_locked(self, locked, change):
        if self.locked == locked:
            return None
        self.locked = locked
        return change

    def _slow(self, frame, member):
        seconds = frame["seconds"]
        if not 0 <= seconds <= MAX_SLOW_SECONDS:
            raise ProtocolError("bad_control", "Slow mode takes 0 (off) to %d seconds, not %d."
                                % (MAX_SLOW_SECONDS, seconds))
        if seconds == self.slow:
            return None
        self.slow = seconds
        fields = {"seconds": seconds}
        if not seconds:
            return Change("slow", "The teacher turned slow mode off: write as often as you "
                                  "like.", fields)
        return Change("slow", "The teacher turned slow mode on: %s." % slow_rule(seconds), fields)

    def _private(self, frame, member):
        allowed = frame["allowed"]
        if allowed == self.private:
            return None
        self.private = allowed
        fields = {"allowed": allowed}
        if allowed:
            return Change("private", "The teacher turned private messages between students "
                                     "back on.", fields)
        return Change("private", "The teacher turned private messages between students off. "
                      + TO_TEACHER, fields)

    def lower(self, raw_name, member):
        """Lower a raised hand for a teacher (control `lower`); return the student's name.

        Raises bad_control when that hand is not up (no_such_user when
        nobody has the name).
        """
        key = name_key(raw_name)
        if key not in self._hands:
            name = _present(raw_name, member)
            raise ProtocolError("bad_control", "%s's hand is not up." % name)
        return self._hands.pop(key)[0]

    # --- the log ------------------------------------------------------

    def saved_state(self, now):
        """Return the log's saved_state record (`type` first: the reload looks for it so).

        Besides what clients are told, it keeps the muted machines, each
        with the names muted with it (`muted_machines`).  It is the snapshot
        that starts each log file: the rules and the hands, at most one per
        student in the room (or in it at the last stop).
        """
        record = {"type": "saved_state"}
        record.update(self.state())
        record["muted_machines"] = [
            {"address": machine, "names": [self._muted[key] for key in keys]}
            for machine, keys in self._muted_machines.items()]
        record["hands"] = self.hands()
        record["time"] = now
        return record

    def restore(self, record):
        """Take the rules and hands back from a saved_state record; skip what is malformed."""
        self.locked = record.get("locked") is True
        self.private = record.get("private") is not False
        slow = record.get("slow")
        self.slow = slow if _is_int(slow) and 0 <= slow <= MAX_SLOW_SECONDS else 0
        self._muted.clear()
        for name in _list(record.get("muted"))[:MAX_MUTED]:
            if isinstance(name, str):
                self._muted[name_key(name)] = name
        self._muted_machines.clear()
        claimed = set()  # a name is muted with one machine at most
        for machine in _list(record.get("muted_machines")):
            if not isinstance(machine, dict) or not isinstance(machine.get("address"), str):
                continue
            keys = []
            for name in _list(machine.get("names")):
                key = name_key(name) if isinstance(name, str) else None
                if key in self._muted and key not in claimed:
                    claimed.add(key)
                    keys.append(key)
            if keys:  # unmuting one of its names unmutes it: one at least is listed
                self._muted_machines[machine["address"]] = keys
        self._hands.clear()
        for hand in _list(record.get("hands")):
            if (isinstance(hand, dict) and isinstance(hand.get("name"), str)
                    and _is_number(hand.get("time"))):
                self._hands[name_key(hand["name"])] = (hand["name"], hand["time"])

    def replay(self, record):
        """Apply one logged record that followed the snapshot (REPLAYS); skip a malformed one.

        A snapshot (saved_state) is taken back whole; other records are
        passed over.
        """
        replay = REPLAYS.get(record.get("type")) if isinstance(record, dict) else None
        if replay is not None:
            replay(self, record)

    def _replay_hand(self, record):
        """A `hand` frame: the hand is up since its time, or down."""
        name, when = record.get("name"), record.get("time")
        if not isinstance(name, str) or not isinstance(record.get("up"), bool) \
                or not _is_number(when):
            return
        key = name_key(name)
        if not record["up"]:
            self._hands.pop(key, None)
        elif key not in self._hands or self._hands[key][1] != when:
            self._hands.pop(key, None)  # raised again since: its place is at the end
            self._hands[key] = (name, when)

    def _replay_lowered(self, record):
        """A teacher lowered every hand (`hands_lowered`)."""
        self._hands.clear()

    def _replay_stopped(self, record):
        """The server stopped: the hands of those not in the room then went down with them.

        A stopped record cut to fit (more_names) cannot say who was not
        there: it lowers nothing.
        """
        names = record.get("names")
        if not isinstance(names, list) or record.get("more_names"):
            return
        present = {name_key(name) for name in names if isinstance(name, str)}
        for key in [key for key in self._hands if key not in present]:
            del self._hands[key]

    def _replay_rule(self, record):
        """A `rule` record: a rule-changing control as it was applied (RULE_REPLAYS)."""
        replay = RULE_REPLAYS.get(record.get("action"))
        if replay is not None:
            replay(self, record)

    def _replay_mute(self, record):
        """A name muted, with its machine and the names on it listed `also`, if any."""
        if not isinstance(record.get("name"), str):
            return
        machine = record.get("machine")
        names = [record["name"]] + [name for name in _list(record.get("also"))
                                    if isinstance(name, str)]
        for name in names:
            key = name_key(name)
            self._muted.setdefault(key, name)
            if isinstance(machine, str):
                keys = self._muted_machines.setdefault(machine, [])
                if key not in keys:
                    keys.append(key)

    def _replay_unmute(self, record):
        """A name unmuted, with its machine (and so every name muted with it), if any."""
        if not isinstance(record.get("name"), str):
            return
        key, machine = name_key(record["name"]), record.get("machine")
        if not isinstance(machine, str):
            machine = next((machine for machine, keys in self._muted_machines.items()
                            if key in keys), None)
        self._unmute_keys(key, machine)

    def _replay_lock(self, record):
        self.locked = True

    def _replay_unlock(self, record):
        self.locked = False

    def _replay_slow(self, record):
        seconds = record.get("seconds")
        if _is_int(seconds) and 0 <= seconds <= MAX_SLOW_SECONDS:
            self.slow = seconds

    def _replay_private(self, record):
        if isinstance(record.get("allowed"), bool):
            self.private = record["allowed"]


def _present(name, member):
    """Return a member's name as joined; raise no_such_user if nobody has it."""
    return _present_member(name, member).name


def _present_member(name, member):
    """Return a member's Member; raise no_such_user if nobody has the name."""
    found = member(name)
    if found is None:
        raise ProtocolError("no_such_user", "Nobody called %s is in the room." % name[:40])
    return Member(*found)


def _joined(names):
    """Return names in words: amy, bob and carl."""
    return names[0] if len(names) == 1 else "%s and %s" % (", ".join(names[:-1]), names[-1])


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _list(value):
    return value if isinstance(value, list) else []


# The control actions that change the rules (the room does the others:
# lower, lower_all, delete, clear, kick, announce).
RULE_ACTIONS = {
    "mute": Rules._mute,
    "unmute": Rules._unmute,
    "lock": Rules._lock,
    "unlock": Rules._unlock,
    "slow": Rules._slow,
    "private": Rules._private,
}

# What each logged record after the snapshot does to the rules and hands, at start.
REPLAYS = {
    "saved_state": Rules.restore,
    "hand": Rules._replay_hand,
    "hands_lowered": Rules._replay_lowered,
    "stopped": Rules._replay_stopped,
    "rule": Rules._replay_rule,
}

# How each `rule` record's action is replayed: as RULE_ACTIONS applied it.
RULE_REPLAYS = {
    "mute": Rules._replay_mute,
    "unmute": Rules._replay_unmute,
    "lock": Rules._replay_lock,
    "unlock": Rules._replay_unlock,
    "slow": Rules._replay_slow,
    "private": Rules._replay_private,
}
