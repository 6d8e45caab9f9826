"""The connection's life (chat_app/relay/session.py), driven by events and a fake clock: no sockets."""

import pytest

from chat_app.relay import session as life
from chat_app.wire.protocol import ProtocolError
from chat_app.wire.rate_limit import SharedRateLimiter
from chat_app.relay.session import Session

JOIN = b'{"type":"join","name":"amy"}'


def new(**options):
    settings = dict(join_timeout=30.0, ping_interval=60.0, ping_timeout=30.0, rate=5.0,
                    burst=20)
    settings.update(options)
    return Session(0.0, **settings)


def kinds(actions):
    return [kind for kind, _ in actions]


def refused_with(actions):
    (kind, error), = actions
    assert kind == life.REFUSE
    return error


def logged_in(session, line=JOIN, now=0.1):
    session.first_byte(line[0], now)
    session.received(line + b"\n", now)
    assert session.next_line() == line
    return session.joined(now)


def test_every_transition_leads_to_a_known_state():
    states = {life.CLASSIFYING, life.HANDSHAKING, life.LOGGING_IN, life.PROVING, life.PASSWORD,
              life.CHATTING, life.HELD_BACK, life.CLOSING, life.DONE}
    assert {state for state, _ in life.TRANSITIONS} <= states
    assert set(life.TRANSITIONS.values()) <= states
    assert all((state, life.ENDED) in life.TRANSITIONS for state in states - {life.DONE})


def challenged(session, now=0.1):
    """Take a join with a nonce and challenge it; return the actions of the challenge."""
    line = b'{"type":"join","name":"amy","nonce":"n"}'
    session.first_byte(line[0], now)
    session.received(line + b"\n", now)
    assert session.next_line() == line
    return session.challenged({"type": "challenge"}, now)


def test_a_challenged_join_reads_its_proof_then_joins():
    session = new()
    assert challenged(session) == [(life.SEND, {"type": "challenge"})]
    assert session.state == life.PROVING and session.reading
    session.received(b'{"type":"proof","binding":"b"}\n', 0.2)
    assert session.next_line() == b'{"type":"proof","binding":"b"}'
    session.joined(0.3)
    assert session.state == life.CHATTING
    assert life.JOIN_TIMER not in session.timers


def test_the_join_timeout_covers_the_proof():
    session = new(join_timeout=5.0)
    challenged(session)
    assert session.next_deadline() == 5.0  # the challenge starts no new clock
    error = refused_with(session.expire(5.0))
    assert error.code == "join_timeout" and session.state == life.CLOSING
    assert session.wire == life.JSON


def test_a_proving_join_cannot_be_challenged_twice_nor_asked_a_password():
    session = new()
    challenged(session)
    with pytest.raises(life.SessionError):
        session.challenged({"type": "challenge"}, 0.2)
    with pytest.raises(life.SessionError):
        session.password_asked(0.2)
    assert refused_with(session.fatal(ProtocolError("bad_binding"))).code == "bad_binding"
    assert session.state == life.CLOSING


def test_an_event_with_no_transition_is_a_bug_not_a_silent_change():
    session = new()
    with pytest.raises(life.SessionError):
        session.joined(0.0)  # nobody can join before a byte was read


def test_a_silent_connection_is_prompted_after_the_delay_only():
    session = new()
    assert session.reading and not session.peeking  # a plain server reads the first byte
    assert session.expire(0.99) == []
    assert session.expire(1.0) == [(life.PROMPT, life.PROMPT_NAME)]
    assert session.state == life.LOGGING_IN and session.reading


def test_a_join_timeout_shorter_than_the_prompt_delay_fires_first():
    session = new(join_timeout=0.3)
    assert session.next_deadline() == 0.3
    error = refused_with(session.expire(0.3))
    assert error.code == "join_timeout" and "0.3 seconds" in error.message
    assert session.wire == life.TEXT and session.state == life.CLOSING


def test_the_first_line_tells_a_program_from_a_person():
    program, person = new(), new()
    logged_in(program)
    assert program.wire == life.JSON and program.state == life.CHATTING
    person.first_byte(ord("a"), 0.1)
    person.received(b"amy\n", 0.1)
    assert person.next_line() == b"amy"
    assert person.wire == life.TEXT
    assert life.PROMPT_TIMER not in person.timers  # a person who typed is not prompted


def test_a_full_room_refuses_a_program_in_json_and_a_person_in_words():
    full = ProtocolError("server_full")
    program = new(refusal=full)
    assert refused_with(program.first_byte(ord("{"), 0.1)) is full
    assert program.wire == life.JSON
    typist = new(refusal=full)
    refused_with(typist.first_byte(ord("a"), 0.1))
    assert typist.wire == life.TEXT
    silent = new(refusal=full)
    assert silent.expire(0.99) == []
    assert refused_with(silent.expire(1.0)) is full
    assert silent.wire == life.TEXT


