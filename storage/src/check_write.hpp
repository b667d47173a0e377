// What every backend checks before a write operation touches anything (backend.hpp's contract).
#pragma once

#include <cstdint>
#include <string>

#include "grove/storage/backend.hpp"

namespace grove::storage {

/// A valid group, a known kind of operation, log entries numbered from 1, and a value no larger
/// than `max_value_size`; invalid_argument or too_large naming the group otherwise.
inline status check_write(const group_key& key, write_op::kind what, std::uint64_t seq, std::size_t size,
                          std::size_t max_value_size) {
  if (auto ok = key.validate(); !ok) return ok;
  if (what > write_op::kind::erase)
    return error(errc::invalid_argument, "unknown write operation for group " + key.to_string());
  if (what == write_op::kind::append && seq == 0)
    return error(errc::invalid_argument, "log entry 0 for group " + key.to_string() + ": entries are numbered from 1");
  if (size > max_value_size)
    return error(errc::too_large, "value of " + std::to_string(size) + " bytes for group " + key.to_string()
                                    + " exceeds max_value_size " + std::to_string(max_value_size));
  return {};
}

}  // namespace grove::storage
