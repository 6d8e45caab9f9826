"""Proving a password without sending it, both ways: SCRAM-SHA-256, with no I/O.

A password never crosses the wire.  The client proves that it knows it,
and the room proves that it knows it too, each with a value that is good
for this one connection only (RFC 5802 and 7677, with the same keys):

    SaltedPassword  = PBKDF2-HMAC-SHA256(password, salt, iterations)
    ClientKey       = HMAC(SaltedPassword, "Client Key")
    StoredKey       = SHA256(ClientKey)
    ServerKey       = HMAC(SaltedPassword, "Server Key")
    ClientProof     = ClientKey XOR HMAC(StoredKey, AuthMessage)
    ServerSignature = HMAC(ServerKey, AuthMessage)

The server keeps only StoredKey and ServerKey (a `Verifier`, made once at
start from a random salt) to check proofs with.  AuthMessage covers the secret's name, the
join's name, both nonces, the salt, the iterations and the channel binding:
what the connection is bound to (the server's certificate under TLS, else
the server's address and port as the client reached them), so a proof made
for a fake room, or passed on by a relay, is worth nothing at the real one.
docs/protocol.md ("Proving a password") is the contract, with a worked
example; `ServerLogin` and `ClientLogin` are the two sides of one join.

Importing this module loads OpenSSL (hashlib, hmac): a server imports it
only when it has a password to prove (see nonblocking.use_tls).
"""

import base64
import binascii
import hashlib
import hmac
import ipaddress
import os
import re
import threading

from .protocol import PROVEN_SECRETS, ProtocolError, challenge_frame

# PBKDF2 rounds for a new verifier.  A fake room that records a proof can
# guess the password offline, each guess costing one SaltedPassword: the
# rounds set that price.  docs/benchmarks.md has what one costs here (a
# person waits for it once per server start: the client keeps it).
ITERATIONS = 200000

# The fewest rounds a client accepts: a fake room must not make guessing
# cheap by asking for few.  And the most: a count that would keep the
# client computing for minutes is a stall, not a room.
MIN_ITERATIONS = ITERATIONS
MAX_ITERATIONS = 10 * ITERATIONS

# Random bytes in a nonce (each side's), and in a salt: beyond guessing
# and never met twice.
NONCE_BYTES = 18
SALT_BYTES = 16

# A salt a client accepts: at least SALT_BYTES, and short enough to be a salt.
MAX_SALT_BYTES = 64

# The longest nonce either side takes (client's, and client's plus
# server's), in characters: a nonce is a few dozen.
MAX_NONCE_CHARS = 256

# A nonce: base64 characters, at least NONCE_BYTES' worth.
_NONCE = re.compile(r"[A-Za-z0-9+/]{24,256}={0,2}")

# What a channel binding starts with: the certificate's SHA-256 (TLS), or
# the server's address and port (plain TCP).
TLS_BINDING = "tls-server-end-point:"
TCP_BINDING = "tcp:"

# SaltedPassword values a client keeps, so that reconnecting to the same
# server run costs no PBKDF2 (one per server start and password).
SALTED_KEPT = 8

# NotTheRoom's words for a room that let in without asking for the password given.
UNASKED = ("it let you in without asking for the room's password you gave, so it cannot know "
           "it (if the teacher says this room has no password now, join without one)")

# How each secret is named in NotTheRoom's words.
SECRET_WORDS = {"password": "room's password", "teacher_password": "teacher password"}


class NotTheRoom(Exception):
    """The server could not prove that it knows the password: str() says how it failed."""


def b64(data):
    """Return bytes as base64 text."""
    return base64.b64encode(data).decode("ascii")


def unb64(text):
    """Return the bytes of base64 text; raise ValueError if it is not strict base64."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise ValueError("not base64")


def new_nonce():
    """Return a fresh random nonce (NONCE_BYTES, as base64)."""
    return b64(os.urandom(NONCE_BYTES))


def valid_nonce(text):
    """Tell whether text may be a nonce: base64 characters, of a nonce's length."""
    return isinstance(text, str) and len(text) <= MAX_NONCE_CHARS and bool(
        _NONCE.fullmatch(text))