def test_an_encrypted_server_handshakes_or_explains():
    tls = new(tls=True)
    assert tls.peeking and not tls.reading  # the handshake must find its first byte
    assert tls.first_byte(0x16, 0.1) == [(life.START_TLS, None)]
    assert tls.state == life.HANDSHAKING and not tls.reading and not tls.peeking
    assert tls.next_deadline() == 30.0  # the handshake has the join timeout, not the prompt's 1 s
    assert tls.handshake_done(0.2) == []
    assert tls.state == life.LOGGING_IN
    plain_program = new(tls=True)
    assert refused_with(plain_program.first_byte(ord("{"), 0.1)).code == "tls_required"
    assert plain_program.wire == life.JSON
    person = new(tls=True)
    error = refused_with(person.expire(1.0))
    assert error.code == "tls_required" and "'python3 chat.pyz client --tls" in error.message
    assert "(on Windows: 'py chat.pyz client --tls" in error.message
    assert person.wire == life.TEXT
    failed = new(tls=True)
    failed.first_byte(0x16, 0.1)
    assert failed.handshake_failed(0.5) == [] and failed.state == life.DONE


def test_a_full_encrypted_room_refuses_after_the_handshake():
    session = new(tls=True, refusal=ProtocolError("server_full"))
    session.first_byte(0x16, 0.1)
    assert refused_with(session.handshake_done(0.2)).code == "server_full"
    assert session.wire == life.JSON


def test_a_plain_server_refuses_a_tls_hello():
    session = new()
    assert refused_with(session.received(b"\x16\x03\x01", 0.1)).code == "tls_unavailable"
    assert session.queued == 0  # a refused connection's bytes are not lines


def test_a_plain_server_classifies_by_the_first_read():
    program = new()
    assert program.received(JOIN + b"\n", 0.1) == []
    assert program.state == life.LOGGING_IN and program.next_line() == JOIN
    assert program.wire == life.JSON


def test_a_person_may_try_names_until_the_join_timeout_and_each_prompt_restarts_it():
    session = new(join_timeout=10.0)
    session.first_byte(ord("b"), 0.0)
    session.received(b"bad!\n", 0.0)
    assert session.next_line() == b"bad!"
    now = 0.0
    for _ in range(10):
        now += 9.0  # each answer comes just inside the join timeout
        assert session.expire(now) == []
        actions = session.login_refused(ProtocolError("bad_name"), now)
        assert actions[-1] == (life.PROMPT, life.PROMPT_ANOTHER_NAME)
        assert session.state == life.LOGGING_IN
    assert refused_with(session.expire(now + 10.0)).code == "join_timeout"


def test_a_person_is_asked_for_the_password_again_when_it_is_wrong():
    session = new()
    session.first_byte(ord("a"), 0.0)
    assert session.password_asked(1.0) == [(life.PROMPT, life.PROMPT_PASSWORD)]
    assert session.state == life.PASSWORD
    actions = session.login_refused(ProtocolError("bad_password"), 2.0)
    assert actions == [(life.PROMPT, "! " + ProtocolError("bad_password").message),
                       (life.PROMPT, life.PROMPT_PASSWORD)]
    assert session.state == life.PASSWORD
    session.login_refused(ProtocolError("name_taken"), 3.0)
    assert session.state == life.LOGGING_IN


def test_a_member_is_pinged_after_the_interval_and_ended_after_the_timeout():
    session = new(ping_interval=60.0, ping_timeout=30.0)
    logged_in(session, now=0.0)
    assert session.expire(59.9) == []
    assert session.expire(60.0) == [(life.SEND, {"type": "ping"})]
    assert session.expire(89.9) == []
    assert session.expire(90.0) == [(life.END, "timeout")]
    assert session.state == life.DONE


def test_anything_heard_from_a_member_restarts_the_ping_timer():
    session = new(ping_interval=60.0, ping_timeout=30.0)
    logged_in(session, now=0.0)
    session.expire(60.0)  # ping sent
    session.received(b'{"type":"pong"}\n', 70.0)
    assert session.next_deadline() == 130.0
    assert life.PING_TIMEOUT_TIMER not in session.timers


def test_people_at_a_terminal_are_not_pinged():
    session = new(ping_interval=1.0)
    logged_in(session, line=b"amy")
    assert session.next_deadline() is None


