"""The consortium's TLS public-key infrastructure: one CA, one certificate per node.

Trust model (docs/network.md): the consortium runs one certificate authority; each
member node holds a certificate it issued. A node's TLS contexts trust that CA *only*
(never the system store), require a certificate from the peer in both directions and
refuse anything below TLS 1.3. A certificate proves "this is a consortium node";
*which* node, and whether it may take part, is proven separately in the handshake
(:mod:`.handshake`) with the node's consensus key.

Why ECDSA P-256 here even on ``sm`` chains: Python's :mod:`ssl` (OpenSSL's TLS 1.3)
cannot negotiate SM2 certificates or the TLCP suites of GB/T 38636, so the TLS
channel uses NIST P-256 (RFC 8446 ``ecdsa_secp256r1_sha256``). Everything that
identifies a node or decides the ledger (the handshake's identity proof, votes,
proposals, transactions) is signed with the chain's suite, i.e. SM2/SM3 on ``sm``
chains; TLS only provides confidentiality and consortium membership of the socket.

Certificates (RFC 5280): the CA is ``cA=TRUE, pathLen=0`` with ``keyCertSign``; a
node certificate has ``cA=FALSE``, ``digitalSignature``, extended key usages
``serverAuth`` and ``clientAuth`` (each node both listens and dials), CN and a DNS
SAN equal to the node name, and IP SANs for its addresses.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from baychain.errors import ConfigError
from baychain.files import write_private

__all__ = [
    "CA_VALID_DAYS",
    "NODE_VALID_DAYS",
    "CertifiedKey",
    "TlsCredentials",
    "TlsFiles",
    "certificate_name",
    "client_context",
    "create_consortium_ca",
    "issue_node_certificate",
    "server_context",
    "write_tls_files",
]

CA_VALID_DAYS = 3650
"""Default lifetime of a consortium CA certificate, in days."""

NODE_VALID_DAYS = 825
"""Default lifetime of a node certificate, in days."""

_CLOCK_SKEW = timedelta(minutes=5)
"""Certificates start this long before their issue time, to tolerate clock skew."""


@dataclass(frozen=True, slots=True)
class CertifiedKey:
    """A certificate and its private key (a CA's or a node's)."""

    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey

    def certificate_pem(self) -> bytes:
        """The certificate, PEM-encoded."""
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def private_key_pem(self, password: bytes | None = None) -> bytes:
        """The private key as PKCS#8 PEM, encrypted under ``password`` when given."""
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password)
            if password
            else serialization.NoEncryption()
        )
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def create_consortium_ca(
    name: str, *, now: datetime | None = None, valid_days: int = CA_VALID_DAYS
) -> CertifiedKey:
    """Return a new self-signed consortium CA named ``name`` with a fresh P-256 key.

    ``now`` (default: the current UTC time) is when validity starts, less a few
    minutes of allowed clock skew.
    """
    start = (now or datetime.now(UTC)) - _CLOCK_SKEW
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(name)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return CertifiedKey(certificate, key)


def issue_node_certificate(
    ca: CertifiedKey,
    node_name: str,
    *,
    hosts: Sequence[str] = ("127.0.0.1",),
    now: datetime | None = None,
    valid_days: int = NODE_VALID_DAYS,
) -> CertifiedKey:
    """Return a certificate for node ``node_name`` signed by ``ca``, with a fresh P-256 key.

    ``hosts`` become subject alternative names: IP addresses as IP SANs, anything
    else as DNS SANs (the node name is always a DNS SAN). Raise
    :class:`~baychain.errors.ConfigError` for an empty node name.
    """
    if not node_name:
        raise ConfigError("a node certificate needs a node name")
    start = (now or datetime.now(UTC)) - _CLOCK_SKEW
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(node_name)]
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            if host != node_name:
                names.append(x509.DNSName(host))
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(node_name))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.private_key.public_key()),
            critical=False,
        )
        .sign(ca.private_key, hashes.SHA256())
    )
    return CertifiedKey(certificate, key)


def certificate_name(der: bytes) -> str:
    """The common name of a DER certificate (for logs), or ``"?"`` if it has none."""
    try:
        attributes = x509.load_der_x509_certificate(der).subject.get_attributes_for_oid(
            NameOID.COMMON_NAME
        )
    except ValueError:
        return "?"
    value = attributes[0].value if attributes else "?"
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """Where a node's TLS material lives: its certificate, its key, the consortium CA."""

    certificate: Path
    private_key: Path
    ca_certificate: Path


def write_tls_files(
    directory: Path,
    node: CertifiedKey,
    ca_certificate: x509.Certificate,
    *,
    password: bytes | None = None,
) -> TlsFiles:
    """Write ``node.crt``, ``node.key`` (mode 0600) and ``ca.crt`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(directory / "node.crt", directory / "node.key", directory / "ca.crt")
    files.certificate.write_bytes(node.certificate_pem())
    write_private(files.private_key, node.private_key_pem(password))
    files.ca_certificate.write_bytes(ca_certificate.public_bytes(serialization.Encoding.PEM))
    return files


def _context(purpose: int, files: TlsFiles, password: bytes | None) -> ssl.SSLContext:
    context = ssl.SSLContext(purpose)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    # Peers are told apart by the consensus key proven in the handshake, not by host
    # names, so the name check is off; the CA pin and CERT_REQUIRED still apply.
    context.check_hostname = False
    context.verify_mode = ssl.CERT_REQUIRED
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    try:
        # Only the consortium CA: load_verify_locations on a fresh context adds
        # nothing else (load_default_certs is never called).
        context.load_verify_locations(cafile=str(files.ca_certificate))
        context.load_cert_chain(str(files.certificate), str(files.private_key), password)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"cannot load the node's TLS files ({files.certificate}, {files.private_key}, "
            f"{files.ca_certificate}): {exc}"
        ) from exc
    return context


def server_context(files: TlsFiles, password: bytes | None = None) -> ssl.SSLContext:
    """The context for accepting peers: TLS 1.3 only, client certificate from the CA required.

    Session tickets are off, so every connection makes a full handshake (and the
    handshake's channel binding is always fresh).
    """
    context = _context(ssl.PROTOCOL_TLS_SERVER, files, password)
    context.num_tickets = 0
    return context


def client_context(files: TlsFiles, password: bytes | None = None) -> ssl.SSLContext:
    """The context for dialing peers: TLS 1.3 only, server certificate from the CA required."""
    return _context(ssl.PROTOCOL_TLS_CLIENT, files, password)


@dataclass(frozen=True, slots=True)
class TlsCredentials:
    """A node's loaded TLS material: both contexts and its own certificate (DER).

    The handshake needs the DER bytes of the certificate this node presents, to bind
    its identity proof to it.
    """

    server: ssl.SSLContext
    client: ssl.SSLContext
    certificate_der: bytes

    @classmethod
    def load(cls, files: TlsFiles, password: bytes | None = None) -> TlsCredentials:
        """Load ``files``; raise :class:`~baychain.errors.ConfigError` if they do not load."""
        try:
            pem = files.certificate.read_bytes()
            der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"cannot read the node certificate {files.certificate}: {exc}"
            ) from exc
        return cls(server_context(files, password), client_context(files, password), der)
