#include "grove/crdt/error.hpp"

namespace grove {

const char* to_string(errc code) noexcept {
  switch (code) {
    case errc::invalid_argument: return "invalid_argument";
    case errc::truncated: return "truncated";
    case errc::bad_magic: return "bad_magic";
    case errc::unsupported_version: return "unsupported_version";
    case errc::type_mismatch: return "type_mismatch";
    case errc::checksum_mismatch: return "checksum_mismatch";
    case errc::malformed: return "malformed";
    case errc::too_large: return "too_large";
    case errc::compression_failed: return "compression_failed";
    case errc::io_error: return "io_error";
    case errc::closed: return "closed";
    case errc::locked: return "locked";
    case errc::not_a_store: return "not_a_store";
    case errc::disk_full: return "disk_full";
    case errc::permission_denied: return "permission_denied";
    case errc::unavailable: return "unavailable";
    case errc::not_found: return "not_found";
  }
  return "unknown";
}

std::string error::to_string() const { return std::string(grove::to_string(code_)) + ": " + message_; }

}  // namespace grove
