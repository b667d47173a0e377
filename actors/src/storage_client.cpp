#include "grove/actors/storage_client.hpp"

#include <atomic>

#include <caf/all.hpp>

#include "grove/actors/caf_error.hpp"

namespace grove::actors {

namespace {

class storage_client final : public storage::backend {
public:
  storage_client(caf::actor_system& sys, storage_actor actor, std::chrono::milliseconds timeout)
      : sys_(sys), actor_(std::move(actor)), timeout_(timeout) {}

  status write(const std::vector<storage::write_op>& ops) override {
    return ask<done_atom>(write_atom::value, ops);  // one request: all or nothing
  }

  expected<std::optional<bytes>> load(const storage::group_key& g) override {
    auto r = ask<load_result>(load_atom::value, g);
    if (!r) return r.error();
    if (!r->found) return std::optional<bytes>{};
    return std::optional<bytes>{std::move(r->value)};
  }

  expected<std::vector<storage::log_entry>> read_log(const storage::group_key& g) override {
    auto r = ask<load_result>(load_atom::value, g);
    if (!r) return r.error();
    return std::move(r->log);
  }

  expected<storage::stored_group> load_group(const storage::group_key& g) override {
    auto r = ask<load_result>(load_atom::value, g);
    if (!r) return r.error();
    storage::stored_group out;
    if (r->found) out.snapshot = std::move(r->value);
    out.log = std::move(r->log);
    return out;
  }

  expected<std::vector<storage::group_key>> list_groups() override {
    return ask<std::vector<storage::group_key>>(list_atom::value);
  }

  status sync() override { return ask<done_atom>(flush_atom::value); }

  status close() override {
    closed_ = true;
    return {};
  }

  std::string describe() const override { return "storage actor " + caf::to_string(actor_.address()); }

private:
  grove::error closed_error() const { return grove::error(errc::closed, describe() + ": client is closed"); }
  grove::error timeout_error() const { return grove::error(errc::unavailable, describe() + " did not answer in time"); }

  // One request; T is the reply type (done_atom replies become a status).
  template <class T, class... Ts>
  auto ask(Ts&&... xs) -> std::conditional_t<std::is_same_v<T, done_atom>, status, expected<T>> {
    using result_type = std::conditional_t<std::is_same_v<T, done_atom>, status, expected<T>>;
    if (closed_) return closed_error();
    caf::scoped_actor self{sys_};
    std::optional<result_type> result;
    self->request(actor_, timeout_, std::forward<Ts>(xs)...)
      .receive(
        [&](T& x) {
          if constexpr (std::is_same_v<T, done_atom>)
            result = status{};
          else
            result = result_type(std::move(x));
        },
        [&](caf::error& e) { result = result_type(from_caf_error(e)); });
    return std::move(*result);
  }

  caf::actor_system& sys_;
  storage_actor actor_;
  std::chrono::milliseconds timeout_;
  std::atomic<bool> closed_{false};
};

}  // namespace

std::unique_ptr<storage::backend> make_storage_client(caf::actor_system& sys, storage_actor actor,
                                                      std::chrono::milliseconds timeout) {
  return std::make_unique<storage_client>(sys, std::move(actor), timeout);
}

}  // namespace grove::actors
