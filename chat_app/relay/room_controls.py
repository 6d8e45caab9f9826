"""What a teacher does to the room: its controls (mute, lock, slow mode, hands,
delete, clear, kick, announce) from a teacher's window or the console.

`RoomControls` is the part of relay.room.Room that carries out a teacher's
`control` frame (CONTROLS, `apply_control`) and `kick`.  It holds no state
of its own: each method works on the Room's registry, rules and history
under the Room's lock, and hands what it queued to the Room's `_after`,
as the Room's own methods do.
"""

import json
import time

from ..wire import text_format
from ..wire.protocol import (
    CONTROL_ACTIONS,
    ProtocolError,
    bye_frame,
    clean_text,
    cleared_frame,
    counted,
    deleted_frame,
    hand_frame,
    hands_lowered_frame,
    room_notice_frame,
    room_state_frame,
)
from ..wire.names import name_key
from ..wire.records import kick_record, rule_record
from .moderation import DEFAULT_KICK_REASON, Member
from .peer import Rendered


def deleted_words(frame):
    """Return the notice for a deleted message or announcement, by whose and when it was.

    Not by id: people never see ids, only the teacher's console does.
    """
    sent = time.strftime("%H:%M", time.localtime(frame["time"]))
    if frame.get("type") == "message":
        return "The teacher deleted a message from %s (sent at %s)." % (frame["from"], sent)
    return "The teacher deleted an announcement (made at %s)." % sent


