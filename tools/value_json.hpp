// Turns encoded Grove values into JSON, for grove-inspect and grove-node: a number for counters,
// a sorted array for sets, an object for maps, a string (or null) for registers, an array for
// lists. Only the CRDT types the tools use are known; others can still be checked (envelope and
// checksum) but not shown. Every element, key and register value is written with escape_bytes
// (grove/crdt/escape.hpp), so any bytes show losslessly and the JSON is always valid UTF-8.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "grove/crdt/codec.hpp"

namespace grove::tools {

/// Whether values of this type name can be decoded and shown.
bool is_known_type(const std::string& type_name);

/// Decodes `encoded` (any known type, read from its envelope) and returns its value as JSON.
/// Errors: those of decode, and errc::type_mismatch for an unknown type.
expected<nlohmann::json> value_to_json(bytes_view encoded);

/// The value of several encodings of one type merged (a snapshot and the log entries after it,
/// say), as JSON. Errors: those of decode, naming the part (0 is the first), and
/// errc::type_mismatch for an unknown type or parts of different types.
expected<nlohmann::json> merged_value_to_json(const std::vector<bytes_view>& parts);

/// j as text (indent -1: one line). Never throws for content: the tools print every line through
/// it, and a byte that is not UTF-8 in a string becomes U+FFFD instead of aborting the process.
std::string dump_json(const nlohmann::json& j, int indent = -1);

}  // namespace grove::tools
