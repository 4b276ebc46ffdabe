#!/usr/bin/env python3
"""Independent verifier for mlops release-bundle signatures, built on securesystemslib.

Used by ReleaseCLITests (issue 22, item 5); installed by .ci/run with its dependencies.

Usage:
    verify_dsse.py BUNDLE.tar.zst PUBLIC_KEY.pem
    verify_dsse.py provenance.dsse.json PUBLIC_KEY.pem   (the envelope alone)

BUNDLE may be a zstd-compressed tar (`mlops release` writes these) or a plain tar. The
zstd stream is read with the `zstandard` package and fed to `tarfile` in streaming mode
("r|"), so nothing is written to disk and no `zstd` binary is needed.

What is checked (any failure: a message on stderr, exit 1):
  1. the bundle holds `provenance.dsse.json` (an unsigned bundle fails);
  2. it parses with securesystemslib's `Envelope.from_dict`, and its payloadType is
     `application/vnd.in-toto+json`;
  3. PUBLIC_KEY.pem is an Ed25519 SubjectPublicKeyInfo PEM; it becomes an `SSlibKey`
     (`SSlibKey.from_crypto`, keytype/scheme ed25519);
  4. `envelope.verify([key], 1)` succeeds (securesystemslib computes DSSE's PAE itself),
     with the key as securesystemslib builds it (`SSlibKey.from_crypto`): its keyid, the
     SHA-256 of the key's canonical JSON, is the keyid mlops writes, so the library pairs
     signature and key itself;
  5. for a bundle: the signed payload is byte-for-byte `provenance.json`, it is an
     in-toto Statement v1, and every subject's sha256 matches the bundle file of that
     name, with no unlisted file (mlops's own rules, docs/release.md).
On success it prints the verified keyid(s) and the subjects' digests, and exits 0.
Usage errors exit 2.

Needs: securesystemslib (>= 1.0, tested with 1.6.0), cryptography, zstandard.
"""

from __future__ import annotations

import copy
import hashlib
import json
import sys
import tarfile

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)
from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import UnverifiedSignatureError, VerificationError
from securesystemslib.signer import Signature, SSlibKey

ENVELOPE_NAME = "provenance.dsse.json"
STATEMENT_NAME = "provenance.json"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
MAX_SMALL_FILE = 64 << 20  # the envelope and the statement are read into memory


class Failure(Exception):
    """A verification failure: printed, exit 1."""


def read_bundle(path: str) -> tuple[bytes | None, bytes | None, dict[str, str]]:
    """(envelope bytes, provenance.json bytes, {regular file: sha256 hex}) of a bundle."""
    try:
        raw = open(path, "rb")
    except OSError as error:
        raise Failure(f"'{path}' cannot be read: {error}") from error
    with raw:
        magic = raw.read(4)
        raw.seek(0)
        if magic == ZSTD_MAGIC:
            import zstandard  # only bundles need it

            stream = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        else:
            stream = raw
        envelope = statement = None
        digests: dict[str, str] = {}
        try:
            with tarfile.open(fileobj=stream, mode="r|") as tar:
                for member in tar:
                    if not member.isfile():
                        raise Failure(f"'{member.name}' is not a regular file (mlops bundles hold only files)")
                    if member.name in digests:
                        raise Failure(f"'{member.name}' appears twice in the bundle")
                    handle = tar.extractfile(member)
                    hasher = hashlib.sha256()
                    keep = member.name in (ENVELOPE_NAME, STATEMENT_NAME)
                    if keep and member.size > MAX_SMALL_FILE:
                        raise Failure(f"'{member.name}' is {member.size} bytes, too large")
                    kept = bytearray()
                    while chunk := handle.read(1 << 20):
                        hasher.update(chunk)
                        if keep:
                            kept += chunk
                    digests[member.name] = hasher.hexdigest()
                    if member.name == ENVELOPE_NAME:
                        envelope = bytes(kept)
                    elif member.name == STATEMENT_NAME:
                        statement = bytes(kept)
        except (tarfile.TarError, OSError, EOFError) as error:
            raise Failure(f"'{path}' is not a readable tar (zstd or plain): {error}") from error
        except Exception as error:  # zstandard.ZstdError and friends
            if type(error).__module__.startswith("zstandard"):
                raise Failure(f"'{path}': bad zstd stream: {error}") from error
            raise
    return envelope, statement, digests


def load_key(path: str) -> tuple[Ed25519PublicKey, str]:
    """The Ed25519 public key in a PEM file, and the SHA-256 of its raw bytes (mlops's keyid
    before it adopted securesystemslib's)."""
    try:
        with open(path, "rb") as handle:
            public = load_pem_public_key(handle.read())
    except (OSError, ValueError) as error:
        raise Failure(f"'{path}' is not a readable PEM public key: {error}") from error
    if not isinstance(public, Ed25519PublicKey):
        raise Failure(f"'{path}' is a {type(public).__name__}, not an Ed25519 public key")
    raw = public.public_bytes(encoding=Encoding.Raw, format=PublicFormat.Raw)
    return public, hashlib.sha256(raw).hexdigest()


