"""Encryption (TLS, stdlib ssl) for both ends, and the words for its failures.

The server loads a certificate and key and shows the certificate's SHA-256
fingerprint in groups of four hex digits, which the teacher writes on the
board.  A client either pins that fingerprint, or its first 16 or more
digits (--tls-fingerprint), or verifies the certificate against a
CA file (--tls-ca) or the system's CAs.  A mismatch is a refusal, never a
warning.
"""

import re

from .nonblocking import use_tls

# The first byte of a TLS record carrying a handshake: every ClientHello.
TLS_HANDSHAKE_BYTE = 0x16

NO_SSL = ("this Python has no ssl module, so it cannot encrypt. Install a Python "
          "from python.org, or run without the --tls options.")


# A pinned fingerprint may be cut to its first digits, but no shorter than
# this: 16 hex digits (64 bits) are few enough to copy from the board and far
# too many for anyone to make a certificate that starts with them.
MIN_PIN_DIGITS = 16

# The whole SHA-256 fingerprint, in hex digits.
FINGERPRINT_DIGITS = 64

# What a person may type between the digits: they are ignored.
SEPARATORS = re.compile(r"[\s:\-]")


# How a room a client joined before may have changed at a restart: it is
# encrypted now (the server answers a plain join with tls_required), it is
# no longer encrypted, or it shows another certificate than the one pinned
# (or one the CA does not vouch for).  The clients then stop and ask the
# person (chat_state.changed_room); they never pin anything by themselves.
NOW_ENCRYPTED = "now_encrypted"
NOT_ENCRYPTED = "not_encrypted"
NEW_CERTIFICATE = "new_certificate"
CHANGES = (NOW_ENCRYPTED, NOT_ENCRYPTED, NEW_CERTIFICATE)


class TlsError(Exception):
    """TLS cannot be set up as asked; str() says why and what to do.

    `change` is NOT_ENCRYPTED or NEW_CERTIFICATE when the server is not
    the one expected in one of those ways (else None).
    """

    def __init__(self, message, change=None):
        Exception.__init__(self, message)
        self.change = change


def fingerprint(der):
    """Return a certificate's SHA-256 fingerprint as AB:CD:... (upper case, as openssl shows it)."""
    import hashlib  # here: it loads OpenSSL (see nonblocking.use_tls), unneeded without TLS
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def _hex_digits(text):
    return SEPARATORS.sub("", text or "").upper()


def grouped(fingerprint_text, digits=FINGERPRINT_DIGITS):
    """Return a fingerprint's first `digits` hex digits in groups of four, for reading aloud."""
    hexes = _hex_digits(fingerprint_text)[:digits]
    return " ".join(hexes[i:i + 4] for i in range(0, len(hexes), 4))


def parse_fingerprint(text):
    """Return a typed fingerprint (or its first 16 or more digits) as AB:CD:...; raise TlsError.

    Spaces, colons, dashes and case do not matter.
    """
    digits = _hex_digits(text)
    if not re.fullmatch(r"[0-9A-F]*", digits):
        raise TlsError("--tls-fingerprint takes the hexadecimal digits (0-9, A-F) the server "
                       "printed; got %r." % (text or "")[:80])
    if not MIN_PIN_DIGITS <= len(digits) <= FINGERPRINT_DIGITS:
        raise TlsError("--tls-fingerprint needs at least the first %d of the %d hexadecimal "
                       "digits the server printed (spaces optional), for example "
                       "--tls-fingerprint \"C71A 9210 44B3 0F2E\"; this one has %d."
                       % (MIN_PIN_DIGITS, FINGERPRINT_DIGITS, len(digits)))
    return ":".join(digits[i:i + 2] for i in range(0, len(digits), 2))


def pin_matches(pin, seen):
    """Tell whether a certificate's fingerprint starts with the pinned digits."""
    return _hex_digits(seen).startswith(_hex_digits(pin))


def _ssl():
    """Return the ssl module, imported now (see nonblocking.use_tls); raise TlsError without it."""
    ssl = use_tls()
    if ssl is None:
        raise TlsError(NO_SSL)
    return ssl


def server_context(cert_file, key_file):
    """Return (SSLContext, fingerprint) for the server; raise TlsError if unusable."""
    ssl = _ssl()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert_file, key_file)
        with open(cert_file, encoding="ascii", errors="replace") as handle:
            der = ssl.PEM_cert_to_DER_cert(_first_pem_cert(handle.read()))
    except (OSError, ValueError, ssl.SSLError) as exc:
        raise TlsError("cannot use --tls-cert %s with --tls-key %s: %s. Give a PEM "
                       "certificate and its private key (see the README)."
                       % (cert_file, key_file, getattr(exc, "strerror", None) or exc))
    return context, fingerprint(der)


def _first_pem_cert(text):
    found = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", text, re.S)
    if not found:
        raise ValueError("no PEM certificate in the file")
    return found.group(0)


class ClientTls:
    """How a client checks the server: a pinned fingerprint, or CA verification."""

    def __init__(self, ca_file=None, pin=None):
        ssl = _ssl()
        self.pin = parse_fingerprint(pin) if pin else None
        if self.pin:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # the pin is checked after the handshake
        else:
            try:
                context = ssl.create_default_context(cafile=ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise TlsError("cannot read --tls-ca %s: %s." % (ca_file, exc))
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.context = context

    def wrap(self, sock, host, port):
        """Run the handshake on a connected socket; return the TLS socket.

        Raise TlsError with words for a person when the server is not the
        one expected, or does not speak TLS.
        """
        ssl = _ssl()
        where = "%s port %d" % (host, port)
        try:
            tls = self.context.wrap_socket(sock, server_hostname=host)
        except ssl.SSLCertVerificationError as exc:
            raise TlsError("the server at %s could not prove who it is (%s). Check --tls-ca, "
                           "or ask the teacher for the fingerprint and use --tls-fingerprint."
                           % (where, exc.verify_message or exc), NEW_CERTIFICATE)
        except ssl.SSLError as exc:
            if "WRONG_VERSION_NUMBER" in str(exc) or "record layer failure" in str(exc):
                raise TlsError("the server at %s does not use encryption. Connect without "
                               "--tls, or ask the teacher." % where, NOT_ENCRYPTED)
            raise TlsError("the encrypted connection to %s failed: %s" % (where, exc))
        if self.pin:
            seen = fingerprint(tls.getpeercert(binary_form=True))
            if not pin_matches(self.pin, seen):
                tls.close()
                # The fingerprint seen is not shown: a student would paste it
                # into --tls-fingerprint, and the check would then prove nothing.
                raise TlsError(
                    "the server at %s is not the one you were told about: its certificate "
                    "fingerprint does not start with %s. Check the digits against the "
                    "board; if they match, do not go on: someone may be intercepting the "
                    "connection. Tell the teacher." % (where, grouped(self.pin)), NEW_CERTIFICATE)
        return tls
