"""Fingerprints a teacher can write on the board and students can type: groups of
four hex digits, and any prefix of 16 or more digits accepted (tls.py)."""

import hashlib
import os
import re
import shlex
import ssl
import subprocess
import sys

import pytest

from helpers import ROOT, WAIT, ServerProcess, as_student
from chat_app.wire.tls import TlsError, grouped, parse_fingerprint, pin_matches

DATA = os.path.join(ROOT, "tests", "data")
CERT, KEY = os.path.join(DATA, "server.crt"), os.path.join(DATA, "server.key")


def digest(path=CERT):
    with open(path) as handle:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(handle.read())).hexdigest().upper()


def test_fingerprints_are_shown_in_groups_of_four():
    full = digest()
    shown = grouped(":".join(full[i:i + 2] for i in range(0, 64, 2)))
    assert shown.split() == [full[i:i + 4] for i in range(0, 64, 4)]
    assert grouped(full, 16) == " ".join(full[i:i + 4] for i in range(0, 16, 4))


@pytest.mark.parametrize("typed", [
    lambda d: d[:16], lambda d: d[:16].lower(), lambda d: grouped(d, 16).lower(),
    lambda d: "-".join(d[i:i + 4] for i in range(0, 20, 4)),
    lambda d: ":".join(d[i:i + 2] for i in range(0, 64, 2)), lambda d: " " + d[:17] + " ",
])
def test_a_prefix_of_16_or_more_digits_is_accepted_however_written(typed):
    full = digest()
    pin = parse_fingerprint(typed(full))
    assert pin_matches(pin, full)
    assert not pin_matches(pin, digest(os.path.join(DATA, "other.crt")))


@pytest.mark.parametrize("typed, words", [
    ("C71A 9210 44B3", "at least the first 16"),
    ("", "at least the first 16"),
    ("C71A 9210 44B3 0F2G", "hexadecimal digits (0-9, A-F)"),
    ("A" * 65, "this one has 65"),
])
def test_short_or_bad_fingerprints_are_a_clear_error(typed, words):
    with pytest.raises(TlsError) as refused:
        parse_fingerprint(typed)
    assert words in str(refused.value)


def text_client(pyz, port, *args):
    return subprocess.run(
        [sys.executable, pyz, "client", "--text", "--host", "127.0.0.1", "--port", str(port),
         "--name", "cy"] + list(args),
        input=b"hello over TLS\n", capture_output=True, timeout=WAIT * 3, env=as_student())


def test_students_copy_the_banner_command_and_a_wrong_prefix_is_refused(pyz, tmp_path):
    server = ServerProcess(sys.executable, pyz, "--tls-cert", CERT, "--tls-key", KEY,
                           cwd=str(tmp_path))
    try:
        out = server.wait_for(r"Stop the server with Ctrl\+C").string  # the last banner line
        assert "\n  %s\n" % grouped(digest()) in out
        command = re.search(r"Students connect with:  (python3 chat\.pyz client .*)", out).group(1)
        prefix = grouped(digest(), 16)
        assert '--tls --tls-fingerprint "%s" ' % prefix in command
        args = shlex.split(command)[3:]  # as typed from the board, after "python3 chat.pyz client"
        joined = subprocess.run(
            [sys.executable, pyz, "client"] + args + ["--text", "--name", "cy"],
            input=b"hello over TLS\n", capture_output=True, timeout=WAIT * 3, env=as_student())
        assert joined.returncode == 0, joined.stderr
        server.wait_for(r"<cy> hello over TLS")
        lower = text_client(pyz, server.port, "--tls-fingerprint", prefix.lower())
        assert lower.returncode == 0, lower.stderr
        server.wait_for(r"cy joined[\s\S]*cy joined")
        wrong = digest(os.path.join(DATA, "other.crt"))[:16]
        refused = text_client(pyz, server.port, "--tls-fingerprint", wrong)
        assert refused.returncode != 0
        error = refused.stderr.decode("utf-8")
        assert "is not the one you were told about" in error, error
        assert grouped(wrong) in error and grouped(digest())[:19] not in error
        short = text_client(pyz, server.port, "--tls-fingerprint", prefix[:9])
        assert short.returncode == 2 and b"at least the first 16" in short.stderr
        assert short.stderr.count(b"\n") == 1
        assert server.out.count("cy joined") == 2  # the two refused never got in
    finally:
        server.kill()