def diagnose(envelope: Envelope, public: Ed25519PublicKey) -> str:
    """Why verification failed: for each signature, would it verify if keyids were ignored?"""
    pae = envelope.pae()
    reasons = []
    for keyid, signature in envelope.signatures.items():
        probe = SSlibKey.from_crypto(public, keyid=keyid)
        try:
            probe.verify_signature(Signature(keyid, signature.signature), pae)
            reasons.append(f"signature by keyid {keyid}: VALID for this key, but its keyid is not this key's")
        except UnverifiedSignatureError:
            reasons.append(f"signature by keyid {keyid}: does not verify with this key")
    return "; ".join(reasons) or "the envelope has no signatures"


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] in ("-h", "--help"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    source, key_path = argv[1], argv[2]

    # The envelope: alone (.json) or from the bundle.
    statement = digests = None
    if source.endswith(".json"):
        try:
            with open(source, "rb") as handle:
                envelope_bytes = handle.read()
        except OSError as error:
            raise Failure(f"'{source}' cannot be read: {error}") from error
    else:
        envelope_bytes, statement, digests = read_bundle(source)
        if envelope_bytes is None:
            raise Failure(f"'{source}' has no {ENVELOPE_NAME}: the bundle is not signed")

    try:
        envelope_dict = json.loads(envelope_bytes)
        mlops_keyids = [s["keyid"] for s in envelope_dict["signatures"]]
        # from_dict rewrites the signatures' "sig" in place; give it a copy.
        envelope = Envelope.from_dict(copy.deepcopy(envelope_dict))
    except Exception as error:  # KeyError, ValueError, binascii.Error, FormatError, TypeError
        raise Failure(f"{ENVELOPE_NAME} is not a DSSE envelope securesystemslib accepts: "
                      f"{type(error).__name__}: {error}") from error
    if not envelope.signatures:
        raise Failure(f"{ENVELOPE_NAME} has no signatures")
    if envelope.payload_type != PAYLOAD_TYPE:
        raise Failure(f"payloadType is '{envelope.payload_type}', expected '{PAYLOAD_TYPE}'")

    public, _ = load_key(key_path)
    # securesystemslib's own key object and keyid (SHA-256 of the key's canonical JSON): mlops
    # writes that keyid, so the library matches signature to key out of the box.
    key = SSlibKey.from_crypto(public)
    print(f"envelope keyid(s):        {', '.join(mlops_keyids)}")
    print(f"securesystemslib keyid:   {key.keyid}")
    try:
        accepted = envelope.verify([key], 1)
    except VerificationError as error:
        raise Failure(f"signature verification FAILED ({error}): {diagnose(envelope, public)}") from error

    # The signed statement.
    try:
        payload = json.loads(envelope.payload)
    except ValueError as error:
        raise Failure(f"the signed payload is not JSON: {error}") from error
    if not isinstance(payload, dict) or payload.get("_type") != STATEMENT_TYPE:
        raise Failure(f"the signed payload is not an in-toto Statement v1")
    subjects = payload.get("subject") or []

    if digests is not None:
        if statement is None:
            raise Failure(f"the bundle has no {STATEMENT_NAME}")
        if statement != envelope.payload:
            raise Failure(f"the signed statement is not the bundle's {STATEMENT_NAME} "
                          f"(sha256 {hashlib.sha256(envelope.payload).hexdigest()} signed, "
                          f"{digests[STATEMENT_NAME]} in the bundle)")
        listed = {}
        for subject in subjects:
            name, digest = subject.get("name"), subject.get("digest", {}).get("sha256")
            if name not in digests:
                raise Failure(f"subject '{name}' is not in the bundle")
            if digest != digests[name]:
                raise Failure(f"'{name}' has sha256 {digests[name]}, the signed statement says {digest}")
            listed[name] = digest
        unlisted = sorted(set(digests) - set(listed) - {ENVELOPE_NAME, STATEMENT_NAME})
        if unlisted:
            raise Failure(f"files not in the signed statement: {', '.join(unlisted)}")

    print(f"OK: signature verified by securesystemslib {securesystemslib_version()} "
          f"(threshold 1); verified keyid(s): {', '.join(accepted)}")
    print(f"payloadType {envelope.payload_type}; statement {payload.get('predicateType')}")
    for subject in subjects:
        print(f"  sha256:{subject.get('digest', {}).get('sha256')}  {subject.get('name')}")
    if digests is not None:
        print(f"all {len(subjects)} subjects match the bundle's files")
    return 0


def securesystemslib_version() -> str:
    from importlib.metadata import version

    return version("securesystemslib")


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Failure as failure:
        print(f"verify_dsse: FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