def _hmac(key, message):
    return hmac.new(key, message, hashlib.sha256).digest()


def _xor(one, other):
    return bytes(a ^ b for a, b in zip(one, other))


def salted_password(password, salt, iterations):
    """Return SaltedPassword: PBKDF2-HMAC-SHA256 of the password's UTF-8 bytes, as typed."""
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)


def client_key(salted):
    return _hmac(salted, b"Client Key")


def stored_key(salted):
    return hashlib.sha256(client_key(salted)).digest()


def server_key(salted):
    return _hmac(salted, b"Server Key")


def rfc_auth_message(name, client_nonce, nonce, salt, iterations, channel):
    """Return RFC 5802's AuthMessage for these values (`channel`: the raw bytes of c=).

    client-first-message-bare "," server-first-message ","
    client-final-message-without-proof.
    """
    return ("n=%s,r=%s,r=%s,s=%s,i=%d,c=%s,r=%s" % (
        name, client_nonce, nonce, b64(salt), iterations, b64(channel), nonce)).encode("utf-8")


def auth_message(secret, name, client_nonce, nonce, salt, iterations, binding):
    """Return the AuthMessage of one secret's proof: "k=SECRET," then RFC 5802's.

    `binding` is the channel binding (channel_binding's text); c= holds its
    UTF-8 bytes.  Names hold no "," or "=" (names.check_name), nonces
    and salts are base64: the fields cannot run into each other.
    """
    return ("k=%s," % secret).encode("ascii") + rfc_auth_message(
        name, client_nonce, nonce, salt, iterations, binding.encode("utf-8"))


def client_proof(salted, message):
    """Return ClientProof: ClientKey XOR ClientSignature."""
    key = client_key(salted)
    return _xor(key, _hmac(hashlib.sha256(key).digest(), message))


def server_signature(key, message):
    """Return ServerSignature, from ServerKey."""
    return _hmac(key, message)


def tls_binding(fingerprint):
    """Return the channel binding of a TLS connection, from the certificate's SHA-256 fingerprint.

    Any spelling of the 64 hex digits (tls.fingerprint's AB:CD:...) gives one binding.
    """
    return TLS_BINDING + re.sub(r"[^0-9a-fA-F]", "", fingerprint).lower()


def tcp_binding(address, port):
    """Return the channel binding of a plain TCP connection: the server's address and port.

    An IPv4-mapped IPv6 address is its IPv4 address, and an IPv6 scope
    (%eth0) is left out, so that both ends spell the one address alike.
    """
    try:
        parsed = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return "%s%s:%d" % (TCP_BINDING, address, port)
    mapped = getattr(parsed, "ipv4_mapped", None)
    if mapped is not None:
        parsed = mapped
    if parsed.version == 6:
        return "%s[%s]:%d" % (TCP_BINDING, parsed.compressed, port)
    return "%s%s:%d" % (TCP_BINDING, parsed, port)


class Verifier:
    """What a server keeps of one secret: its salt, rounds, StoredKey and ServerKey."""

    __slots__ = ("salt", "iterations", "stored_key", "server_key")

    def __init__(self, salt, iterations, stored, server):
        self.salt, self.iterations = salt, iterations
        self.stored_key, self.server_key = stored, server

    @classmethod
    def make(cls, password, iterations=ITERATIONS, salt=None):
        """Derive the verifier of a password, with a new random salt unless one is given."""
        salt = os.urandom(SALT_BYTES) if salt is None else salt
        salted = salted_password(password, salt, iterations)
        return cls(salt, iterations, stored_key(salted), server_key(salted))

    def check(self, proof, message):
        """Tell whether `proof` (bytes) proves the password for `message`, in constant time."""
        signature = _hmac(self.stored_key, message)
        fits = len(proof) == len(signature)
        recovered = hashlib.sha256(_xor(proof if fits else bytes(len(signature)),
                                        signature)).digest()
        return hmac.compare_digest(recovered, self.stored_key) and fits

    def signature(self, message):
        return server_signature(self.server_key, message)


