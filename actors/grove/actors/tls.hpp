// Securing the transport between nodes: TLS through CAF's openssl module, with certificates of
// the cluster's own CA or with an authority derived from the cluster secret. Kept out of
// replication.hpp so that including it pulls in no CAF or OpenSSL header.
//
// Why it matters: CAF's transport (BASP) delivers to every actor of an actor system, by actor id,
// to anyone who completes a connection. The only gate is the connection itself, so in every mode
// with a credential the credential must be proved in the TLS handshake. Membership's cluster
// secret handshake (membership_options::secret) guards membership's own bookkeeping, not the door.
// The threat model by mode is in docs/security.md.
//
// Why the checks: CAF 0.17's openssl module silently falls back to anonymous (unauthenticated)
// TLS when no certificate is configured, reads the files only when a connection arrives, and then
// aborts the process on a bad file (the accepting side) or hangs (the connecting side). So the
// files are all required and are loaded and checked here, before the actor system exists.
#pragma once

#include <cstddef>
#include <cstdint>
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
/// the TLS ports refuse): connect every node to each node it must survive without. And it closes
/// CAF's plaintext doors to the system, as secure_transport does (see there).
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

// -- one call for an embedding application ------------------------------------------------------

/// The shortest cluster secret secure_transport accepts, in bytes. The secret derives the TLS
/// authority, whose public key every TCP client of a node receives: anyone who reaches a port can
/// test guesses of the secret offline, as fast as they can compute HKDF and Ed25519. 32 random
/// bytes, base64-encoded (`head -c 32 /dev/urandom | base64`, 44 characters), put that out of
/// reach; a short or guessable secret does not.
constexpr std::size_t min_secret_size = 32;

/// The credentials of a node (secure_transport).
struct security_options {
  /// The cluster secret (trailing newlines already removed); empty: none. At least
  /// min_secret_size bytes. Pass the same secret to membership_options::secret.
  std::string secret;
  /// Certificates of the cluster's own CA; all empty: none. See tls_options and enable_tls.
  tls_options tls;
  /// Without a secret or certificates: allow listen() and connect() beyond loopback in plaintext,
  /// where anyone who reaches the port can read and change every replica. Ignored with a credential.
  bool insecure = false;
};

/// How the transport of a node is secured.
enum class transport_mode {
  /// No credential: listen() and connect() only on loopback (unless `insecure`), where any local
  /// process can read and write everything.
  plaintext,
  /// TLS with an authority derived from the secret (Ed25519, HKDF-SHA256): only holders of the
  /// secret complete a connection; traffic is encrypted.
  secret,
  /// TLS with the given certificates: only holders of a certificate from the CA get in.
  certificates,
  /// TLS with the given certificates (the transport's gate, as above), plus membership's secret
  /// handshake: a node with a certificate but not the secret connects, but membership never trusts
  /// it (CAF 0.17's TLS can require one CA or the other, not both).
  certificates_and_secret,
};

/// Stable lower-case name of a mode: "plaintext", "secret", "certificates", "certificates_and_secret".
const char* to_string(transport_mode mode) noexcept;

/// What secure_transport set up.
struct transport_info {
  transport_mode mode = transport_mode::plaintext;
  /// With transport_mode::secret: the SHA-256 fingerprint of the derived CA certificate
  /// ("AB:CD:..."), the same on every node with the same secret. Log it, never the secret.
  std::string ca_fingerprint;
};

/// The one call that secures a node's transport. Call it on the configuration after the io
/// middleman is loaded and before the actor system is built; then listen() and connect() use what
/// it chose, and a peer without this node's credential cannot deliver a single message to any
/// actor of the system (it never completes a connection):
/// - secret only: derives the cluster's TLS authority from the secret (HKDF-SHA256 with a versioned
///   label, an Ed25519 CA with a fixed subject, valid 2000 to 9999), issues this node a fresh
///   certificate, and hands the PEMs to CAF as sealed in-memory files (/proc/self/fd/N; the CA key
///   exists only in memory while the certificate is signed, then is wiped);
/// - certificates (with or without a secret): enable_tls with them; the derived authority is NOT
///   added (a CA file is an OR: either credential alone would get in). The secret then only counts
///   through membership's handshake: pass it to membership_options::secret;
/// - neither: plaintext, on loopback only unless opts.insecure.
/// In every TLS mode, CAF's own plaintext doors to this actor system (middleman().publish, open,
/// remote_actor) are refused from then on with an error: one plaintext port would expose every
/// actor of the system, Grove's replicas included. Use caf::openssl::publish/remote_actor, or a
/// second actor system, for anything else.
/// Errors: invalid_argument for a secret shorter than min_secret_size or TLS files that do not
/// check out (see validate_tls); io_error when a file cannot be read or no in-memory file can be
/// made. On error `cfg` is unchanged.
expected<transport_info> secure_transport(caf::actor_system_config& cfg, const security_options& opts);

/// The mode secure_transport (or enable_tls: certificates) chose for `sys`; plaintext when neither
/// was called.
transport_mode transport_mode_of(const caf::actor_system& sys);

/// Whether `address` is a loopback address (127.0.0.0/8, ::1) or "localhost".
bool is_loopback(const std::string& address);

/// TLS handshakes that failed in this process since it started, on the accepting side (someone
/// without an acceptable credential tried to connect to a node here) and on the connecting side
/// (a node here dialled one that refused it or that it refused). A connection closed during the
/// handshake (a port scan, a plaintext peer) counts too. Each refusal is also logged on stderr,
/// rate-limited per address: "[grove] tls: refused a connection from IP:PORT: REASON".
struct handshake_refusals {
  std::uint64_t incoming = 0;
  std::uint64_t outgoing = 0;
};
handshake_refusals tls_handshake_refusals() noexcept;

}  // namespace grove::actors