class RoomControls:
    """A teacher's controls of the Room, and kick (a part of relay.room.Room: its state)."""

    # What carries out each `control` action (method names), teacher's only.
    CONTROLS = {
        "mute": "_change_rules", "unmute": "_change_rules", "lock": "_change_rules",
        "unlock": "_change_rules", "slow": "_change_rules", "private": "_change_rules",
        "lower": "_lower", "lower_all": "_lower_all", "delete": "_delete", "clear": "_clear",
        "kick": "_kick_by_control", "announce": "_announce_by_control",
    }

    def control(self, peer, frame):
        """Carry out a teacher's `control` frame; a student's is refused (not_teacher)."""
        if not peer.teacher:
            raise ProtocolError("not_teacher")
        return self.apply_control(frame)

    def apply_control(self, frame):
        """Carry out a control (from a teacher, or the console); return what was done in words.

        None: it changed nothing.  Raises ProtocolError (bad_control,
        no_such_user, no_such_message ...).
        """
        method = self.CONTROLS.get(frame["action"])
        if method is None:
            raise ProtocolError("bad_control", "Unknown room control %r; the controls are: %s."
                                % (frame["action"][:40], ", ".join(sorted(CONTROL_ACTIONS))))
        words = getattr(self, method)(frame)
        if words is not None:
            self.console.info(words)
        return words

    def _member(self, name):
        """Return a member's moderation.Member, or None (lock held)."""
        peer = self._members.get(name_key(name))
        if peer is None:
            return None
        machine = self._machines.get(peer.machine)
        neighbours = () if machine is None else tuple(
            self._members[key].name for key in machine.people
            if key != peer.key and not self._members[key].teacher)
        return Member(peer.name, peer.teacher, peer.machine, neighbours)

    def _change_rules(self, frame):
        with self._lock:
            change = self._rules.apply(frame, self._member)
            if change is None:
                return None
            now = self._clock()
            overflowed, queued, flush = self._to_everyone(
                [(self._room_notice(change.words, change.about, now), True),
                 (Rendered(room_state_frame(self._rules.state(), now)), False)],
                [rule_record(change.about, change.fields, now)])
        self._after(overflowed, queued, flush)
        return change.words

    def _lower(self, frame):
        with self._lock:
            name = self._rules.lower(frame["name"], self._member)
            overflowed, queued, recipients = self._hand_moved(name, False, self._clock())
        self._after(overflowed, queued, recipients)
        return "The teacher lowered %s's hand." % name

    def _lower_all(self, frame):
        """Lower every hand: each student gets their `hand`, each teacher one hands_lowered."""
        with self._lock:
            names = self._rules.lower_all()
            if not names:
                raise ProtocolError("bad_control", "No hand is up: there is nothing to lower.")
            now = self._clock()
            students = [self._members[key] for key in map(name_key, names) if key in self._members]
            overflowed = {}
            for student in students:
                overflowed.update(self._put(Rendered(hand_frame(student.name, False, now)),
                                            [student]))
            teachers = list(self._teachers.values())
            lowered = Rendered(hands_lowered_frame(len(names), now))
            overflowed.update(self._put(lowered, teachers))
            queued = self._append_log(lowered)
            self._hands_logged.clear()
        self._after(overflowed, queued, students + teachers)
        return "The teacher lowered every raised hand (%s)." % counted(len(names), "hand")

    def _delete(self, frame):
        wanted = frame["id"]
        with self._lock:
            place = next((index for index, (id_, _) in enumerate(self._history)
                          if id_ == wanted), None)
            if place is None:
                raise ProtocolError("no_such_message", "There is no message #%d in the room's "
                                    "history: it may have been deleted or cleared already."
                                    % wanted)
            gone = json.loads(self._history[place][1].decode("utf-8"))
            del self._history[place]
            now = self._clock()
            words = deleted_words(gone)
            overflowed, queued, flush = self._to_everyone(
                [(Rendered(deleted_frame(wanted, now)), True),
                 (self._room_notice(words, "delete", now), True)])
        self._after(overflowed, queued, flush)
        return words

    def _clear(self, frame):
        with self._lock:
            self._history.clear()
            self._cleared_through = self._last_id
            now = self._clock()
            words = "The teacher cleared the conversation: earlier messages are gone for everyone."
            overflowed, queued, flush = self._to_everyone(
                [(Rendered(cleared_frame(now, self._cleared_through)), True),
                 (self._room_notice(words, "clear", now), True)])
        self._after(overflowed, queued, flush)
        return words

    def _kick_by_control(self, frame):
        reason = (frame.get("reason") or "").strip() or DEFAULT_KICK_REASON
        name = self.kick(frame["name"], reason)
        if name is None:
            raise ProtocolError("no_such_user",
                                "Nobody called %s is in the room." % frame["name"][:40])
        return "The teacher removed %s from the room (%s)." % (name, reason)

    def _announce_by_control(self, frame):
        text = clean_text(frame["text"], self._limits["max_text"])
        id_, count = self.announce(text)
        return "The teacher announced #%d to %s: %s" % (id_, text_format.people(count), text)

    def _room_notice(self, words, about, now):
        """Return a numbered notice of a change of the room (lock held); not history."""
        self._last_id += 1
        return Rendered(room_notice_frame(self._last_id, words, now, about))

    def _to_everyone(self, frames, records=()):
        """Queue (Rendered, logged) pairs for every member and log records (lock held).

        Return (overflowed, the log's answers, who to flush).
        """
        overflowed, queued, flush = {}, [], []
        for rendered, logged in frames:
            overflowed.update(self._broadcast(rendered, [] if flush else flush))
            if logged:
                queued.append(self._append_log(rendered))
        queued.extend(self._append_log(Rendered(record)) for record in records)
        return overflowed, queued, flush

    def kick(self, name, reason):
        """End a member's connection with bye(reason); return its name, or None.

        Its connection thread then leaves the room with reason "kicked".
        """
        with self._lock:
            peer = self._members.get(name_key(name))
            if peer is None or not peer.end("kicked"):
                return None
            overflowed = self._put(Rendered(bye_frame(reason, kicked=True)), [peer])
            peer.outbox.stop_at(self.stream.end)  # bye is its last frame
            queued = self._append_log(Rendered(kick_record(peer.name, reason, self._clock())))
        self._after(overflowed, queued, [peer])
        peer.stop_reading()  # wake its thread; sending goes on
        return peer.name
