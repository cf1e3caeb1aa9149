"""Self-signed TLS material for the fake Google Ads server.

The google-ads client always opens a TLS channel, so the fake must speak TLS. gRPC reads its trusted
roots once per process from GRPC_DEFAULT_SSL_ROOTS_FILE_PATH (before the first TLS channel), so every
fake started in one process must share one certificate: by default it lives in a fixed temp dir and is
reused across runs.
"""

from __future__ import annotations

import datetime
import fcntl
import ipaddress
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOTS_ENV_VAR = "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"
CERT_FILE = "fake-google-ads.crt"
KEY_FILE = "fake-google-ads.key"
_VALIDITY = datetime.timedelta(days=3650)


@dataclass(frozen=True)
class CertificatePaths:
    cert_path: Path
    key_path: Path


def default_cert_dir() -> Path:
    return Path(tempfile.gettempdir()) / "fake-google-ads-tls"


def ensure_certificate(cert_dir: str | os.PathLike[str] | None = None) -> CertificatePaths:
    """Return the cert/key pair in cert_dir, generating it first if it is missing.

    A file lock keeps concurrent processes (e.g. pytest-xdist workers) from writing mismatched pairs.
    """
    directory = Path(cert_dir) if cert_dir is not None else default_cert_dir()
    directory.mkdir(parents=True, exist_ok=True)
    paths = CertificatePaths(directory / CERT_FILE, directory / KEY_FILE)
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (paths.cert_path.exists() and paths.key_path.exists()):
            cert_pem, key_pem = generate_self_signed()
            _write_atomically(paths.key_path, key_pem, mode=0o600)
            _write_atomically(paths.cert_path, cert_pem, mode=0o644)
    return paths


def generate_self_signed() -> tuple[bytes, bytes]:
    """A (cert PEM, key PEM) pair valid for localhost and 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    alt_names = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
        .add_extension(alt_names, critical=False)
        # The certificate is its own trust root, so it must be allowed to act as a CA.
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def trust_certificate(cert_path: str | os.PathLike[str]) -> None:
    """Make this process's gRPC trust cert_path (and only it) as TLS root.

    Must run before the process opens its first TLS channel; later changes are ignored by gRPC.
    Never do this in a process that must also reach the real Google Ads API.
    """
    os.environ[ROOTS_ENV_VAR] = str(Path(cert_path).resolve())


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)
