// Turns encoded Grove values into JSON, for grove-inspect and grove-node: a number for counters,
// a sorted array for sets, an object for maps, a string (or null) for registers, an array for
// lists. Only the CRDT types the tools use are known; others can still be checked (envelope and
// checksum) but not shown.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "grove/crdt/codec.hpp"

namespace grove::tools {

/// Whether values of this type name can be decoded and shown.
bool is_known_type(const std::string& type_name);

/// Decodes `encoded` (any known type, read from its envelope) and returns its value as JSON.
/// Errors: those of decode, and errc::type_mismatch for an unknown type.
expected<nlohmann::json> value_to_json(bytes_view encoded);

}  // namespace grove::tools
