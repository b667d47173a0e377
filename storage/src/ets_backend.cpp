#include "grove/storage/ets_backend.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
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

// One named table: group -> value.
struct table {
  std::string name;
  std::shared_mutex mutex;
  std::unordered_map<group_key, bytes, group_hash> values;
  bool destroyed = false;
};

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

  status save(const group_key& g, bytes_view value) override {
    if (auto ok = check_write(g, value); !ok) return ok;
    std::unique_lock<std::shared_mutex> lock(table_->mutex);
    if (auto ok = check_open(); !ok) return ok;
    table_->values[g].assign(value.data(), value.size());
    return {};
  }

  status save_batch(const std::vector<group_value>& entries) override {
    for (const auto& e : entries)
      if (auto ok = check_write(e.key, e.value); !ok) return ok;
    std::unique_lock<std::shared_mutex> lock(table_->mutex);
    if (auto ok = check_open(); !ok) return ok;
    for (const auto& e : entries) table_->values[e.key] = e.value;
    return {};
  }

  expected<std::optional<bytes>> load(const group_key& g) override {
    if (auto ok = g.validate(); !ok) return ok.error();
    std::shared_lock<std::shared_mutex> lock(table_->mutex);
    if (auto ok = check_open(); !ok) return ok.error();
    auto it = table_->values.find(g);
    if (it == table_->values.end()) return std::optional<bytes>{};
    return std::optional<bytes>{it->second};
  }

  status erase(const group_key& g) override {
    if (auto ok = g.validate(); !ok) return ok;
    std::unique_lock<std::shared_mutex> lock(table_->mutex);
    if (auto ok = check_open(); !ok) return ok;
    table_->values.erase(g);
    return {};
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
  status check_write(const group_key& g, bytes_view value) const {
    if (auto ok = g.validate(); !ok) return ok;
    if (value.size() > opts_.max_value_size)
      return error(errc::too_large, "value of " + std::to_string(value.size()) + " bytes for group " +
                                      g.to_string() + " exceeds max_value_size " +
                                      std::to_string(opts_.max_value_size));
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
