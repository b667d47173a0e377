// What listen(), connect() and membership's dialling (membership.cpp) ask of the transport's
// security (tls.cpp): where plaintext may go, and what a failed connection attempt means.
#pragma once

#include <string>

#include <caf/fwd.hpp>

#include "grove/crdt/error.hpp"

namespace grove::actors::detail {

/// Whether `sys` may `action` ("listen on", "connect to") `address`: always with TLS; in
/// plaintext only on loopback, or with security_options::insecure. Error: permission_denied,
/// saying what is exposed and how to secure it.
status check_exposure(const caf::actor_system& sys, const std::string& action, const std::string& address);

/// The error of a failed connection attempt to `address` (HOST:PORT). A refused handshake is
/// permission_denied, says what it usually means (a wrong or missing cluster secret or
/// certificate), is counted (tls_handshake_refusals().outgoing) and logged on stderr, rate-limited
/// per address; anything else is unavailable ("cannot reach ...").
grove::error dial_failure(caf::actor_system& sys, const std::string& address, const caf::error& e);

}  // namespace grove::actors::detail
