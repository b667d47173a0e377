// Replication servers, membership and nodes: replicas converge, in one actor system and across
// actor systems connected over the io middleman, also with lost deltas and after a restart from
// storage; snapshots happen when they should and only then.
#define BOOST_TEST_MODULE replication
#include <boost/test/unit_test.hpp>

#include <linux/filter.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <atomic>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "grove/actors/replication.hpp"
#include "grove/actors/shutdown.hpp"
#include "grove/actors/storage_actor.hpp"
#include "grove/crdt/all.hpp"
#include "grove/storage/dets_backend.hpp"
#include "grove/storage/ets_backend.hpp"
#include "support/node.hpp"
#include "support/partition.hpp"
#include "support/printing.hpp"
#include "support/replication.hpp"
#include "support/temp_dir.hpp"

using namespace grove::actors;
using namespace grove::crdt;
using namespace grove::testing;
using grove::errc;
using grove::storage::group_key;

namespace {

using replica_on_system = std::pair<caf::actor_system*, replica_actor>;

}  // namespace

BOOST_AUTO_TEST_CASE(invalid_options_are_an_error_at_spawn) {
  node n;
  replication_options o;
  o.group = group_key{"counter", "c"};
  BOOST_TEST(spawn_replica<gcounter>(*n.sys, o).error().code() == errc::invalid_argument);  // no replica id
  o.replica_id = "a";
  o.sync_interval = std::chrono::milliseconds(0);
  BOOST_TEST(spawn_replica<gcounter>(*n.sys, o).error().message().find("sync_interval") != std::string::npos);
  o.sync_interval = std::chrono::milliseconds(10);
  o.group = group_key{"", "c"};
  BOOST_TEST(spawn_replica<gcounter>(*n.sys, o).error().code() == errc::invalid_argument);
  o.group = group_key{"counter", "c"};
  o.name = "much-too-long-a-name";
  BOOST_TEST(spawn_replica<gcounter>(*n.sys, o).error().code() == errc::invalid_argument);
}

BOOST_AUTO_TEST_CASE(operations_a_type_does_not_have_are_refused_and_the_replica_keeps_serving) {
  node n;
  auto r = n.replica<gcounter>("a", group_key{"counter", "c"});
  auto bad = mutate(*n.sys, r, op("add", {"x"}));
  BOOST_REQUIRE(!bad);
  BOOST_TEST(bad.error().code() == errc::invalid_argument);
  BOOST_TEST(bad.error().message().find("increment") != std::string::npos);
  BOOST_TEST(mutate(*n.sys, r, op("increment", {"-3"})).error().code() == errc::invalid_argument);
  BOOST_TEST(bool(mutate(*n.sys, r, op("increment", {"3"}))));
  BOOST_TEST(value_of<gcounter>(*n.sys, r)->value() == 3u);
}

// A writer's operations reach the replica in the order written, each alone: a read sent after the
// last write sees all of them, and a refused one (an index past the end) loses only itself.
BOOST_AUTO_TEST_CASE(a_mutation_writer_applies_operations_in_the_order_written_and_counts_refusals) {
  node n;
  auto r = n.replica<rga<std::string>>("a", group_key{"list", "l"});
  auto writer = mutation_writer::make(r);
  BOOST_REQUIRE(writer);
  std::vector<std::string> model;
  for (int i = 0; i < 2000; ++i) {
    auto v = "v" + std::to_string(i);
    BOOST_REQUIRE(writer->write(op("insert", {std::to_string(i), v})));
    model.push_back(v);
    if (i == 1000) BOOST_REQUIRE(writer->write(op("insert", {"99999", "past the end"})));
  }
  BOOST_TEST(value_of<rga<std::string>>(*n.sys, r)->value() == model);
  BOOST_TEST(writer->refused() == 1u);
  BOOST_REQUIRE(writer->last_refusal());
  BOOST_TEST(writer->last_refusal()->message().find("past the end") != std::string::npos);
  BOOST_TEST(stats_of(*n.sys, r).mutations == 2000u);
}

