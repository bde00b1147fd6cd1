"""The consortium PKI: CA and node certificates, PEM files and the TLS contexts."""

from __future__ import annotations

import ipaddress
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from baychain.errors import ConfigError
from baychain.network.pki import (
    CertifiedKey,
    TlsCredentials,
    certificate_name,
    client_context,
    issue_node_certificate,
    server_context,
    write_tls_files,
)


def test_the_ca_is_a_p256_ca_that_signs_only_leaves(consortium_ca: CertifiedKey) -> None:
    cert = consortium_ca.certificate
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca and constraints.path_length == 0
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    assert isinstance(consortium_ca.private_key.curve, ec.SECP256R1)
    cert.verify_directly_issued_by(cert)


def test_a_node_certificate_names_the_node_and_serves_both_ends(
    consortium_ca: CertifiedKey,
) -> None:
    node = issue_node_certificate(consortium_ca, "node-a", hosts=("127.0.0.1", "a.example"))
    cert = node.certificate
    cert.verify_directly_issued_by(consortium_ca.certificate)
    assert certificate_name(cert.public_bytes(Encoding.DER)) == "node-a"
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(usages) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["node-a", "a.example"]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]


def test_a_node_needs_a_name(consortium_ca: CertifiedKey) -> None:
    with pytest.raises(ConfigError):
        issue_node_certificate(consortium_ca, "")


def test_files_keep_the_key_private_and_load_into_tls13_contexts(
    tmp_path: Path, consortium_ca: CertifiedKey
) -> None:
    node = issue_node_certificate(consortium_ca, "node-b")
    files = write_tls_files(tmp_path / "tls", node, consortium_ca.certificate)
    assert stat.S_IMODE(files.private_key.stat().st_mode) == 0o600
    for context in (server_context(files), client_context(files)):
        assert context.minimum_version is ssl.TLSVersion.TLSv1_3
        assert context.verify_mode is ssl.CERT_REQUIRED
        # the consortium CA and nothing else (no system roots)
        assert [c["subject"] for c in context.get_ca_certs()] == [
            ((("commonName", "BayChain test consortium"),),)
        ]
    credentials = TlsCredentials.load(files)
    assert credentials.certificate_der == node.certificate.public_bytes(Encoding.DER)


def test_an_encrypted_key_needs_its_password(tmp_path: Path, consortium_ca: CertifiedKey) -> None:
    node = issue_node_certificate(consortium_ca, "node-c")
    files = write_tls_files(tmp_path, node, consortium_ca.certificate, password=b"s3cret")
    assert b"ENCRYPTED" in files.private_key.read_bytes()
    TlsCredentials.load(files, b"s3cret")
    with pytest.raises(ConfigError):
        TlsCredentials.load(files, b"wrong")


def test_missing_files_are_a_config_error(tmp_path: Path, consortium_ca: CertifiedKey) -> None:
    files = write_tls_files(
        tmp_path, issue_node_certificate(consortium_ca, "node-d"), consortium_ca.certificate
    )
    files.certificate.unlink()
    with pytest.raises(ConfigError, match=r"node\.crt"):
        TlsCredentials.load(files)
