// A backend that passes every call to another one: test wrappers derive from it and override only
// what they change (usually write).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "grove/storage/backend.hpp"

namespace grove::testing {

class forwarding_backend : public storage::backend {
public:
  forwarding_backend(std::unique_ptr<storage::backend> inner, std::string label)
      : inner_(std::move(inner)), label_(std::move(label)) {}

  status write(const std::vector<storage::write_op>& ops) override { return inner_->write(ops); }
  expected<std::optional<bytes>> load(const storage::group_key& g) override { return inner_->load(g); }
  expected<std::vector<storage::log_entry>> read_log(const storage::group_key& g) override {
    return inner_->read_log(g);
  }
  expected<std::vector<storage::group_key>> list_groups() override { return inner_->list_groups(); }
  status sync() override { return inner_->sync(); }
  status close() override { return inner_->close(); }
  std::string describe() const override { return label_ + inner_->describe(); }

private:
  std::unique_ptr<storage::backend> inner_;
  std::string label_;
};

}  // namespace grove::testing