BOOST_AUTO_TEST_CASE(a_mutation_writer_shared_by_threads_loses_no_operation) {
  node n;
  auto r = n.replica<gcounter>("a", group_key{"counter", "c"});
  auto writer = *mutation_writer::make(r);
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t)
    threads.emplace_back([writer]() mutable {
      for (int i = 0; i < 50'000; ++i)
        if (!writer.write(op("increment", {}))) return;
    });
  for (auto& t : threads) t.join();
  BOOST_TEST(value_of<gcounter>(*n.sys, r)->value() == 150'000u);
  // One at a time: each write finds the queue empty and must wake the replica itself.
  for (std::uint64_t i = 1; i <= 20; ++i) {
    BOOST_REQUIRE(writer.write(op("increment", {})));
    BOOST_REQUIRE(value_of<gcounter>(*n.sys, r)->value() == 150'000u + i);
  }
}

// A writer whose replica is gone keeps at most max_queued operations and then says so.
BOOST_AUTO_TEST_CASE(a_mutation_writer_refuses_operations_beyond_its_bound_and_invalid_handles) {
  node n;
  BOOST_TEST(mutation_writer::make(replica_actor{}).error().code() == errc::invalid_argument);
  auto r = n.replica<gcounter>("a", group_key{"counter", "c"});
  BOOST_TEST(mutation_writer::make(r, 0).error().code() == errc::invalid_argument);
  auto writer = *mutation_writer::make(r, 3);
  {
    caf::scoped_actor self{*n.sys};
    self->send_exit(r, caf::exit_reason::user_shutdown);
    self->wait_for(r);
  }
  for (int i = 0; i < 3; ++i) BOOST_TEST(bool(writer.write(op("increment", {}))));
  auto full = writer.write(op("increment", {}));
  BOOST_REQUIRE(!full);
  BOOST_TEST(full.error().code() == errc::unavailable);
  BOOST_TEST(full.error().message().find("last 3 operations") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(counters_on_three_replicas_converge_to_the_sum_of_all_increments) {
  node n;
  group_key g{"counter", "views"}, pg{"pncounter", "balance"};
  std::vector<replica_actor> c, p;
  for (auto id : {"a", "b", "c"}) {
    c.push_back(n.replica<gcounter>(id, g));
    p.push_back(n.replica<pncounter>(id, pg));
  }
  std::mt19937 rng(42);
  std::uint64_t total = 0;
  std::int64_t balance = 0;
  for (int i = 0; i < 300; ++i) {
    auto k = 1 + rng() % 5;
    total += k;
    BOOST_REQUIRE(mutate(*n.sys, c[rng() % 3], op("increment", {std::to_string(k)})));
    bool up = rng() % 2;
    balance += up ? std::int64_t(k) : -std::int64_t(k);
    BOOST_REQUIRE(mutate(*n.sys, p[rng() % 3], op(up ? "increment" : "decrement", {std::to_string(k)})));
  }
  for (auto& r : c) BOOST_TEST(eventually([&] { return value_of<gcounter>(*n.sys, r)->value() == total; }));
  for (auto& r : p) BOOST_TEST(eventually([&] { return value_of<pncounter>(*n.sys, r)->value() == balance; }));
}

BOOST_AUTO_TEST_CASE(sets_maps_and_registers_on_three_replicas_converge_to_the_model) {
  node n;
  group_key sg{"set", "users"}, mg{"map", "settings"}, rg{"register", "title"};
  std::vector<replica_actor> sets, maps, regs;
  const std::vector<std::string> ids{"a", "b", "c"};
  for (auto& id : ids) {
    sets.push_back(n.replica<orset<std::string>>(id, sg));
    maps.push_back(n.replica<ormap<std::string, lww_register<std::string>>>(id, mg));
    regs.push_back(n.replica<lww_register<std::string>>(id, rg));
  }
  // Each element and key belongs to one replica, so the sequential model is exact.
  std::mt19937 rng(7);
  std::set<std::string> model_set;
  std::map<std::string, std::string> model_map;
  for (int i = 0; i < 200; ++i) {
    std::size_t who = rng() % 3;
    auto element = ids[who] + "-" + std::to_string(rng() % 15);
    if (rng() % 3 == 0) {
      BOOST_REQUIRE(mutate(*n.sys, sets[who], op("remove", {element})));
      model_set.erase(element);
      BOOST_REQUIRE(mutate(*n.sys, maps[who], op("erase", {element})));
      model_map.erase(element);
    } else {
      BOOST_REQUIRE(mutate(*n.sys, sets[who], op("add", {element})));
      model_set.insert(element);
      auto value = "v" + std::to_string(i);
      BOOST_REQUIRE(mutate(*n.sys, maps[who], op("put", {element, value})));
      model_map[element] = value;
    }
  }
  // Register writes in sequence: each write is seen everywhere before the next.
  std::string last;
  for (int i = 0; i < 10; ++i) {
    last = "title " + std::to_string(i);
    BOOST_REQUIRE(mutate(*n.sys, regs[rng() % 3], op("set", {last})));
    for (auto& r : regs)
      BOOST_REQUIRE(eventually([&] { return *value_of<lww_register<std::string>>(*n.sys, r)->value() == last; }));
  }
  for (auto& r : sets)
    BOOST_TEST(eventually([&] { return value_of<orset<std::string>>(*n.sys, r)->value() == model_set; }));
  for (auto& r : maps)
    BOOST_TEST(eventually([&] {
      auto m = value_of<ormap<std::string, lww_register<std::string>>>(*n.sys, r);
      std::map<std::string, std::string> seen;
      for (auto& [k, v] : m->value()) seen[k] = v.value().value_or("");
      return seen == model_map;
    }));
}

BOOST_AUTO_TEST_CASE(a_subscriber_gets_the_new_state_after_a_change) {
  node n;
  auto r = n.replica<gcounter>("a", group_key{"counter", "c"});
  caf::scoped_actor self{*n.sys};
  self->send(r, add_subscriber_atom::value, caf::actor_cast<caf::actor>(self));
  BOOST_REQUIRE(mutate(*n.sys, r, op("increment", {"5"})));
  std::uint64_t seen = 0;
  self->receive(
    [&](changed_atom, const std::string& g, const grove::bytes& state) {
      BOOST_TEST(g == "counter:c");
      seen = decode<gcounter>(state)->value();
    },
    caf::after(std::chrono::seconds(10)) >> [] { BOOST_FAIL("no change notification"); });
  BOOST_TEST(seen == 5u);
  self->send(r, remove_subscriber_atom::value, caf::actor_cast<caf::actor>(self));
}

BOOST_AUTO_TEST_CASE(replicas_converge_even_when_30_percent_of_deltas_are_lost) {
  node n;
  group_key g{"set", "lossy"};
  std::vector<replica_actor> rs;
  for (int i = 0; i < 3; ++i) {
    replication_options o;
    o.drop_deltas = 0.3;
    o.drop_seed = 100 + i;
    o.digest_interval = std::chrono::milliseconds(100);
    rs.push_back(n.replica<orset<std::string>>("r" + std::to_string(i), g, o));
  }
  std::set<std::string> model;
  for (int i = 0; i < 150; ++i) {
    auto e = "e" + std::to_string(i);
    BOOST_REQUIRE(mutate(*n.sys, rs[i % 3], op("add", {e})));
    model.insert(e);
  }
  for (auto& r : rs) BOOST_TEST(eventually([&] { return value_of<orset<std::string>>(*n.sys, r)->value() == model; }));
  std::uint64_t dropped = 0, gaps = 0;
  for (auto& r : rs) {
    auto s = stats_of(*n.sys, r);
    dropped += s.deltas_dropped;
    gaps += s.gaps;
  }
  BOOST_TEST_MESSAGE("deltas dropped " << dropped << ", gaps seen " << gaps);
  BOOST_TEST(dropped > 0u);
}

namespace {

replica_stats sync_now(caf::actor_system& sys, const replica_actor& r) {
  caf::scoped_actor self{sys};
  self->request(r, std::chrono::seconds(5), broadcast_atom::value).receive([](done_atom) {}, [](caf::error&) {});
  return stats_of(sys, r);
}

}  // namespace

// No timers help here (sync and digests every hour): only the sequence numbers can find the lost
// deltas, and the sender resends them from its buffer of recent deltas: no full state.
BOOST_AUTO_TEST_CASE(a_gap_in_the_sequence_numbers_is_repaired_by_resending_the_missing_deltas) {
  node n;
  group_key g{"set", "gappy"};
  replication_options lossy, quiet;
  for (auto* o : {&lossy, &quiet}) {
    o->sync_interval = std::chrono::hours(1);
    o->digest_interval = std::chrono::hours(1);
  }
  lossy.drop_deltas = 0.5;
  lossy.drop_seed = 7;
  auto a = n.replica<orset<std::string>>("a", g, lossy);
  auto b = n.replica<orset<std::string>>("b", g, quiet);
  // Both hold nothing when they meet, so neither greets the other with a state.
  BOOST_REQUIRE(eventually([&] { return stats_of(*n.sys, a).peers == 1u && stats_of(*n.sys, b).peers == 1u; }));
  auto states_before = stats_of(*n.sys, b).states_received;
  std::set<std::string> model;
  for (int i = 0; i < 20; ++i) {
    BOOST_REQUIRE(mutate(*n.sys, a, op("add", {"e" + std::to_string(i)})));
    model.insert("e" + std::to_string(i));
    sync_now(*n.sys, a);  // one delta, dropped or delivered
  }
  // Then changes until one delta gets through: it carries the gap (if the one before was lost).
  for (int i = 0; i < 50; ++i) {
    BOOST_REQUIRE(mutate(*n.sys, a, op("add", {"tail" + std::to_string(i)})));
    model.insert("tail" + std::to_string(i));
    auto sent = stats_of(*n.sys, a).deltas_sent;
    if (sync_now(*n.sys, a).deltas_sent > sent) break;
  }
  auto sa = stats_of(*n.sys, a);
  BOOST_TEST_MESSAGE("dropped " << sa.deltas_dropped << " of " << sa.deltas_dropped + sa.deltas_sent);
  BOOST_REQUIRE(sa.deltas_dropped > 0u);
  BOOST_TEST(eventually([&] { return value_of<orset<std::string>>(*n.sys, b)->value() == model; }));
  auto sb = stats_of(*n.sys, b);
  BOOST_TEST(sb.gaps >= 1u);
  BOOST_TEST(stats_of(*n.sys, a).deltas_resent >= 1u);
  BOOST_TEST(sb.states_received == states_before);
}

// max_message_bytes at its minimum: a full state of about 10 KB goes in chunks, and a delta
// larger than one message goes as a full state instead.
BOOST_AUTO_TEST_CASE(big_states_travel_in_chunks_at_most_4_in_flight_and_an_oversized_delta_as_a_full_state) {
  node n;
  group_key g{"set", "chunked"};
  replication_options small;
  small.max_message_bytes = 1024;
  small.sync_interval = std::chrono::hours(1);
  small.digest_interval = std::chrono::hours(1);
  auto a = n.replica<orset<std::string>>("a", g, small);
  std::set<std::string> model;
  for (int i = 0; i < 200; ++i) {
    auto e = "element-" + std::to_string(i) + std::string(40, '.');
    BOOST_REQUIRE(mutate(*n.sys, a, op("add", {e})));
    model.insert(e);
  }
  BOOST_REQUIRE(state_of(*n.sys, a).size() > 8 * small.max_message_bytes);  // many chunks
  sync_now(*n.sys, a);                                                      // nobody to send to yet
  auto b = n.replica<orset<std::string>>("b", g, small);                    // gets a's state on joining, in chunks
  BOOST_TEST(eventually([&] { return value_of<orset<std::string>>(*n.sys, b)->value() == model; }));
  BOOST_TEST(stats_of(*n.sys, b).states_received >= 1u);
  // The chunks went a few at a time: each waited for the acknowledgement of an earlier one.
  BOOST_TEST(stats_of(*n.sys, a).chunks_in_flight_peak >= 2u);
  BOOST_TEST(stats_of(*n.sys, a).chunks_in_flight_peak <= 4u);

  auto before = stats_of(*n.sys, a);
  auto big = std::string(5000, 'x');  // its delta is larger than one message
  BOOST_REQUIRE(mutate(*n.sys, a, op("add", {big})));
  model.insert(big);
  auto after = sync_now(*n.sys, a);
  BOOST_TEST(after.deltas_sent == before.deltas_sent);      // no delta went out ...
  BOOST_TEST(after.states_sent == before.states_sent + 1);  // ... a full state did
  BOOST_TEST(eventually([&] { return value_of<orset<std::string>>(*n.sys, b)->value() == model; }));
}

BOOST_AUTO_TEST_CASE(replicas_converge_when_every_delta_is_lost_through_digests_alone) {
  node n;
  group_key g{"counter", "cut-off"};
  std::vector<replica_actor> rs;
  for (int i = 0; i < 3; ++i) {
    replication_options o;
    o.drop_deltas = 1.0;
    o.digest_interval = std::chrono::milliseconds(50);
    rs.push_back(n.replica<gcounter>("r" + std::to_string(i), g, o));
  }
  for (int i = 0; i < 30; ++i) BOOST_REQUIRE(mutate(*n.sys, rs[i % 3], op("increment")));
  for (auto& r : rs) BOOST_TEST(eventually([&] { return value_of<gcounter>(*n.sys, r)->value() == 30u; }));
}

// Anti-entropy between two nodes goes per pair of nodes: the digests of 200 groups that change
// within a second travel in a few messages per round, not 200, and they still repair (every delta of
// node a is lost, so b gets a's changes only because a relayed digest made it ask for them).
BOOST_AUTO_TEST_CASE(digests_of_many_groups_travel_between_two_nodes_in_one_message_per_round) {
  auto a = std::make_unique<node>(), b = std::make_unique<node>();
  auto port = listen(*a->sys, a->membership, 0);
  BOOST_REQUIRE(port);
  BOOST_REQUIRE(connect(*b->sys, b->membership, "127.0.0.1", *port));
  constexpr int groups = 200;
  std::vector<replica_actor> on_a, on_b;
  for (int i = 0; i < groups; ++i) {
    group_key g{"counter", "many-" + std::to_string(i)};
    replication_options lossy;
    lossy.drop_deltas = 1.0;
    lossy.digest_interval = std::chrono::milliseconds(100);
    on_a.push_back(a->replica<gcounter>("a", g, lossy));
    replication_options plain;
    plain.digest_interval = std::chrono::milliseconds(100);
    on_b.push_back(b->replica<gcounter>("b", g, plain));
  }
  for (int i = 0; i < groups; ++i) BOOST_REQUIRE(eventually([&] { return stats_of(*a->sys, on_a[i]).peers == 1u; }));
  // The changes are spread over a second, yet the rounds of all groups fall on the same instants.
  for (int i = 0; i < groups; ++i) {
    BOOST_REQUIRE(mutate(*a->sys, on_a[i], op("increment", {std::to_string(i + 1)})));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // the scenario: writes spread in time
  }
  for (int i = 0; i < groups; ++i)
    BOOST_TEST(eventually([&] { return value_of<gcounter>(*b->sys, on_b[i])->value() == std::uint64_t(i + 1); }));
  membership_stats s;
  {
    caf::scoped_actor self{*a->sys};  // gone before its actor system
    self->request(a->membership, std::chrono::seconds(5), stats_atom::value)
      .receive([&](membership_stats& x) { s = x; }, [](caf::error&) {});
  }
  BOOST_TEST_MESSAGE(s.digests_relayed << " digests in " << s.digest_messages << " messages");
  BOOST_TEST(s.digests_relayed >= std::uint64_t(groups));
  BOOST_TEST(s.digest_messages * 40 <= s.digests_relayed);  // at least 40 digests per message
  BOOST_TEST(s.digests_refused == 0u);
  b.reset();
  a.reset();
}

// While deltas flow without loss, a write costs its delta: after the greeting no full state of the
// big set crosses, although digest rounds run all the time.
BOOST_AUTO_TEST_CASE(while_deltas_flow_without_loss_no_full_state_crosses) {
  node n;
  group_key g{"set", "big-and-busy"};
  replication_options o;
  o.digest_interval = std::chrono::milliseconds(20);
  auto a = n.replica<orset<std::string>>("a", g, o);
  for (int i = 0; i < 20'000; ++i) BOOST_REQUIRE(mutate(*n.sys, a, op("add", {"base-" + std::to_string(i)})));
  auto b = n.replica<orset<std::string>>("b", g, o);
  BOOST_REQUIRE(eventually([&] { return value_of<orset<std::string>>(*n.sys, b)->size() == 20'000u; }));
  auto a_before = stats_of(*n.sys, a), b_before = stats_of(*n.sys, b);
  for (int i = 0; i < 300; ++i) {  // writes on both sides, for about 15 digest rounds
    BOOST_REQUIRE(mutate(*n.sys, i % 2 ? a : b, op("add", {"busy-" + std::to_string(i)})));
    if (i % 20 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  BOOST_REQUIRE(eventually([&] { return same_state({{n.sys.get(), a}, {n.sys.get(), b}}); }));
  auto a_after = stats_of(*n.sys, a), b_after = stats_of(*n.sys, b);
  BOOST_TEST(a_after.digests_sent > a_before.digests_sent + 5);
  BOOST_TEST(a_after.states_sent == a_before.states_sent);
  BOOST_TEST(b_after.states_sent == b_before.states_sent);
}

// Every broadcast delta is lost: the digests find it, and the sender resends the deltas the other
// lacks instead of its full state.
BOOST_AUTO_TEST_CASE(a_digest_mismatch_is_repaired_by_the_missing_deltas_not_a_full_state) {
  node n;
  group_key g{"set", "repaired"};
  replication_options lossy;
  lossy.drop_deltas = 1.0;
  lossy.digest_interval = std::chrono::milliseconds(30);
  auto a = n.replica<orset<std::string>>("a", g, lossy);
  for (int i = 0; i < 5'000; ++i) BOOST_REQUIRE(mutate(*n.sys, a, op("add", {"held-" + std::to_string(i)})));
  auto b = n.replica<orset<std::string>>("b", g, lossy);
  BOOST_REQUIRE(eventually([&] { return value_of<orset<std::string>>(*n.sys, b)->size() == 5'000u; }));
  auto before = stats_of(*n.sys, a);
  for (int i = 0; i < 10; ++i) BOOST_REQUIRE(mutate(*n.sys, a, op("add", {"late-" + std::to_string(i)})));
  BOOST_TEST(eventually([&] { return value_of<orset<std::string>>(*n.sys, b)->size() == 5'010u; }));
  auto after = stats_of(*n.sys, a);
  BOOST_TEST(after.deltas_dropped > before.deltas_dropped);
  BOOST_TEST(after.deltas_resent > before.deltas_resent);
  BOOST_TEST(after.states_sent == before.states_sent);  // the held 5,000 elements did not travel again
}

// After convergence nothing is sent and no timer runs: idle costs nothing, whatever the state.
BOOST_AUTO_TEST_CASE(idle_replicas_send_nothing_between_themselves) {
  node n;
  group_key g{"counter", "idle"};
  replication_options o;
  o.digest_interval = std::chrono::milliseconds(10);
  std::vector<replica_actor> rs;
  for (int i = 0; i < 3; ++i) rs.push_back(n.replica<gcounter>("r" + std::to_string(i), g, o));
  for (int i = 0; i < 30; ++i) BOOST_REQUIRE(mutate(*n.sys, rs[i % 3], op("increment")));
  for (auto& r : rs) BOOST_REQUIRE(eventually([&] { return value_of<gcounter>(*n.sys, r)->value() == 30u; }));
  auto sent = [&] {
    std::uint64_t total = 0;
    for (auto& r : rs) {
      auto s = stats_of(*n.sys, r);
      total += s.deltas_sent + s.deltas_resent + s.digests_sent + s.states_sent;
    }
    return total;
  };
  // A few digest rounds follow the last change; then silence.
  std::uint64_t last = 0;
  BOOST_REQUIRE(eventually([&] {
    auto now = sent();
    bool settled = now == last;
    last = now;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return settled;
  }));
  BOOST_TEST(holds_throughout([&] { return sent() == last; }, std::chrono::milliseconds(500)));
}

// A replica forgets what it tracked of a peer that went away.
BOOST_AUTO_TEST_CASE(per_peer_state_goes_with_the_peer) {
  node n;
  group_key g{"counter", "forgetful"};
  auto a = n.replica<gcounter>("a", g);
  auto b = n.replica<gcounter>("b", g);
  auto c = n.replica<gcounter>("c", g);
  for (auto& r : {a, b, c}) BOOST_REQUIRE(mutate(*n.sys, r, op("increment")));
  BOOST_REQUIRE(eventually([&] { return value_of<gcounter>(*n.sys, a)->value() == 3u; }));
  BOOST_REQUIRE(stats_of(*n.sys, a).origins == 2u);
  stop_all(*n.sys, {caf::actor_cast<caf::actor>(b), caf::actor_cast<caf::actor>(c)});
  BOOST_TEST(eventually([&] { return stats_of(*n.sys, a).origins == 0u && stats_of(*n.sys, a).peers == 0u; }));
  BOOST_TEST(value_of<gcounter>(*n.sys, a)->value() == 3u);  // the values stay, the bookkeeping goes
}

BOOST_AUTO_TEST_CASE(snapshots_are_written_after_an_interval_and_on_stop_and_never_without_change) {
  node n;
  temp_dir dir;
  grove::storage::ets_options eo;
  eo.table = dir.path();
  auto store = spawn_storage_actor(*n.sys, std::move(*grove::storage::open_ets(eo)));
  n.owned.push_back(caf::actor_cast<caf::actor>(store));
  auto stored_value = [&](const group_key& g) -> std::optional<std::uint64_t> {
    caf::scoped_actor self{*n.sys};
    std::optional<std::uint64_t> out;
    self->request(store, std::chrono::seconds(5), load_atom::value, g)
      .receive(
        [&](load_result& r) {
          if (r.found) out = decode<gcounter>(r.value)->value();
        },
        [](caf::error&) {});
    return out;
  };

  replication_options periodic;
  periodic.storage = store;
  periodic.snapshot_interval = std::chrono::milliseconds(30);
  group_key g1{"counter", "periodic"};
  auto r1 = n.replica<gcounter>("a", g1, periodic);
  BOOST_REQUIRE(mutate(*n.sys, r1, op("increment", {"7"})));
  BOOST_TEST(eventually([&] { return stored_value(g1) == std::optional<std::uint64_t>(7); }));

  // Nothing changes: for ten snapshot intervals no timer fires and nothing is written.
  auto before = stats_of(*n.sys, r1);
  BOOST_TEST(holds_throughout(
    [&] {
      auto now = stats_of(*n.sys, r1);
      return now.snapshot_ticks == before.snapshot_ticks && now.snapshots == before.snapshots;
    },
    std::chrono::milliseconds(300)));
  // The next change arms the timer again.
  BOOST_REQUIRE(mutate(*n.sys, r1, op("increment", {"1"})));
  BOOST_TEST(eventually([&] { return stored_value(g1) == std::optional<std::uint64_t>(8); }));

  replication_options rare;
  rare.storage = store;
  rare.snapshot_interval = std::chrono::hours(1);
  group_key g2{"counter", "on-stop"};
  auto r2 = n.replica<gcounter>("b", g2, rare);
  BOOST_REQUIRE(mutate(*n.sys, r2, op("increment", {"9"})));
  BOOST_TEST(!stored_value(g2).has_value());
  stop_all(*n.sys, {caf::actor_cast<caf::actor>(r2)});
  BOOST_TEST(eventually([&] { return stored_value(g2) == std::optional<std::uint64_t>(9); }));
}

BOOST_AUTO_TEST_CASE(a_replica_restarted_from_its_store_has_its_old_state_and_what_others_did_meanwhile) {
  node n;
  temp_dir dir;
  grove::storage::dets_options d;
  d.file = dir.file("c.grove");
  d.durable = true;
  auto store = spawn_storage_actor(*n.sys, std::move(*grove::storage::open_dets(d)));
  n.owned.push_back(caf::actor_cast<caf::actor>(store));
  group_key g{"set", "restart"};
  replication_options with_store;
  with_store.storage = store;
  auto a = n.replica<orset<std::string>>("a", g);
  auto b = n.replica<orset<std::string>>("b", g);
  auto c = n.replica<orset<std::string>>("c", g, with_store);
  BOOST_REQUIRE(mutate(*n.sys, c, op("add", {"from c before"})));
  BOOST_REQUIRE(mutate(*n.sys, a, op("add", {"from a before"})));
  BOOST_REQUIRE(eventually([&] { return value_of<orset<std::string>>(*n.sys, c)->size() == 2; }));
  stop_all(*n.sys, {caf::actor_cast<caf::actor>(c)});  // final snapshot goes to the store
  BOOST_REQUIRE(mutate(*n.sys, a, op("add", {"from a meanwhile"})));
  // An observed remove: b removes only what it has seen, so it must have a's add first.
  BOOST_REQUIRE(eventually([&] { return value_of<orset<std::string>>(*n.sys, b)->contains("from a before"); }));
  BOOST_REQUIRE(mutate(*n.sys, b, op("remove", {"from a before"})));
  auto c2 = n.replica<orset<std::string>>("c", g, with_store);
  std::set<std::string> expected{"from c before", "from a meanwhile"};
  for (auto& r : {a, b, c2})
    BOOST_TEST(eventually([&] { return value_of<orset<std::string>>(*n.sys, r)->value() == expected; }));
  BOOST_REQUIRE(mutate(*n.sys, c2, op("add", {"from c after"})));
  BOOST_TEST(eventually([&] { return value_of<orset<std::string>>(*n.sys, a)->contains("from c after"); }));
}

BOOST_AUTO_TEST_CASE(three_actor_systems_over_the_middleman_converge_and_a_remote_actor_mutates) {
  auto a = std::make_unique<node>(), b = std::make_unique<node>(), c = std::make_unique<node>();
  auto port = listen(*a->sys, a->membership, 0);
  BOOST_REQUIRE(port);
  BOOST_REQUIRE(connect(*b->sys, b->membership, "127.0.0.1", *port));
  BOOST_REQUIRE(connect(*c->sys, c->membership, "127.0.0.1", *port));  // c learns b through a
  group_key g{"counter", "distributed"}, sg{"set", "distributed"};
  auto ra = a->replica<gcounter>("a", g), rb = b->replica<gcounter>("b", g), rc = c->replica<gcounter>("c", g);
  auto sa = a->replica<orset<std::string>>("a", sg), sb = b->replica<orset<std::string>>("b", sg),
       sc = c->replica<orset<std::string>>("c", sg);
  BOOST_TEST(eventually([&] {
    caf::scoped_actor on_c{*c->sys};
    std::uint64_t nodes = 0;
    on_c->request(c->membership, std::chrono::seconds(5), nodes_atom::value)
      .receive([&](std::uint64_t k) { nodes = k; }, [](caf::error&) {});
    return nodes == 2;
  }));
  std::mt19937 rng(3);
  std::uint64_t total = 0;
  std::set<std::string> model;
  std::vector<replica_on_system> counters{{a->sys.get(), ra}, {b->sys.get(), rb}, {c->sys.get(), rc}};
  std::vector<replica_on_system> sets{{a->sys.get(), sa}, {b->sys.get(), sb}, {c->sys.get(), sc}};
  for (int i = 0; i < 60; ++i) {
    auto k = 1 + rng() % 4;
    auto& [sys, r] = counters[rng() % 3];
    BOOST_REQUIRE(mutate(*sys, r, op("increment", {std::to_string(k)})));
    total += k;
    auto& [ssys, s] = sets[i % 3];
    auto e = "e" + std::to_string(i);
    BOOST_REQUIRE(mutate(*ssys, s, op("add", {e})));
    model.insert(e);
  }
  // An actor on node c mutates the replica that lives on node a, through c's membership view.
  std::vector<caf::strong_actor_ptr> members;
  BOOST_REQUIRE(eventually([&] {
    caf::scoped_actor on_c{*c->sys};
    on_c->request(c->membership, std::chrono::seconds(5), members_atom::value, std::string("counter:distributed"))
      .receive([&](std::vector<caf::strong_actor_ptr>& ms) { members = ms; }, [](caf::error&) {});
    return members.size() == 3;
  }));
  auto remote_a = std::find_if(members.begin(), members.end(), [&](auto& m) { return m->node() == a->sys->node(); });
  BOOST_REQUIRE(remote_a != members.end());
  BOOST_REQUIRE(mutate(*c->sys, caf::actor_cast<replica_actor>(*remote_a), op("increment", {"1000"})));
  // A writer's batches point into its process: a replica elsewhere gets none.
  BOOST_TEST(mutation_writer::make(caf::actor_cast<replica_actor>(*remote_a)).error().code() == errc::invalid_argument);
  total += 1000;
  for (auto& [sys, r] : counters) BOOST_TEST(eventually([&] { return value_of<gcounter>(*sys, r)->value() == total; }));
  for (auto& [sys, s] : sets)
    BOOST_TEST(eventually([&] { return value_of<orset<std::string>>(*sys, s)->value() == model; }));
  members.clear();
  remote_a = {};
  c.reset();
  b.reset();
  a.reset();
}

BOOST_AUTO_TEST_CASE(a_node_that_goes_away_drops_out_of_membership_everywhere) {
  auto a = std::make_unique<node>(), b = std::make_unique<node>();
  auto port = listen(*a->sys, a->membership, 0);
  BOOST_REQUIRE(port);
  BOOST_REQUIRE(connect(*b->sys, b->membership, "127.0.0.1", *port));
  group_key g{"counter", "leaving"};
  auto ra = a->replica<gcounter>("a", g);
  auto rb = b->replica<gcounter>("b", g);
  auto members_on_a = [&] {
    caf::scoped_actor self{*a->sys};
    std::size_t n = 0;
    self->request(a->membership, std::chrono::seconds(5), members_atom::value, std::string("counter:leaving"))
      .receive([&](std::vector<caf::strong_actor_ptr>& ms) { n = ms.size(); }, [](caf::error&) {});
    return n;
  };
  BOOST_REQUIRE(eventually([&] { return members_on_a() == 2; }));
  b.reset();  // node b shuts down
  BOOST_TEST(eventually([&] { return members_on_a() == 1; }));
  BOOST_TEST(stats_of(*a->sys, ra).peers == 0u);
}

namespace {

// What the test gives a hostile peer to send.
using relay_atom = caf::atom_constant<caf::atom("relay")>;

// A member of a group that forwards whatever the test gives it (relay_atom, message) to `target`,
// as itself, and answers what replicas send it with errors (CAF's drop handler). (It takes an
// argument: CAF 0.17's spawn of argument-less functions trips UBSan.)
caf::behavior hostile_peer(caf::event_based_actor* self, replica_actor target) {
  self->set_default_handler(caf::drop);
  return {
    [=](relay_atom, delta_message& m) { self->send(target, std::move(m)); },
    [=](relay_atom, state_chunk& c) { self->send(target, std::move(c)); },
    [=](relay_atom, digest_message& d) { self->send(target, std::move(d)); },
  };
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_peer_that_sends_malformed_or_oversized_messages_is_dropped_and_the_rest_converge) {
  node n;
  group_key g{"counter", "hostile"};
  auto a = n.replica<gcounter>("a", g);
  auto b = n.replica<gcounter>("b", g);
  auto hostile = n.sys->spawn(hostile_peer, a);
  n.owned.push_back(hostile);
  {
    caf::scoped_actor self{*n.sys};
    self
      ->request(n.membership, std::chrono::seconds(5), join_group_atom::value, std::string("counter:hostile"),
                caf::actor_cast<caf::strong_actor_ptr>(hostile), std::string("hostile"))
      .receive([](std::vector<caf::strong_actor_ptr>&) {}, [](caf::error& e) { BOOST_FAIL(caf::to_string(e)); });
  }
  BOOST_REQUIRE(eventually([&] { return stats_of(*n.sys, a).peers == 2; }));  // b and the hostile one
  caf::anon_send(hostile, relay_atom::value, delta_message{"counter:hostile", "h@1", 1, "not an encoding"});
  BOOST_TEST(eventually([&] { return stats_of(*n.sys, a).peers == 1; }));  // dropped
  caf::anon_send(hostile, relay_atom::value, delta_message{"counter:hostile", "h@1", 2, grove::bytes(1 << 20, 'x')});
  caf::anon_send(hostile, relay_atom::value, state_chunk{"counter:hostile", "h@1", 1, 9, 5, 2, "junk", {}, {}});
  caf::anon_send(hostile, relay_atom::value, delta_message{"set:other-group", "h@1", 3, "x"});
  // Dropped, it is a stranger: what it sends next is ignored without a look (counted as refused).
  BOOST_TEST(eventually([&] { return stats_of(*n.sys, a).refused >= 3; }));
  BOOST_REQUIRE(mutate(*n.sys, a, op("increment", {"2"})));
  BOOST_REQUIRE(mutate(*n.sys, b, op("increment", {"3"})));
  for (auto& r : {a, b}) BOOST_TEST(eventually([&] { return value_of<gcounter>(*n.sys, r)->value() == 5u; }));
}

BOOST_AUTO_TEST_CASE(a_peer_whose_digest_lists_more_origins_than_any_group_has_is_dropped) {
  node n;
  group_key g{"counter", "listy"};
  auto a = n.replica<gcounter>("a", g);
  auto hostile = n.sys->spawn(hostile_peer, a);
  n.owned.push_back(hostile);
  {
    caf::scoped_actor self{*n.sys};
    self
      ->request(n.membership, std::chrono::seconds(5), join_group_atom::value, g.to_string(),
                caf::actor_cast<caf::strong_actor_ptr>(hostile), std::string("hostile"))
      .receive([](std::vector<caf::strong_actor_ptr>&) {}, [](caf::error& e) { BOOST_FAIL(caf::to_string(e)); });
  }
  BOOST_REQUIRE(eventually([&] { return stats_of(*n.sys, a).peers == 1; }));
  digest_message listy{g.to_string(), "h@1", 1, {}};
  for (int i = 0; i <= (1 << 16); ++i) listy.merged.push_back({"o" + std::to_string(i), 1});
  caf::anon_send(hostile, relay_atom::value, listy);
  BOOST_TEST(eventually([&] { return stats_of(*n.sys, a).peers == 0; }));
  BOOST_TEST(stats_of(*n.sys, a).origins == 0u);  // nothing of it was kept
}

namespace {

// A group member that does nothing (it takes an argument: see hostile_peer).
caf::behavior idle_member(caf::event_based_actor* self, int) {
  self->set_default_handler(caf::drop);
  return {[](int) {}};
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_group_takes_at_most_1024_members_per_node_and_says_so) {
  node n;
  std::vector<caf::actor> members;
  caf::scoped_actor self{*n.sys};
  grove::status refused;
  for (int i = 0; i <= 1024 && refused; ++i) {
    members.push_back(n.sys->spawn(idle_member, i));
    self
      ->request(n.membership, std::chrono::seconds(10), join_group_atom::value, std::string("counter:crowded"),
                caf::actor_cast<caf::strong_actor_ptr>(members.back()), "m" + std::to_string(i))
      .receive([](std::vector<caf::strong_actor_ptr>&) {}, [&](caf::error& e) { refused = from_caf_error(e); });
  }
  BOOST_REQUIRE(!refused);
  BOOST_TEST(members.size() == 1025u);  // the 1025th was refused
  BOOST_TEST(refused.error().code() == errc::too_large);
  BOOST_TEST(refused.error().message().find("1024 members") != std::string::npos);
  stop_all(*n.sys, members);
}

BOOST_AUTO_TEST_CASE(nodes_with_the_cluster_secret_converge_and_a_node_with_a_wrong_one_is_refused) {
  auto a = std::make_unique<node>("correct horse battery staple");
  auto good = std::make_unique<node>("correct horse battery staple");
  auto bad = std::make_unique<node>("a guess");
  auto port = listen(*a->sys, a->membership, 0);
  BOOST_REQUIRE(port);
  group_key g{"counter", "secret"};
  auto ra = a->replica<gcounter>("a", g);
  auto rbad = bad->replica<gcounter>("bad", g);
  BOOST_REQUIRE(mutate(*bad->sys, rbad, op("increment", {"666"})));
  BOOST_REQUIRE(connect(*bad->sys, bad->membership, "127.0.0.1", *port));  // the handshake fails
  BOOST_REQUIRE(connect(*good->sys, good->membership, "127.0.0.1", *port));
  auto rgood = good->replica<gcounter>("good", g);
  BOOST_REQUIRE(mutate(*good->sys, rgood, op("increment", {"7"})));
  BOOST_REQUIRE(mutate(*a->sys, ra, op("increment", {"1"})));
  // The good node is trusted and converges (this takes longer than the refused handshake).
  BOOST_TEST(eventually([&] { return value_of<gcounter>(*a->sys, ra)->value() == 8u; }));
  BOOST_TEST(eventually([&] { return value_of<gcounter>(*good->sys, rgood)->value() == 8u; }));
  // For a whole second, not one instant: the bad node stays out and its 666 never arrives.
  BOOST_TEST(holds_throughout([&] {
    return nodes_known(*a) == 1u && nodes_known(*bad) == 0u && value_of<gcounter>(*a->sys, ra)->value() == 8u;
  }));
  BOOST_TEST(value_of<gcounter>(*bad->sys, rbad)->value() == 666u);
  BOOST_TEST(stats_of(*a->sys, ra).peers == 1u);
  bad.reset();
  good.reset();
  a.reset();
}

namespace {

// What a reflecting node saw: the handshake messages it bounced back, and whether the node it
// attacked ever greeted it (which it only does for a node it trusts).
struct reflection_log {
  std::atomic<int> reflected{0};
  std::atomic<int> greeted{0};
};

// A node without the secret that answers a handshake by bouncing each message back to its
// sender under its own name: the initiator's nonce in an auth_hello, then the initiator's own
// responder MAC as its challenge answer. It then announces a member of `g` holding 666.
membership_actor::behavior_type reflector(membership_actor::pointer self, std::shared_ptr<reflection_log> log,
                                          caf::strong_actor_ptr evil, std::string g) {
  auto none = [] { return std::vector<caf::strong_actor_ptr>{}; };
  auto sender = [self] { return caf::actor_cast<membership_actor>(self->current_sender()); };
  return {
    [=](join_group_atom, const std::string&, caf::strong_actor_ptr&, const std::string&) { return none(); },
    [=](leave_group_atom, const std::string&, caf::strong_actor_ptr&) { return done_atom::value; },
    [=](members_atom, const std::string&) { return none(); },
    [=](peers_atom, const std::string&, const caf::strong_actor_ptr&) { return none(); },
    [=](replicas_atom, const std::string&) { return std::vector<std::string>{}; },
    [=](groups_atom) { return std::vector<std::string>{}; },
    [=](nodes_atom) { return std::uint64_t{0}; },
    [=](connect_node_atom, const std::string&, std::uint16_t) { return done_atom::value; },
    [=](advertise_atom, const std::string&, std::uint16_t) {},
    [=](addresses_atom) -> caf::result<std::vector<std::string>, std::vector<std::string>> {
      return {std::vector<std::string>{}, std::vector<std::string>{}};
    },
    [=](watch_nodes_atom, caf::actor&) {},
    [=](drop_group_atom, const std::string&) { return done_atom::value; },
    [=](dropped_atom, const std::string&) { return false; },
    [=](relay_digest_atom, digest_message&, std::vector<caf::node_id>&) {},
    [=](stranger_atom, const std::string&, caf::strong_actor_ptr&) {},
    [=](stats_atom) { return membership_stats{}; },
    [=](const version_probe& m) {
      if (!m.answer) self->send(sender(), version_probe{protocol_version, true});
    },
    // The victim's hello comes back to it as the reflector's own; so does its challenge.
    [=](const auth_hello& m) { self->send(sender(), m); },
    [=](const auth_challenge& m) {
      auto victim = sender();
      self->send(victim, m);
      self->send(victim, hello_message{false, "evil", false, {{g, evil, "evil"}}, {}, std::string()});
      ++log->reflected;
    },
    [=](const auth_proof&) {},
    [=](hello_message&) { ++log->greeted; },
    [=](member_change_message&) {},
    [=](const std::vector<tombstone>&) {},
    [=](std::vector<relayed_digest>&) {},
    [=](const liveness_probe&) {},
    [=](const liveness_ack&) {},
    [=](const node_unreachable_message&) {},
  };
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_node_that_reflects_the_handshake_without_the_secret_stays_out) {
  auto a = std::make_unique<node>("correct horse battery staple");
  auto x = std::make_unique<node>();
  group_key g{"counter", "reflected"};
  auto ra = a->replica<gcounter>("a", g);
  auto evil = x->replica<gcounter>("evil", g);
  BOOST_REQUIRE(mutate(*x->sys, evil, op("increment", {"666"})));
  BOOST_REQUIRE(mutate(*a->sys, ra, op("increment", {"1"})));
  auto log = std::make_shared<reflection_log>();
  auto mirror = x->sys->spawn(reflector, log, caf::actor_cast<caf::strong_actor_ptr>(evil), g.to_string());
  x->owned.push_back(caf::actor_cast<caf::actor>(mirror));
  auto port = listen(*x->sys, mirror, 0);
  BOOST_REQUIRE(port);
  BOOST_REQUIRE(connect(*a->sys, a->membership, "127.0.0.1", *port));  // a dials the reflector
  BOOST_REQUIRE(eventually([&] { return log->reflected >= 1; }));
  // For a whole second (not one instant): a never trusts it, greets it, or takes its 666.
  BOOST_TEST(holds_throughout([&] {
    return nodes_known(*a) == 0u && log->greeted == 0 && value_of<gcounter>(*a->sys, ra)->value() == 1u
           && stats_of(*a->sys, ra).peers == 0u;
  }));
  x.reset();
  a.reset();
}

// Found by stress runs of consistency_test (its three-node fixture stalled about once in 150 runs,
// b and c not knowing each other, no log line): the connection between b and c closed while b had
// only answered c's probe, so b did not watch c and kept c's proxy, which CAF had killed; c's next
// probes came over a new connection, and b answered each into the dead proxy. Membership now
// answers through the proxy of the latest message.
BOOST_AUTO_TEST_CASE(membership_answers_a_node_over_its_new_connection_once_the_old_one_closed) {
  node b, c;
  auto port = listen(*b.sys, b.membership, 0);
  BOOST_REQUIRE(port);
  tcp_proxy link(*port);
  caf::scoped_actor prober{*c.sys};  // one actor throughout: only the connection changes
  std::optional<membership_actor> b_membership;
  auto answered = [&] {
    auto m = c.sys->middleman().remote_actor<membership_actor>("127.0.0.1", link.port());
    if (!m) return false;
    b_membership = *m;
    prober->send(*b_membership, version_probe{protocol_version, false});
    bool answer = false;
    prober->receive([&](version_probe& p) { answer = p.answer; }, caf::after(std::chrono::milliseconds(500)) >> [] {});
    return answer;
  };
  BOOST_REQUIRE(answered());
  prober->monitor(*b_membership);
  link.cut();  // both CAFs close the connection and kill its proxies
  prober->receive([](caf::down_msg&) {},
                  caf::after(std::chrono::seconds(10)) >> [] { BOOST_FAIL("the cut connection did not close"); });
  link.heal();
  BOOST_TEST(eventually([&] { return answered(); }, std::chrono::seconds(10)));
}

namespace {

// Whether replica r sends `asker` anything (a state chunk) in answer to a state_request and a
// digest that differs from its own. The stats request that follows is answered after both were
// handled, so a chunk sent for them is in the mailbox by the time the stats reply arrives.
bool serves(caf::scoped_actor& asker, const replica_actor& r, const group_key& g) {
  asker->send(r, state_request{g.to_string()});
  asker->send(r, digest_message{g.to_string(), "asker@1", 12345, {}});
  asker->request(r, std::chrono::seconds(5), stats_atom::value).receive([](replica_stats&) {}, [](caf::error&) {});
  bool got_chunk = false;
  for (bool more = true; more;)
    asker->receive([&](state_chunk&) { got_chunk = true; }, [&](caf::message&) {},
                   caf::after(std::chrono::milliseconds(0)) >> [&] { more = false; });
  return got_chunk;
}

}  // namespace

BOOST_AUTO_TEST_CASE(replicas_serve_only_current_members_of_their_group) {
  node n;
  group_key g{"counter", "members-only"};
  auto r = n.replica<gcounter>("a", g);
  BOOST_REQUIRE(mutate(*n.sys, r, op("increment", {"5"})));
  caf::scoped_actor stranger{*n.sys};
  BOOST_TEST(!serves(stranger, r, g));  // never joined: gets nothing
  BOOST_TEST(stats_of(*n.sys, r).refused >= 2u);
  // A stranger cannot make itself a peer by claiming to be membership.
  stranger->send(r, peer_up_atom::value, g.to_string(), caf::actor_cast<caf::strong_actor_ptr>(stranger));
  BOOST_TEST(!serves(stranger, r, g));
  BOOST_TEST(stats_of(*n.sys, r).peers == 0u);

  caf::scoped_actor member{*n.sys};
  member
    ->request(n.membership, std::chrono::seconds(5), join_group_atom::value, g.to_string(),
              caf::actor_cast<caf::strong_actor_ptr>(member), std::string("member"))
    .receive([](std::vector<caf::strong_actor_ptr>&) {}, [](caf::error& e) { BOOST_FAIL(caf::to_string(e)); });
  BOOST_REQUIRE(eventually([&] { return stats_of(*n.sys, r).peers == 1u; }));
  BOOST_TEST(serves(member, r, g));  // a member is served
  member->send(r, delta_message{g.to_string(), "m@1", 1, "not an encoding"});
  BOOST_REQUIRE(eventually([&] { return stats_of(*n.sys, r).peers == 0u; }));  // dropped
  BOOST_TEST(!serves(member, r, g));                                           // and no longer served
  member
    ->request(n.membership, std::chrono::seconds(5), leave_group_atom::value, g.to_string(),
              caf::actor_cast<caf::strong_actor_ptr>(member))
    .receive([](done_atom) {}, [](caf::error&) {});
}

// stop_node, then the handles dropped: the actor system's destructor returns (a hang here is
// ended by CTest's timeout; CAF 0.17 cannot destroy an actor system from another thread, so
// there is no in-test deadline).
BOOST_AUTO_TEST_CASE(stop_node_keeps_the_last_change_of_every_replica_and_the_system_then_shuts_down) {
  temp_dir dir;
  grove::storage::dets_options o;
  o.file = dir.file("stop.grove");
  o.durable = true;
  constexpr int groups = 4, rounds = 5;
  for (int round = 1; round <= rounds; ++round) {
    test_config cfg;
    auto sys = std::make_unique<caf::actor_system>(cfg);
    auto store = spawn_storage_actor(*sys, std::move(*grove::storage::open_dets(o)));
    auto membership = spawn_membership(*sys);
    std::vector<replica_actor> replicas;
    for (int i = 0; i < groups; ++i) {
      replication_options ro;
      ro.replica_id = "r";
      ro.group = group_key{"counter", "c" + std::to_string(i)};
      ro.storage = store;
      ro.membership = membership;
      ro.snapshot_interval = std::chrono::hours(1);  // only stopping saves
      replicas.push_back(*spawn_replica<gcounter>(*sys, ro));
    }
    for (auto& r : replicas) {
      BOOST_REQUIRE_EQUAL(value_of<gcounter>(*sys, r)->value(), std::uint64_t(round - 1));  // what the last round kept
      caf::anon_send(r, mutate_atom::value, op("increment"));  // one-way: the last change before stopping
    }
    BOOST_REQUIRE(stop_node(*sys, replicas, store, membership));
    replicas.clear();
    store = nullptr;
    membership = nullptr;
    sys.reset();
  }
  auto b = std::move(*grove::storage::open_dets(o));
  for (int i = 0; i < groups; ++i)
    BOOST_TEST((*grove::storage::load<gcounter>(*b, group_key{"counter", "c" + std::to_string(i)}))->value()
               == std::uint64_t(rounds));
}

BOOST_AUTO_TEST_CASE(a_flood_of_error_messages_writes_a_bounded_number_of_log_lines) {
  node n;
  auto r = n.replica<gcounter>("a", group_key{"counter", "flooded"});
  std::stringstream captured;
  auto* original = std::cerr.rdbuf(captured.rdbuf());
  caf::scoped_actor flooder{*n.sys};
  constexpr int flood = 5000;
  auto untyped = caf::actor_cast<caf::actor>(r);  // a typed handle would not let an error through
  for (int i = 0; i < flood; ++i) flooder->send(untyped, caf::make_error(caf::sec::unexpected_message));
  bool all_seen = eventually([&] { return stats_of(*n.sys, r).errors >= std::uint64_t{flood}; });
  std::cerr.rdbuf(original);
  BOOST_REQUIRE(all_seen);
  auto text = captured.str();
  auto lines = std::count(text.begin(), text.end(), '\n');
  BOOST_TEST_MESSAGE(lines << " lines for " << flood << " error messages");
  BOOST_TEST(lines >= 1);
  BOOST_TEST(lines <= 40);  // 10 a second, plus one summary line per second, for a few seconds at most
  BOOST_TEST(bool(mutate(*n.sys, r, op("increment"))));  // and the replica keeps serving
}

BOOST_AUTO_TEST_CASE(a_partition_longer_than_the_connection_timeout_heals_and_both_sides_converge) {
  auto took = partition_heals([] { return std::make_unique<node>("", without_direct_connections); });
  BOOST_TEST_MESSAGE("plaintext: converged " << took.count() << " ms after the heal");
}

BOOST_AUTO_TEST_CASE(with_a_cluster_secret_the_handshake_runs_again_and_the_partition_heals) {
  auto took =
    partition_heals([] { return std::make_unique<node>("correct horse battery staple", without_direct_connections); });
  BOOST_TEST_MESSAGE("secret: converged " << took.count() << " ms after the heal");
}

BOOST_AUTO_TEST_CASE(a_node_whose_seed_is_down_at_start_joins_once_the_seed_listens) {
  // A free port now; nobody listens there yet.
  std::uint16_t seed_port = 0;
  {
    grove::testing::tcp_proxy placeholder(1);
    seed_port = placeholder.port();
  }
  auto c = std::make_unique<node>();
  auto failed = connect(*c->sys, c->membership, "127.0.0.1", seed_port);
  BOOST_TEST(!failed);  // the seed is down: an error, and membership keeps dialling it
  auto a = std::make_unique<node>();
  BOOST_REQUIRE(listen(*a->sys, a->membership, seed_port));
  BOOST_TEST(eventually([&] { return nodes_known(*c) == 1u && nodes_known(*a) == 1u; }, std::chrono::seconds(10)));
  c.reset();
  a.reset();
}

namespace {

// A listener with a socket filter that drops every segment it is given: the kernel discards each
// SYN before TCP sees it, so a connect there neither succeeds nor fails for minutes (what a
// firewall that drops packets does), from the first SYN on and without any connection of its own.
class black_hole {
public:
  black_hole() {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sock_filter drop_all[] = {{BPF_RET | BPF_K, 0, 0, 0}};
    sock_fprog program{1, drop_all};
    BOOST_REQUIRE(::setsockopt(listener_, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program) == 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    BOOST_REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), len) == 0);
    BOOST_REQUIRE(::listen(listener_, 16) == 0);
    BOOST_REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    BOOST_REQUIRE_MESSAGE(!answers(addr), "the listener still answers: no black hole");
  }
  ~black_hole() { ::close(listener_); }
  std::uint16_t port() const { return port_; }

private:
  static bool answers(const sockaddr_in& addr) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    (void)::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    pollfd p{fd, POLLOUT, 0};
    bool answered = ::poll(&p, 1, 500) != 0;
    ::close(fd);
    return answered;
  }

  int listener_ = -1;
  std::uint16_t port_ = 0;
};

std::int64_t milliseconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

// Issue 21 item 7: a remembered address that drops packets held up every other dial for about
// two minutes (the middleman's blocking connect ran inside membership). Dials now run apart, each
// with a reachability deadline: b joins while the dial into the black hole is still pending, and
// that dial ends with an error.
BOOST_AUTO_TEST_CASE(a_black_hole_address_does_not_hold_up_dials_elsewhere) {
  black_hole hole;
  auto a = std::make_unique<node>();
  auto b = std::make_unique<node>();
  auto port = listen(*b->sys, b->membership, 0);
  BOOST_REQUIRE(port);
  std::atomic<bool> hole_answered{false};
  grove::status hole_result;
  std::thread into_the_hole([&] {
    hole_result = connect(*a->sys, a->membership, "127.0.0.1", hole.port(), std::chrono::seconds(30));
    hole_answered = true;
  });
  auto joined = connect(*a->sys, a->membership, "127.0.0.1", *port, std::chrono::seconds(30));
  BOOST_TEST(joined.has_value(), (joined ? "" : joined.error().to_string()));
  BOOST_TEST(!hole_answered.load());  // b joined while the other dial was still waiting
  BOOST_TEST(eventually([&] { return nodes_known(*a) == 1u; }));
  into_the_hole.join();
  BOOST_TEST(!hole_result);  // no answer there: an error, not a hang
  // Membership keeps dialling the hole, and no attempt may reach CAF's blocking connect: one there
  // would hold up every later dial, and the shutdown, for two minutes. So c joins at once.
  auto c = std::make_unique<node>();
  auto c_port = listen(*c->sys, c->membership, 0);
  BOOST_REQUIRE(c_port);
  auto started = std::chrono::steady_clock::now();
  auto joined_c = connect(*a->sys, a->membership, "127.0.0.1", *c_port, std::chrono::seconds(30));
  BOOST_TEST(joined_c.has_value(), (joined_c ? "" : joined_c.error().to_string()));
  BOOST_TEST(milliseconds_since(started) < grove::actors::connection_timeout.count());
  auto stopping = std::chrono::steady_clock::now();
  a.reset();
  BOOST_TEST(milliseconds_since(stopping) < 2 * grove::actors::connection_timeout.count());
  b.reset();
  c.reset();
}

namespace {

// The socket numbers this process has open.
std::set<int> open_sockets() {
  std::set<int> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(entry.path(), ec);
    if (!ec && target.string().rfind("socket:", 0) == 0) out.insert(std::stoi(entry.path().filename().string()));
  }
  return out;
}

int connect_plain(std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  BOOST_REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

}  // namespace

// Issue 23: with 32 or more nodes started at once, introductions stalled for good. CAF 0.17 names a
// connection by its socket's number and forgets a closed connection late; a connection accepted in
// between got the same number (the kernel hands out the lowest free one) and lost its route to that
// late clean-up. The sockets CAF accepts now take numbers in the upper half of the process's limit,
// in turn (tls.cpp, "4. Socket numbers"): one just closed does not come round again.
BOOST_AUTO_TEST_CASE(sockets_caf_accepts_do_not_take_the_number_of_one_just_closed) {
  auto a = std::make_unique<node>();
  auto port = listen(*a->sys, a->membership, 0);
  BOOST_REQUIRE(port);
  std::vector<int> accepted;
  for (int round = 0; round < 4; ++round) {
    auto before = open_sockets();
    int client = connect_plain(*port);
    int taken = -1;
    BOOST_REQUIRE(eventually([&] {
      for (int fd : open_sockets())
        if (fd != client && before.count(fd) == 0) taken = fd;
      return taken >= 0;
    }));
    accepted.push_back(taken);
    ::close(client);
    BOOST_REQUIRE(eventually([&] { return open_sockets().count(taken) == 0; }));  // CAF closed its end
  }
  rlimit limit{};
  BOOST_REQUIRE(::getrlimit(RLIMIT_NOFILE, &limit) == 0);
  for (int fd : accepted) BOOST_TEST(fd >= static_cast<int>(std::min<rlim_t>(limit.rlim_cur, 65536) / 2), fd);
  BOOST_TEST(std::set<int>(accepted.begin(), accepted.end()).size() == accepted.size());
}
