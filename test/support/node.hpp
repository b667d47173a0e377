// One test node: an actor system with Grove's node settings and its membership actor, plus
// helpers the multi-node tests share.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>
#include <caf/all.hpp>

#include "grove/actors/replication.hpp"
#include "support/actor_system.hpp"
#include "support/replication.hpp"

namespace grove::testing {

struct node_config : test_config {
  node_config() { actors::configure_node(*this); }
};

/// Changes a node's configuration before its actor system is built (e.g. enable_tls).
using config_step = std::function<void(node_config&)>;

// One actor system with its membership actor; stops every actor it spawned before it goes.
struct node {
  node_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  actors::membership_actor membership;
  std::vector<caf::actor> owned;

  explicit node(std::string secret = {}, const config_step& configure = {})
      : node(with_secret(std::move(secret)), configure) {}

  static actors::membership_options with_secret(std::string secret) {
    actors::membership_options o;
    o.secret = std::move(secret);
    return o;
  }

  explicit node(actors::membership_options options, const config_step& configure = {})
      : sys(build(cfg, configure)), membership(actors::spawn_membership(*sys, std::move(options))) {
    owned.push_back(caf::actor_cast<caf::actor>(membership));
  }

  ~node() {
    stop_all(*sys, owned);
    owned.clear();
    membership = nullptr;
    sys.reset();
  }

  template <class T>
  actors::replica_actor replica(const std::string& id, const storage::group_key& g,
                                actors::replication_options extra = {}) {
    extra.replica_id = id;
    extra.group = g;
    extra.membership = membership;
    if (extra.sync_interval == std::chrono::milliseconds(5000)) extra.sync_interval = std::chrono::milliseconds(20);
    auto r = actors::spawn_replica<T>(*sys, extra);
    BOOST_REQUIRE_MESSAGE(r, "spawn failed");
    owned.push_back(caf::actor_cast<caf::actor>(*r));
    return *r;
  }

private:
  static std::unique_ptr<caf::actor_system> build(node_config& cfg, const config_step& configure) {
    if (configure) configure(cfg);
    return std::make_unique<caf::actor_system>(cfg);
  }
};

/// Number of other nodes `n`'s membership trusts and talks to.
inline std::uint64_t nodes_known(node& n) {
  caf::scoped_actor self{*n.sys};
  std::uint64_t k = 0;
  self->request(n.membership, std::chrono::seconds(5), actors::nodes_atom::value)
    .receive([&](std::uint64_t x) { k = x; }, [](caf::error&) {});
  return k;
}

inline crdt::operation op(std::string name, std::vector<std::string> args = {}) {
  return crdt::operation{std::move(name), std::move(args)};
}

}  // namespace grove::testing
