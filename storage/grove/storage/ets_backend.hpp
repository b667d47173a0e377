// The ETS-style backend (Grove.Storage.ETS): an in-memory table of snapshots and logs.
//
// Named tables: every open of one name in one process shares the same data, until
// destroy(name) drops it. Data lives as long as the process (or until destroy): it is lost on
// restart. Safe for concurrent readers and writers on several threads (a reader-writer lock per
// table). close() closes this handle only; the table and its data stay for other handles.
#pragma once

#include <memory>
#include <string>

#include "grove/storage/backend.hpp"

namespace grove::storage {

struct ets_options {
  std::string table = "grove_ets_storage";
  /// Largest value a save accepts.
  std::size_t max_value_size = std::size_t{256} << 20;
};

/// init: opens (creating if needed) the named table. Error invalid_argument for an empty name or a
/// zero max_value_size.
expected<std::unique_ptr<backend>> open_ets(const ets_options& opts = {});

/// Drops the named table: its data is gone, and handles still open on it fail with errc::closed.
/// Dropping a table that does not exist succeeds.
void destroy_ets(const std::string& table);

}  // namespace grove::storage
