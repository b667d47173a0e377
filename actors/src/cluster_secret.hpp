// The cluster secret's cryptography (OpenSSL's libcrypto): HMAC-SHA256, random nonces, and a
// constant-time comparison. The secret itself never goes on the wire, only MACs over nonces.
#pragma once

#include <string>

namespace grove::actors::detail {

/// HMAC-SHA256 of `data` under `key` (32 raw bytes).
std::string hmac_sha256(const std::string& key, const std::string& data);
/// 32 random bytes from OpenSSL's CSPRNG.
std::string random_nonce();
/// Equal contents, compared in time independent of where they differ.
bool same_mac(const std::string& a, const std::string& b);

}  // namespace grove::actors::detail
