"""The TLS module on its own (tls.py): fingerprints a teacher can write on the board and
students can type: groups of four hex digits, and any prefix of 16 or more digits
accepted.  Encrypted rooms, with servers and clients: test_encrypted_rooms.py.

tests/data holds two self-signed certificates with their keys, for these
tests only (never for a real server), valid until 2126, made with
    openssl req -x509 -newkey rsa:2048 -nodes -days 36500 -subj "/CN=..." \
        -addext "subjectAltName=IP:127.0.0.1" -keyout NAME.key -out NAME.crt
"""

import hashlib
import os
import ssl

import pytest

from helpers import CERT, DATA
from chat_app.wire.tls import TlsError, grouped, parse_fingerprint, pin_matches

OTHER_CERT = os.path.join(DATA, "other.crt")


def expected_fingerprint(path=CERT):
    with open(path) as handle:
        digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(handle.read())).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, 64, 2))


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


def test_fingerprints_are_read_with_or_without_colons():
    pin = expected_fingerprint()
    assert parse_fingerprint(pin.replace(":", "").lower()) == pin
    with pytest.raises(TlsError):
        parse_fingerprint("C7:1A")