class ServerLogin:
    """The server's side of one join's proofs: the challenge, the proofs' check, its own.

    `verifiers` maps each secret the join must prove to its Verifier (all
    of one rounds count, which the challenge names); `binding` is the connection's channel binding as
    the server sees it.  The room's proof (server_proof) is given only for
    secrets whose client proof was checked and right: a ServerSignature
    handed to anyone who asks would let them guess the password offline.
    """

    def __init__(self, name, client_nonce, verifiers, binding):
        if not valid_nonce(client_nonce):
            raise ProtocolError("bad_frame", "A join's 'nonce' must be base64 text of at "
                                "least %d random bytes." % NONCE_BYTES)
        self.name = name
        self.client_nonce = client_nonce
        self.nonce = client_nonce + new_nonce()
        self.verifiers = dict(verifiers)
        counts = {verifier.iterations for verifier in self.verifiers.values()}
        if len(counts) != 1:  # a challenge names one count: Verifier.make's default, for all
            raise ValueError("the secrets of one join must share one rounds count")
        self.iterations = counts.pop()
        self.binding = binding
        self._proofs = {}
        self._right = set()  # secrets whose proof was checked and right

    def challenge(self):
        """Return the challenge frame that asks for the proofs."""
        return challenge_frame(self.nonce, self.iterations, {
            secret: b64(verifier.salt) for secret, verifier in self.verifiers.items()})

    def take_proof(self, frame):
        """Take a proof frame; raise ProtocolError(bad_binding) if it was made for another channel.

        A binding that differs is said as such (not as a wrong password,
        and not counted as one): the client reached this room through
        another machine.  The binding is in every AuthMessage too, so
        changing the field alone would not help a relay.
        """
        if frame["binding"] != self.binding:
            raise ProtocolError("bad_binding")
        self._proofs = {secret: frame[secret] for secret in self.verifiers if secret in frame}

    def has_proof(self, secret):
        return secret in self._proofs

    def message(self, secret):
        verifier = self.verifiers[secret]
        return auth_message(secret, self.name, self.client_nonce, self.nonce, verifier.salt,
                            verifier.iterations, self.binding)

    def check(self, secret):
        """Tell whether the proof of `secret` is right (a missing or garbled one is not)."""
        try:
            proof = unb64(self._proofs.get(secret, ""))
        except ValueError:
            proof = b""
        right = self.verifiers[secret].check(proof, self.message(secret))
        if right:
            self._right.add(secret)
        return right

    def server_proof(self):
        """Return welcome's server_proof: {secret: ServerSignature} for every secret proven."""
        missing = set(self.verifiers) - self._right
        if missing:
            raise RuntimeError("server_proof before the proof of %s" % ", ".join(sorted(missing)))
        return {secret: b64(verifier.signature(self.message(secret)))
                for secret, verifier in self.verifiers.items()}


class SaltedCache:
    """SaltedPassword by (password, salt, rounds), the newest SALTED_KEPT, for one process."""

    def __init__(self):
        self._lock = threading.Lock()
        self._kept = {}

    def get(self, password, salt, iterations):
        key = (password, salt, iterations)
        with self._lock:
            salted = self._kept.pop(key, None)
        if salted is None:
            salted = salted_password(password, salt, iterations)
        with self._lock:
            self._kept[key] = salted  # last in: kept longest
            while len(self._kept) > SALTED_KEPT:
                del self._kept[next(iter(self._kept))]
        return salted


# The client's SaltedPassword values, kept across the joins of one program run.
SALTED = SaltedCache()


