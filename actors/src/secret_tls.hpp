// TLS credentials derived from the cluster secret (OpenSSL's libcrypto; no CAF): every node that
// holds the secret derives the same certificate authority, and each start issues itself a fresh
// certificate from it, so CAF's openssl module admits exactly the holders of the secret.
//
// The wire contract (every node of a cluster must agree on it, or they refuse each other): the
// HKDF-SHA256 label `cluster_ca_label`, the key type (Ed25519), the CA's subject and a validity
// window that covers every node's clock (fixed: 2000-01-01 to 9999-12-31). Changing any of them
// is a new version of the label.
#pragma once

#include <string>

#include "grove/crdt/error.hpp"

namespace grove::actors::detail {

/// The HKDF "info" of the CA key: versioned, so that a future derivation cannot be confused with it.
inline constexpr const char* cluster_ca_label = "grove cluster CA key v1 Ed25519";
/// Subject (and issuer) of the derived CA certificate.
inline constexpr const char* cluster_ca_organization = "grove";
inline constexpr const char* cluster_ca_common_name = "grove cluster CA (secret-derived)";

/// PEM files handed to CAF's openssl module, as paths /proc/self/fd/N of sealed memfds: nothing
/// touches a disk, and nothing is left after the process ends, even after kill -9. The fds stay
/// open for the life of the process (CAF opens the files again for every connection).
struct derived_tls_files {
  std::string ca_file;
  std::string certificate;
  std::string key;
  /// SHA-256 of the CA certificate (DER), as AB:CD:...; the same on every node with the secret
  /// (Ed25519 signatures are deterministic), so operators can compare nodes without the secret.
  std::string ca_fingerprint;
};

/// Derives the CA from `secret` (its key lives only in memory here and is wiped), issues a fresh
/// leaf certificate (a new Ed25519 key, valid for TLS servers and clients), and stores the three
/// PEMs in sealed memfds. A process asking again for the same secret gets the same files (so the
/// number of open fds does not grow with the number of actor systems). Errors: io_error when no
/// memfd can be made (Linux without /proc or memfd_create), invalid_argument when OpenSSL fails.
expected<derived_tls_files> derive_tls_files(const std::string& secret);

}  // namespace grove::actors::detail
