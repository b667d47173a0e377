// A partition between two nodes and its healing, shared by the plaintext, secret and TLS tests.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <thread>

#include <boost/test/unit_test.hpp>

#include "grove/actors/network.hpp"
#include "grove/crdt/all.hpp"
#include "support/node.hpp"
#include "support/replication.hpp"
#include "support/tcp_proxy.hpp"

namespace grove::testing {

/// A node configuration step: no automatic direct connections between nodes.
inline void without_direct_connections(node_config& cfg) { cfg.set("middleman.enable-automatic-connections", false); }

/// Node c reaches node a only through a proxy: c dials a through it, a announces the proxy as its
/// address, and c does not listen, so nobody can go around the cut (make_node must also turn off
/// CAF's automatic connections, which would go straight to a's real port: see
/// without_direct_connections). Both write while the proxy is cut (it closes the connections) for
/// longer than failure detection's timeout; after the heal both hold every write. Returns the time from heal to
/// convergence.
inline std::chrono::milliseconds partition_heals(const std::function<std::unique_ptr<node>()>& make_node) {
  using namespace std::chrono;
  auto a = make_node(), c = make_node();
  auto port = actors::listen(*a->sys, a->membership, 0);
  BOOST_REQUIRE(port);
  tcp_proxy proxy(*port);
  // a announces the proxy as its address (as a node behind a NAT would), so that c, which learns
  // it from a's hello, redials through the proxy too.
  {
    caf::scoped_actor local{*a->sys};  // a local sender: with a secret, anonymous messages are ignored
    local->send(a->membership, actors::advertise_atom::value, std::string("127.0.0.1"), proxy.port());
  }  // (a scoped actor must be gone before its actor system)
  BOOST_REQUIRE(actors::connect(*c->sys, c->membership, "127.0.0.1", proxy.port()));
  storage::group_key g{"counter", "partitioned"};
  auto ra = a->replica<crdt::gcounter>("a", g);
  auto rc = c->replica<crdt::gcounter>("c", g);
  auto both_hold = [&](std::uint64_t want) {
    return value_of<crdt::gcounter>(*a->sys, ra)->value() == want
           && value_of<crdt::gcounter>(*c->sys, rc)->value() == want;
  };
  BOOST_REQUIRE(mutate(*a->sys, ra, op("increment", {"1"})));
  BOOST_REQUIRE(mutate(*c->sys, rc, op("increment", {"2"})));
  BOOST_REQUIRE(eventually([&] { return both_hold(3); }));

  proxy.cut();
  auto cut_at = steady_clock::now();
  BOOST_REQUIRE(eventually([&] { return nodes_known(*a) == 0 && nodes_known(*c) == 0; }));
  for (int i = 0; i < 10; ++i) {
    BOOST_REQUIRE(mutate(*a->sys, ra, op("increment", {"10"})));
    BOOST_REQUIRE(mutate(*c->sys, rc, op("increment", {"100"})));
  }
  // The scenario itself, not a wait for a condition: the cut outlasts failure detection's timeout.
  std::this_thread::sleep_until(cut_at + actors::liveness_timeout + milliseconds(500));
  BOOST_TEST(value_of<crdt::gcounter>(*a->sys, ra)->value() == 103u);  // still apart
  BOOST_TEST(value_of<crdt::gcounter>(*c->sys, rc)->value() == 1003u);

  proxy.heal();
  auto healed_at = steady_clock::now();
  BOOST_TEST(eventually([&] { return both_hold(1103); }));
  auto took = duration_cast<milliseconds>(steady_clock::now() - healed_at);
  BOOST_TEST(nodes_known(*a) == 1u);
  BOOST_TEST(nodes_known(*c) == 1u);
  c.reset();
  a.reset();
  return took;
}

}  // namespace grove::testing