def test_a_say_with_no_token_is_held_back_first_in_line_and_read_again_when_one_is_due():
    session = new(rate=2.0, burst=2, ping_interval=0.2, ping_timeout=0.3)
    logged_in(session, now=0.0)
    session.received(b"s1\ns2\ns3\nping\n", 0.0)
    assert session.take_token(0.0) and session.take_token(0.0)
    assert session.next_line() == b"s1" and session.next_line() == b"s2"
    assert session.next_line() == b"s3"
    assert not session.take_token(0.0)
    actions = session.hold_back(0.0)
    assert kinds(actions) == [life.SEND]
    notice = actions[0][1]
    assert notice["code"] == "rate_limited"
    assert "held back and will follow in order" in notice["message"]
    assert session.state == life.HELD_BACK
    assert not session.reading and session.next_line() is None  # the ping waits its turn too
    assert session.next_deadline() == 0.5  # the next token, at 2 a second
    assert session.expire(0.49) == []  # held back: neither pinged nor timed out
    assert session.expire(0.5) == []
    assert session.state == life.CHATTING
    assert session.next_line() == b"s3" and session.take_token(0.5)
    assert session.next_line() == b"ping"


def test_a_held_back_episode_gets_one_notice():
    session = new(rate=1.0, burst=1)
    logged_in(session, now=0.0)
    session.received(b"a\nb\nc\n", 0.0)
    now, notices = 0.0, 0
    while session.queued:
        line = session.next_line()
        if line is None:
            now = session.next_deadline()
            session.expire(now)
            continue
        if not session.take_token(now):
            notices += len(session.hold_back(now))
    assert notices == 1
    session.idle(now)  # the paste is over: a later one is a new episode
    session.received(b"d\n", now)
    assert session.next_line() == b"d"
    assert not session.take_token(now)
    assert len(session.hold_back(now)) == 1


def test_a_line_over_the_limit_is_fatal():
    session = new()
    logged_in(session, now=0.0)
    error = refused_with(session.received(b"x" * 70000, 1.0))
    assert error.code == "frame_too_long" and session.finished


def test_with_no_rate_limit_every_say_has_a_token():
    session = new(rate=0)
    logged_in(session, now=0.0)
    assert all(session.take_token(0.0) for _ in range(1000))


def test_a_drip_pauses_the_next_read_once_and_a_line_does_not():
    session = new()
    logged_in(session)
    assert session.pause_before_read() == 0.0  # a whole line came
    session.received(b"{", 0.2)
    assert session.pause_before_read() == life.DRIP_PAUSE
    assert session.pause_before_read() == 0.0  # once per small read
    session.received(b'"type":"ping"}\n', 0.3)
    assert session.pause_before_read() == 0.0
    session.received(b"x" * life.DRIP_BYTES, 0.4)  # a big piece of a long line
    assert session.pause_before_read() == 0.0


def test_lines_back_to_back_are_read_in_gulps_and_a_person_never_waits():
    session = new(rate=0)
    logged_in(session, now=0.0)
    say = b'{"type":"say","text":"hi"}\n'
    session.received(say, 1.0)
    assert session.pause_before_read() == 0.0  # the first line of a while
    session.received(say, 1.0 + life.BURST_GAP / 4)  # a script: the next line at once
    assert session.pause_before_read() == life.BURST_PAUSE
    assert session.pause_before_read() == 0.0  # once per read
    session.received(say * 3, 1.0 + life.BURST_GAP / 2)
    assert session.pause_before_read() == life.BURST_PAUSE
    session.received(say, 2.0)  # a person typing: seconds apart
    assert session.pause_before_read() == 0.0
    session.received(say, 2.0 + life.BURST_GAP * 2)
    assert session.pause_before_read() == 0.0


def test_the_connections_of_one_computer_share_one_bucket_and_each_is_held_back_alone():
    shared = SharedRateLimiter(rate=2.0, burst=2, now=0.0)
    first, second = new(limiter=shared), new(limiter=shared)
    for session in (first, second):
        logged_in(session, now=0.0)
        session.received(b"s1\ns2\n", 0.0)
        assert session.next_line() == b"s1"
    assert first.take_token(0.0) and second.take_token(0.0)
    assert first.next_line() == b"s2" and not first.take_token(0.0)  # the burst is spent
    assert kinds(first.hold_back(0.0)) == [life.SEND]
    assert first.next_deadline() == 0.5
    assert second.next_line() == b"s2" and not second.take_token(0.0)
    assert kinds(second.hold_back(0.0)) == [life.SEND]  # its own episode, its own notice
    first.expire(0.5)
    second.expire(0.5)
    assert first.next_line() == b"s2" and first.take_token(0.5)  # the first to ask gets it
    assert second.next_line() == b"s2" and not second.take_token(0.5)
    assert second.hold_back(0.5) == []  # the same episode: no second notice
    assert second.next_deadline() == 1.0
