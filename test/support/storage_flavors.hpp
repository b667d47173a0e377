// The backends the storage contract suite runs against. Each flavor opens a fresh, empty store
// in a temporary directory.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "grove/storage/dets_backend.hpp"
#include "grove/storage/ets_backend.hpp"
#include "support/temp_dir.hpp"

namespace grove::testing {

struct ets_flavor {
  static constexpr const char* name = "ets";
  static std::unique_ptr<storage::backend> open(const temp_dir& dir) {
    static std::atomic<int> next{0};
    storage::ets_options opts;
    opts.table = dir.path() + "#" + std::to_string(next++);  // a table no other test uses
    opts.max_value_size = 1 << 20;
    return std::move(*storage::open_ets(opts));
  }
};

template <bool Durable>
struct dets_flavor {
  static constexpr const char* name = Durable ? "dets-durable" : "dets-write-behind";
  static std::unique_ptr<storage::backend> open(const temp_dir& dir) {
    storage::dets_options opts;
    opts.file = dir.file("store.grove");
    opts.durable = Durable;
    opts.auto_save = std::chrono::milliseconds(20);
    opts.max_value_size = 1 << 20;
    auto b = storage::open_dets(opts);
    if (!b) throw std::runtime_error(b.error().to_string());
    return std::move(*b);
  }
};

}  // namespace grove::testing
