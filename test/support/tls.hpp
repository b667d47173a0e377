// What the TLS and security tests share: the throwaway PKI's files for a node, and CAF's openssl
// module without files (anonymous TLS, which grove never configures itself).
#pragma once

#include <string>

#include <caf/openssl/manager.hpp>

#include "grove/actors/tls.hpp"
#include "support/node.hpp"
#include "support/test_pki.hpp"

namespace grove::testing {

/// The test program's PKI (tools/make_throwaway_pki.sh), made once.
inline const test_pki& pki() {
  static const test_pki instance;
  return instance;
}

/// Node `name`'s certificate and key, trusting `ca` ("ca" is the cluster's CA).
inline actors::tls_options files_of(const std::string& name, const std::string& ca = "ca") {
  return actors::tls_options{pki().file(name + ".pem"), pki().file(name + ".key"), "", pki().file(ca + ".pem")};
}

/// Configuration step: CAF's openssl module with no files, i.e. anonymous TLS.
inline void anonymous_tls(node_config& cfg) {
  cfg.load<caf::openssl::manager>();
  cfg.set("middleman.enable-automatic-connections", false);
}

}  // namespace grove::testing
