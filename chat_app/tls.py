"""Encryption (TLS, stdlib ssl) for both ends, and the words for its failures.

The server loads a certificate and key and shows the certificate's SHA-256
fingerprint, which the teacher writes on the board.  A client either pins
that fingerprint (--tls-fingerprint), or verifies the certificate against a
CA file (--tls-ca) or the system's CAs.  A mismatch is a refusal, never a
warning.
"""

import hashlib
import re

try:
    import ssl
except ImportError:  # a Python built without OpenSSL
    ssl = None

# The first byte of a TLS record carrying a handshake: every ClientHello.
TLS_HANDSHAKE_BYTE = 0x16

NO_SSL = ("this Python has no ssl module, so it cannot encrypt. Install a Python "
          "from python.org, or run without the --tls options.")


class TlsError(Exception):
    """TLS cannot be set up as asked; str() says why and what to do."""


def fingerprint(der):
    """Return a certificate's SHA-256 fingerprint as AB:CD:... (upper case)."""
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def parse_fingerprint(text):
    """Return a typed fingerprint in canonical form; raise TlsError if it is not one."""
    digits = re.sub(r"[\s:\-]", "", text or "").upper()
    if not re.fullmatch(r"[0-9A-F]{64}", digits):
        raise TlsError("--tls-fingerprint must be the 64 hexadecimal digits the server "
                       "printed (colons optional); got %r." % (text or "")[:80])
    return ":".join(digits[i:i + 2] for i in range(0, 64, 2))


def server_context(cert_file, key_file):
    """Return (SSLContext, fingerprint) for the server; raise TlsError if unusable."""
    if ssl is None:
        raise TlsError(NO_SSL)
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
        if ssl is None:
            raise TlsError(NO_SSL)
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
        where = "%s port %d" % (host, port)
        try:
            tls = self.context.wrap_socket(sock, server_hostname=host)
        except ssl.SSLCertVerificationError as exc:
            raise TlsError("the server at %s could not prove who it is (%s). Check --tls-ca, "
                           "or ask the teacher for the fingerprint and use --tls-fingerprint."
                           % (where, exc.verify_message or exc))
        except ssl.SSLError as exc:
            if "WRONG_VERSION_NUMBER" in str(exc) or "record layer failure" in str(exc):
                raise TlsError("the server at %s does not use encryption. Connect without "
                               "--tls, or ask the teacher." % where)
            raise TlsError("the encrypted connection to %s failed: %s" % (where, exc))
        if self.pin:
            seen = fingerprint(tls.getpeercert(binary_form=True))
            if seen != self.pin:
                tls.close()
                raise TlsError(
                    "the server at %s is not the one you were told about: its certificate "
                    "fingerprint is %s, not %s. Do not go on: someone may be intercepting "
                    "the connection. Tell the teacher." % (where, seen, self.pin))
        return tls
