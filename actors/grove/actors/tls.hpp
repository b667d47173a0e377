// TLS between nodes, through CAF's openssl module. Kept out of replication.hpp so that including
// it pulls in no CAF or OpenSSL header.
//
// Why the checks: CAF 0.17's openssl module silently falls back to anonymous (unauthenticated)
// TLS when no certificate is configured, reads the files only when a connection arrives, and then
// aborts the process on a bad file (the accepting side) or hangs (the connecting side). So the
// files are all required and are loaded and checked here, before the actor system exists.
#pragma once

#include <string>

#include "grove/crdt/error.hpp"

namespace caf {
class actor_system;
class actor_system_config;
}  // namespace caf

namespace grove::actors {

/// The PEM files of one node. All three of certificate, key and ca_file are required.
struct tls_options {
  /// This node's certificate (a chain is fine), signed by a CA in ca_file.
  std::string certificate;
  /// The certificate's private key; may be encrypted with `passphrase`.
  std::string key;
  /// The passphrase of an encrypted key (empty: none). Never printed.
  std::string passphrase;
  /// The CA certificates a peer's certificate must chain to; both sides of a connection check.
  std::string ca_file;
};

/// Loads the files into a throwaway OpenSSL context and checks that they fit together: the key
/// opens (with the passphrase) and matches the certificate, and the certificate chains to a CA in
/// ca_file and is within its validity period. Errors: invalid_argument when one of the three
/// files is not given, or for a key that does not open or does not match, an untrusted or expired
/// certificate, a file that holds no PEM data; io_error when a file cannot be read. Messages name
/// the file and OpenSSL's reason, never the passphrase.
status validate_tls(const tls_options& opts);

/// Validates `opts` (see validate_tls), then loads CAF's openssl module into `cfg` with these
/// files: from then on listen() and connect() of an actor system built from `cfg` speak TLS only,
/// and a peer whose certificate does not chain to ca_file is refused on either side (plaintext
/// and anonymous-TLS peers too). Call after the io middleman is loaded and before the actor system
/// is built. It also turns off CAF's automatic direct connections (they would be plaintext, which
/// the TLS ports refuse): connect every node to each node it must survive without.
///
/// There is no host name check (CAF does not do one): any holder of a certificate from the CA is
/// a member. Use a CA for this cluster only, and the cluster secret on top.
/// CAF reads the files again for each new connection: replace them atomically (rename), since a
/// missing or broken file at that moment aborts the process.
/// CAF 0.17 does not finish destroying an actor system while a peer sits in the TLS handshake (a
/// TCP connection that sends nothing keeps its multiplexer running): stop your actors and save
/// first, and bound the wait for the destructor (grove-node exits after 5 s).
status enable_tls(caf::actor_system_config& cfg, const tls_options& opts);

/// Whether node connections of `sys` use TLS (enable_tls was applied to its configuration).
bool uses_tls(const caf::actor_system& sys);

}  // namespace grove::actors