class ClientLogin:
    """The client's side of one join: what it claims, its proofs, and its check of the room's.

    `secrets` maps "password" and "teacher_password" to what the person
    typed, or None.  The join says which secrets the client proves
    (`teacher` when it has the teacher password) and never carries one.
    A room that asks for a proof this client has no secret for is told
    nothing: the person is asked (`needs_password`).  A welcome is taken
    only once the room has proven each password the person gave; else
    NotTheRoom.
    """

    def __init__(self, name, secrets, binding, cache=None):
        self.name = name
        self.secrets = {secret: secrets.get(secret) for secret in PROVEN_SECRETS}
        self.binding = binding  # a callable: the connection's channel binding, asked when needed
        self.nonce = new_nonce()
        self._cache = cache or SALTED  # looked up now: a test or bench may start it afresh
        self._expected = {}  # secret -> the ServerSignature the room must show
        self.challenged = False

    @property
    def teacher(self):
        return self.secrets["teacher_password"] is not None

    @property
    def has_password(self):
        return self.secrets["password"] is not None

    def join_fields(self):
        """Return what the join adds: the nonce, and the teacher claim."""
        fields = {"nonce": self.nonce}
        if self.teacher:
            fields["teacher"] = True
        return fields

    def needs_password(self, challenge):
        """Tell whether the challenge asks for the room's password, which the person has not given."""
        salts = challenge.get("salt")
        return isinstance(salts, dict) and "password" in salts and self.secrets["password"] is None

    def proof(self, challenge):
        """Return the proof frame answering a challenge; raise NotTheRoom if it is no real one."""
        self.challenged = True
        nonce, iterations, salts = (challenge.get("nonce"), challenge.get("iterations"),
                                    challenge.get("salt"))
        if (not valid_nonce(nonce) or not nonce.startswith(self.nonce)
                or len(nonce) < len(self.nonce) + len(new_nonce())):
            raise NotTheRoom("its challenge was not made for this connection")
        if (not isinstance(iterations, int) or isinstance(iterations, bool)
                or not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS):
            raise NotTheRoom("it asked for a password check of %r rounds, where this program "
                             "takes %d to %d" % (iterations, MIN_ITERATIONS, MAX_ITERATIONS))
        if not isinstance(salts, dict):
            raise NotTheRoom("its challenge had no salt")
        binding = self.binding()
        frame = {"type": "proof", "binding": binding}
        for secret in PROVEN_SECRETS:
            password = self.secrets[secret]
            if password is None or secret not in salts:
                continue
            salt = self._salt(salts[secret])
            salted = self._cache.get(password, salt, iterations)
            message = auth_message(secret, self.name, self.nonce, nonce, salt, iterations,
                                   binding)
            frame[secret] = b64(client_proof(salted, message))
            self._expected[secret] = server_signature(server_key(salted), message)
        return frame

    @staticmethod
    def _salt(text):
        try:
            salt = unb64(text) if isinstance(text, str) else b""
        except ValueError:
            salt = b""
        if not SALT_BYTES <= len(salt) <= MAX_SALT_BYTES:
            raise NotTheRoom("its challenge had no usable salt")
        return salt

    def check_welcome(self, welcome):
        """Take a welcome only if the room proved every secret the person gave; else NotTheRoom.

        A room that lets in without asking for a password the person has
        cannot know it: the person was told the room has one.
        """
        if self.has_password and "password" not in self._expected:
            raise NotTheRoom(UNASKED)
        needed = set(self._expected)
        if self.teacher:
            needed.add("teacher_password")
        given = welcome.get("server_proof")
        given = given if isinstance(given, dict) else {}
        for secret in sorted(needed):
            expected = self._expected.get(secret)
            try:
                shown = unb64(given[secret]) if isinstance(given.get(secret), str) else None
            except ValueError:
                shown = None
            if expected is None or shown is None or not hmac.compare_digest(shown, expected):
                raise NotTheRoom("it did not prove that it knows the %s"
                                 % SECRET_WORDS[secret])
