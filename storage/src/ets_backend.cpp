#include "grove/storage/ets_backend.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <unordered_map>

namespace grove::storage {

namespace {

struct group_hash {
  std::size_t operator()(const group_key& g) const {
    std::size_t h = std::hash<std::string>{}(g.kind);
    return h ^ (std::hash<std::string>{}(g.name) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
  }
};

// What a table holds for one group: a snapshot, a log, or both.
struct group_data {
  std::optional<bytes> snapshot;
  std::map<std::uint64_t, bytes> log;
  bool empty() const { return !snapshot && log.empty(); }
};

// One named table: group -> its data.
struct table {
  std::string name;
  std::shared_mutex mutex;
  std::unordered_map<group_key, group_data, group_hash> values;
  bool destroyed = false;
};

// Applies one operation of a write to a copy of the table's data (checked beforehand).
void apply(std::unordered_map<group_key, group_data, group_hash>& values, const write_op& op) {
  auto& data = values[op.key];
  switch (op.what) {
    case write_op::kind::save: data.snapshot = op.value; break;
    case write_op::kind::append: data.log[op.seq] = op.value; break;
    case write_op::kind::truncate: data.log.erase(data.log.begin(), data.log.upper_bound(op.seq)); break;
    case write_op::kind::erase: data = group_data{}; break;
  }
  if (data.empty()) values.erase(op.key);
}

// The process-wide registry of named tables.
struct registry {
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<table>> tables;

  static registry& instance() {
    static registry r;
    return r;
  }

  std::shared_ptr<table> open(const std::string& name) {
    std::lock_guard<std::mutex> guard(mutex);
    auto& t = tables[name];
    if (!t) {
      t = std::make_shared<table>();
      t->name = name;
    }
    return t;
  }

  void destroy(const std::string& name) {
    std::shared_ptr<table> t;
    {
      std::lock_guard<std::mutex> guard(mutex);
      auto it = tables.find(name);
      if (it == tables.end()) return;
      t = std::move(it->second);
      tables.erase(it);
    }
    std::unique_lock<std::shared_mutex> lock(t->mutex);
    t->destroyed = true;
    t->values.clear();
  }
};

class ets_backend final : public backend {
public:
  ets_backend(std::shared_ptr<table> t, const ets_options& opts) : table_(std::move(t)), opts_(opts) {}

  status write(const std::vector<write_op>& ops) override {
    for (const auto& op : ops)
      if (auto ok = check_write(op); !ok) return ok;
    std::unique_lock<std::shared_mutex> lock(table_->mutex);
    if (auto ok = check_open(); !ok) return ok;
    // Nothing can fail once the operations are checked, so they go straight into the table.
    for (const auto& op : ops) apply(table_->values, op);
    return {};
  }

  expected<std::optional<bytes>> load(const group_key& g) override {
    if (auto ok = g.validate(); !ok) return ok.error();
    std::shared_lock<std::shared_mutex> lock(table_->mutex);
    if (auto ok = check_open(); !ok) return ok.error();
    auto it = table_->values.find(g);
    if (it == table_->values.end()) return std::optional<bytes>{};
    return it->second.snapshot;
  }

  expected<std::vector<log_entry>> read_log(const group_key& g) override {
    if (auto ok = g.validate(); !ok) return ok.error();
    std::shared_lock<std::shared_mutex> lock(table_->mutex);
    if (auto ok = check_open(); !ok) return ok.error();
    std::vector<log_entry> out;
    auto it = table_->values.find(g);
    if (it == table_->values.end()) return out;
    for (const auto& [seq, delta] : it->second.log) out.push_back({seq, delta});
    return out;
  }

  expected<std::vector<group_key>> list_groups() override {
    std::vector<group_key> out;
    {
      std::shared_lock<std::shared_mutex> lock(table_->mutex);
      if (auto ok = check_open(); !ok) return ok.error();
      out.reserve(table_->values.size());
      for (const auto& entry : table_->values) out.push_back(entry.first);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  status sync() override {
    std::shared_lock<std::shared_mutex> lock(table_->mutex);
    return check_open();
  }

  status close() override {
    closed_ = true;
    return {};
  }

  std::string describe() const override { return "ets:" + table_->name; }

private:
  status check_write(const write_op& op) const {
    if (auto ok = op.key.validate(); !ok) return ok;
    if (op.what > write_op::kind::erase)
      return error(errc::invalid_argument, "unknown write operation for group " + op.key.to_string());
    if (op.what == write_op::kind::append && op.seq == 0)
      return error(errc::invalid_argument,
                   "log entry 0 for group " + op.key.to_string() + ": entries are numbered from 1");
    if (op.value.size() > opts_.max_value_size)
      return error(errc::too_large, "value of " + std::to_string(op.value.size()) + " bytes for group "
                                      + op.key.to_string() + " exceeds max_value_size "
                                      + std::to_string(opts_.max_value_size));
    return {};
  }

  // Call with the table lock held.
  status check_open() const {
    if (closed_) return error(errc::closed, describe() + " is closed");
    if (table_->destroyed) return error(errc::closed, describe() + " was destroyed");
    return {};
  }

  std::shared_ptr<table> table_;
  ets_options opts_;
  std::atomic<bool> closed_{false};
};

}  // namespace

expected<std::unique_ptr<backend>> open_ets(const ets_options& opts) {
  if (opts.table.empty()) return error(errc::invalid_argument, "ets: table name is empty");
  if (opts.max_value_size == 0) return error(errc::invalid_argument, "ets: max_value_size is 0");
  return std::unique_ptr<backend>(new ets_backend(registry::instance().open(opts.table), opts));
}

void destroy_ets(const std::string& table) { registry::instance().destroy(table); }

}  // namespace grove::storage
