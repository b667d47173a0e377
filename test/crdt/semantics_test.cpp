// What each CRDT promises, one behaviour per test case.
#define BOOST_TEST_MODULE crdt_semantics
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <random>

#include "grove/crdt/escape.hpp"
#include "support/random_crdts.hpp"

#include "support/printing.hpp"

using namespace grove::crdt;

namespace {

template <class T>
void exchange(T& a, T& b) {
  T a_state = a;
  a.merge(b);
  b.merge(a_state);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(counters)

BOOST_AUTO_TEST_CASE(gcounter_sums_per_replica_counts_and_merge_takes_the_maximum) {
  gcounter a("a"), b("b");
  BOOST_REQUIRE(a.increment(3));
  BOOST_REQUIRE(a.increment());
  BOOST_REQUIRE(b.increment(5));
  BOOST_TEST(a.get("a") == 4u);
  exchange(a, b);
  exchange(a, b);
  BOOST_TEST(a.value() == 9u);
  BOOST_TEST(b.value() == 9u);
  BOOST_TEST(b.get("a") == 4u);
  BOOST_TEST(b.get("nobody") == 0u);
}

BOOST_AUTO_TEST_CASE(gcounter_delta_holds_only_local_increments_until_reset) {
  gcounter a("a"), b("b");
  BOOST_REQUIRE(b.increment(7));
  a.merge(b);
  BOOST_REQUIRE(a.increment(2));
  BOOST_TEST(a.delta().value() == 2u);
  BOOST_TEST(a.delta().get("b") == 0u);
  a.reset_delta();
  BOOST_TEST(!a.has_delta());
  BOOST_TEST(a.delta().value() == 0u);
}

BOOST_AUTO_TEST_CASE(pncounter_reports_positive_and_negative_totals) {
  pncounter a("a"), b("b");
  BOOST_REQUIRE(a.increment(10));
  BOOST_REQUIRE(b.decrement(4));
  BOOST_REQUIRE(a.decrement(1));
  exchange(a, b);
  BOOST_TEST(a.value() == 5);
  BOOST_TEST(b.value() == 5);
  BOOST_TEST(a.positive_total() == 10u);
  BOOST_TEST(a.negative_total() == 5u);
  BOOST_REQUIRE(b.decrement(20));
  BOOST_TEST(b.value() == -15);
}

BOOST_AUTO_TEST_CASE(gcounter_clear_is_an_observed_reset) {
  gcounter a("a"), b("b");
  BOOST_REQUIRE(a.increment(4));
  BOOST_REQUIRE(b.increment(2));
  gcounter stale = a;
  a.merge(b);
  b.merge(a);
  a.clear();
  BOOST_TEST(a.value() == 0u);
  BOOST_REQUIRE(b.increment(5));  // concurrent with the clear
  a.merge(b);
  a.merge(stale);
  BOOST_TEST(a.value() == 5u);
  BOOST_TEST(a.get("b") == 5u);
  BOOST_TEST(a.counts().at("b") == 7u);  // the count as it grew
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(registers)

BOOST_AUTO_TEST_CASE(lww_clear_hides_what_it_saw_and_a_later_write_shows) {
  lww_register<std::string> a("a"), b("b");
  a.set("x");
  b.merge(a);
  lww_register<std::string> stale = a;
  a.clear();
  BOOST_TEST(!a.value());
  a.merge(stale);
  BOOST_TEST(!a.value());
  b.set("y");  // saw "x": a later stamp than the clear's
  a.merge(b);
  BOOST_TEST(*a.value() == "y");
  stale.merge(a);
  BOOST_TEST(stale == a);
}

BOOST_AUTO_TEST_CASE(lww_later_write_wins_after_it_has_seen_the_earlier_one) {
  lww_register<std::string> a("a"), b("b");
  a.set("first");
  b.merge(a);
  b.set("second");
  BOOST_TEST(b.timestamp() > a.timestamp());
  exchange(a, b);
  BOOST_TEST(*a.value() == "second");
  BOOST_TEST(a.writer() == "b");
}

BOOST_AUTO_TEST_CASE(lww_equal_timestamps_are_broken_by_replica_id) {
  lww_register<std::string> a("a"), b("b");
  a.set("from a", 7);
  b.set("from b", 7);
  exchange(a, b);
  BOOST_TEST(*a.value() == "from b");
  BOOST_TEST(*b.value() == "from b");
}

BOOST_AUTO_TEST_CASE(lww_explicit_older_timestamp_loses_and_says_so) {
  lww_register<int> a("a");
  BOOST_TEST(a.set(1, 100));
  BOOST_TEST(!a.set(2, 50));
  BOOST_TEST(*a.value() == 1);
  BOOST_TEST(a.timestamp() == 100u);
}

BOOST_AUTO_TEST_CASE(lww_with_hlc_stamps_uses_the_injected_clock) {
  std::uint64_t now = 1000;
  hybrid_logical_clock clock("a", [&] { return now; });
  lww_register<std::string> a("a", clock);
  a.set("x");
  BOOST_TEST(a.timestamp() == (1000u << 16));
  a.set("y");  // same millisecond: the logical counter moves on
  BOOST_TEST(a.timestamp() == ((1000u << 16) | 1u));
  lww_register<std::string> lamport("b");
  lamport.set("z");  // Lamport time 1 loses against any HLC stamp
  a.merge(lamport);
  BOOST_TEST(*a.value() == "y");
}

BOOST_AUTO_TEST_CASE(mv_register_keeps_concurrent_values_and_drops_dominated_ones) {
  mv_register<std::string> a("a"), b("b");
  a.set("old");
  b.merge(a);
  a.set("from a");
  b.set("from b");  // both replaced "old", concurrently
  exchange(a, b);
  BOOST_TEST(a.value() == (std::vector<std::string>{"from a", "from b"}));
  BOOST_TEST(a.has_conflict());
  BOOST_TEST(a == b);
  a.set("after both");  // has seen both: dominates them
  b.merge(a);
  BOOST_TEST(b.value() == std::vector<std::string>{"after both"});
  BOOST_TEST(!b.has_conflict());
}

BOOST_AUTO_TEST_CASE(mv_register_resolve_writes_the_chosen_value) {
  mv_register<int> a("a"), b("b");
  a.set(3);
  b.set(9);
  exchange(a, b);
  auto chosen = a.resolve([](const std::vector<int>& xs) { return xs.back(); });
  BOOST_TEST(*chosen == 9);
  b.merge(a);
  BOOST_TEST(b.value() == std::vector<int>{9});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(sets)

BOOST_AUTO_TEST_CASE(gset_add_is_idempotent_and_merge_is_union) {
  gset<std::string> a("a"), b("b");
  BOOST_TEST(a.add("x"));
  BOOST_TEST(!a.add("x"));
  b.add("y");
  exchange(a, b);
  BOOST_TEST(a.value() == (std::set<std::string>{"x", "y"}));
  BOOST_TEST(b.contains("x"));
}

BOOST_AUTO_TEST_CASE(twop_set_refuses_re_add_after_remove_here_and_elsewhere) {
  twop_set<std::string> a("a"), b("b");
  a.add("x");
  b.merge(a);
  BOOST_TEST(a.remove("x"));
  BOOST_TEST(!a.add("x"));
  BOOST_TEST(!a.contains("x"));
  b.merge(a);
  BOOST_TEST(!b.add("x"));
  BOOST_TEST(b.value().empty());
  BOOST_TEST(!b.remove("never added"));
  BOOST_TEST(a.tombstones() == 1u);
}

BOOST_AUTO_TEST_CASE(orset_concurrent_add_and_remove_add_wins) {
  orset<std::string> a("a"), b("b");
  a.add("x");
  b.merge(a);
  BOOST_TEST(b.remove("x"));
  a.add("x");  // concurrent with b's remove
  exchange(a, b);
  BOOST_TEST(a.contains("x"));
  BOOST_TEST(b.contains("x"));
}

BOOST_AUTO_TEST_CASE(orset_remove_of_an_observed_add_removes_everywhere_and_re_add_works) {
  orset<std::string> a("a"), b("b");
  a.add("x");
  b.merge(a);
  b.remove("x");
  a.merge(b);
  BOOST_TEST(!a.contains("x"));
  a.add("x");
  b.merge(a);
  BOOST_TEST(b.contains("x"));
}

BOOST_AUTO_TEST_CASE(orset_removes_leave_no_per_element_tombstones) {
  orset<std::string> a("a");
  for (int i = 0; i < 100; ++i) a.add("e" + std::to_string(i));
  for (int i = 0; i < 100; ++i) a.remove("e" + std::to_string(i));
  BOOST_TEST(a.kernel().entries().empty());
  // The context compacts to one range: no per-element metadata survives.
  BOOST_TEST(a.kernel().context().ranges().size() == 1u);
  BOOST_TEST(a.kernel().context().cloud().empty());
  auto stats = collect(a);
  BOOST_TEST(stats.removed_entries == 0u);
  BOOST_TEST(stats.remaining_entries == 0u);
}

BOOST_AUTO_TEST_CASE(dvv_set_keeps_at_most_one_dot_per_replica_per_element) {
  dvv_set<std::string> nodes[3] = {dvv_set<std::string>("n1"), dvv_set<std::string>("n2"), dvv_set<std::string>("n3")};
  for (int round = 0; round < 34; ++round)
    for (auto& n : nodes) n.add("x");  // concurrent re-adds, 102 in all
  for (auto& n : nodes)
    for (auto& m : nodes) n.merge(m);
  BOOST_TEST(info(nodes[0]).total_dots == 3u);
  BOOST_TEST(nodes[0].value() == std::set<std::string>{"x"});
  BOOST_TEST(dvv_set<std::string>::type_name() != orset<std::string>::type_name());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(maps)

using counter_map = ormap<std::string, gcounter>;
using set_map = ormap<std::string, orset<std::string>>;
using strings = std::set<std::string>;

strings set_at(const set_map& m, const std::string& key) {
  const auto* value = m.get(key);
  return value ? value->value() : strings{};
}

BOOST_AUTO_TEST_CASE(ormap_values_merge_with_their_own_merge) {
  counter_map a("a"), b("b");
  a.update("views", [](gcounter& c) { BOOST_REQUIRE(c.increment(2)); });
  b.update("views", [](gcounter& c) { BOOST_REQUIRE(c.increment(3)); });
  exchange(a, b);
  BOOST_TEST(a.get("views")->value() == 5u);
  BOOST_TEST(b.get_or("views", gcounter("b")).value() == 5u);
  BOOST_TEST(a.keys() == std::vector<std::string>{"views"});
  BOOST_TEST(a.size() == 1u);
}

// Issue 21 item 6: remove k, then add B2 to k's set on the same replica. Akka's ORMap gives
// {B, B2} once a replica that still holds {B} merges; the delta-state ORMap (and this one) {B2}.
BOOST_AUTO_TEST_CASE(ormap_erase_then_update_on_the_same_replica_starts_empty_even_against_a_stale_copy) {
  set_map a("a"), stale("b");
  a.update("k", [](auto& s) { s.add("B"); });
  stale.merge(a);
  BOOST_TEST(a.erase("k"));
  a.update("k", [](auto& s) {
    BOOST_TEST(s.value().empty());  // the update sees the reset value
    s.add("B2");
  });
  BOOST_TEST(set_at(a, "k") == strings{"B2"});
  exchange(a, stale);
  BOOST_TEST(set_at(a, "k") == strings{"B2"});
  BOOST_TEST(set_at(stale, "k") == strings{"B2"});
}

BOOST_AUTO_TEST_CASE(ormap_update_concurrent_with_an_erase_survives_and_the_erased_contents_do_not) {
  set_map a("a"), b("b");
  a.update("k", [](auto& s) { s.add("B"); });
  b.merge(a);
  BOOST_TEST(a.erase("k"));
  b.update("k", [](auto& s) { s.add("B2"); });  // b has not seen the erase
  exchange(a, b);
  BOOST_TEST(a.contains("k"));
  BOOST_TEST(set_at(a, "k") == strings{"B2"});
  BOOST_TEST(set_at(b, "k") == strings{"B2"});
}

// Issue 21 item 6: {c} built by a fresh orset("node1") carries the dot (node1, 1), which the map's
// value at k already used for a: merging it read {b}.
BOOST_AUTO_TEST_CASE(ormap_put_of_a_set_built_under_the_same_id_loses_nothing) {
  set_map m("node1"), peer("node2");
  m.update("k", [](auto& s) {
    s.add("a");
    s.add("b");
  });
  orset<std::string> c("node1");
  c.add("c");
  BOOST_REQUIRE(m.put("k", c));
  BOOST_TEST(set_at(m, "k") == (strings{"a", "b", "c"}));
  peer.merge(m.delta());
  BOOST_TEST(set_at(peer, "k") == (strings{"a", "b", "c"}));
}

BOOST_AUTO_TEST_CASE(ormap_put_after_erase_gives_exactly_the_put_value) {
  set_map m("node1");
  m.update("k", [](auto& s) {
    for (auto x : {"B01", "B02", "B03"}) s.add(x);
  });
  BOOST_TEST(m.erase("k"));
  orset<std::string> b2("node1");
  b2.add("B2");
  BOOST_REQUIRE(m.put("k", b2));
  BOOST_TEST(set_at(m, "k") == strings{"B2"});
}

BOOST_AUTO_TEST_CASE(ormap_put_of_a_dvv_set_built_under_the_same_id_loses_nothing) {
  ormap<std::string, dvv_set<std::string>> m("node1");
  m.update("k", [](auto& s) { s.add("a"); });
  dvv_set<std::string> other("node1");
  other.add("b");
  BOOST_REQUIRE(m.put("k", other));
  BOOST_TEST(m.get("k")->value() == (strings{"a", "b"}));
}

// The register's dot (node1, 1) held "x"; a register built under node1 holds "y" with the same
// dot. Merging them lost both values.
BOOST_AUTO_TEST_CASE(ormap_put_of_an_mv_register_built_under_the_same_id_writes_its_value) {
  ormap<std::string, mv_register<std::string>> m("node1");
  m.update("k", [](auto& r) { r.set("x"); });
  mv_register<std::string> other("node1");
  other.set("y");
  BOOST_REQUIRE(m.put("k", other));
  BOOST_TEST(m.get("k")->value() == std::vector<std::string>{"y"});
}

// The inner maps' keys i and j both carry the dot (node1, 1): merging lost both keys.
BOOST_AUTO_TEST_CASE(ormap_put_of_a_nested_map_built_under_the_same_id_loses_nothing) {
  ormap<std::string, set_map> m("node1");
  m.update("outer", [](set_map& inner) { inner.update("i", [](auto& s) { s.add("a"); }); });
  set_map other("node1");
  other.update("j", [](auto& s) { s.add("b"); });
  BOOST_REQUIRE(m.put("outer", other));
  const auto* inner = m.get("outer");
  BOOST_REQUIRE(inner);
  BOOST_TEST(inner->keys() == (std::vector<std::string>{"i", "j"}));
  BOOST_TEST(set_at(*inner, "i") == strings{"a"});
  BOOST_TEST(set_at(*inner, "j") == strings{"b"});
}

// A counter built under the map's id: a per-replica maximum kept 5 of 5 + 3.
BOOST_AUTO_TEST_CASE(ormap_put_of_a_counter_adds_its_value) {
  counter_map m("a");
  m.update("n", [](gcounter& c) { BOOST_REQUIRE(c.increment(5)); });
  gcounter three("a");
  BOOST_REQUIRE(three.increment(3));
  BOOST_REQUIRE(m.put("n", three));
  BOOST_TEST(m.get("n")->value() == 8u);
}

BOOST_AUTO_TEST_CASE(ormap_put_that_would_overflow_a_counter_is_refused_and_changes_nothing) {
  ormap<std::string, pncounter> m("a");
  m.update("n", [](pncounter& c) { BOOST_REQUIRE(c.increment(pncounter::max_value)); });
  m.reset_delta();
  pncounter one("a");
  BOOST_REQUIRE(one.increment());
  auto result = m.put("n", one);
  BOOST_REQUIRE(!result);
  BOOST_TEST(result.error().code() == grove::errc::too_large);
  BOOST_TEST(m.get("n")->value() == pncounter::max_value);
  BOOST_TEST(!m.has_delta());
}

// A register written 10 times has Lamport time 10; one built on its own has time 1 and lost the
// merge: put changed nothing.
BOOST_AUTO_TEST_CASE(ormap_put_of_an_lww_register_writes_it_whatever_its_stamp) {
  ormap<std::string, lww_register<std::string>> m("a");
  for (int i = 0; i < 10; ++i) m.update("k", [&](auto& r) { r.set("v" + std::to_string(i)); });
  lww_register<std::string> w("a");
  w.set("w");
  BOOST_REQUIRE(m.put("k", w));
  BOOST_TEST(*m.get("k")->value() == "w");
}

BOOST_AUTO_TEST_CASE(ormap_erase_resets_a_counter_and_a_concurrent_increment_survives_alone) {
  counter_map a("a"), b("b");
  a.update("hits", [](gcounter& c) { BOOST_REQUIRE(c.increment(2)); });
  exchange(a, b);
  BOOST_TEST(a.erase("hits"));
  BOOST_TEST(!a.erase("hits"));
  BOOST_TEST(!a.contains("hits"));
  BOOST_TEST(a.get("hits") == nullptr);
  BOOST_TEST(info(a).empty_entries == 1u);                               // the reset value's metadata stays
  b.update("hits", [](gcounter& c) { BOOST_REQUIRE(c.increment(3)); });  // b has not seen the erase
  exchange(a, b);
  // The concurrent update revives the key with its own increment only: 3, not 2 + 3.
  BOOST_TEST(a.get("hits")->value() == 3u);
  BOOST_TEST(b.get("hits")->value() == 3u);
}

BOOST_AUTO_TEST_CASE(ormap_update_after_erase_counts_from_zero_against_a_stale_copy) {
  counter_map a("a"), stale("b");
  a.update("k", [](gcounter& c) { BOOST_REQUIRE(c.increment(7)); });
  stale.merge(a);
  a.erase("k");
  a.update("k", [](gcounter& c) {
    BOOST_TEST(c.value() == 0u);
    BOOST_REQUIRE(c.increment());
  });
  exchange(a, stale);
  BOOST_TEST(a.get("k")->value() == 1u);
  BOOST_TEST(stale.get("k")->value() == 1u);
}

BOOST_AUTO_TEST_CASE(ormap_erase_resets_an_lww_value_and_a_concurrent_write_survives) {
  ormap<std::string, lww_register<std::string>> a("a"), b("b");
  a.update("k", [](auto& r) { r.set("v1"); });
  b.merge(a);
  a.erase("k");
  b.update("k", [](auto& r) { r.set("v2"); });  // concurrent with the erase
  exchange(a, b);
  BOOST_TEST(*a.get("k")->value() == "v2");
  a.erase("k");
  a.update("k", [](auto& r) { BOOST_TEST(!r.value()); });  // starts empty: nothing written
  b.merge(a);
  BOOST_TEST(b.contains("k"));
  BOOST_TEST(!b.get("k")->value());
}

BOOST_AUTO_TEST_CASE(ormap_lww_values_take_the_latest_write) {
  ormap<std::string, lww_register<std::string>> a("a"), b("b");
  a.update("k", [](auto& r) { r.set("v1"); });
  b.merge(a);
  b.update("k", [](auto& r) { r.set("v2"); });
  a.merge(b);
  BOOST_TEST(*a.get("k")->value() == "v2");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(sequence)

BOOST_AUTO_TEST_CASE(rga_inserts_after_the_named_position) {
  rga<std::string> a("a");
  auto x = a.insert("x");
  auto z = a.insert("z", *x);
  BOOST_REQUIRE(z);
  BOOST_REQUIRE(a.insert("y", *x));
  BOOST_TEST(a.to_list() == (std::vector<std::string>{"x", "y", "z"}));
  BOOST_REQUIRE(a.insert_at(0, "w"));
  BOOST_REQUIRE(a.insert_at(4, "end"));
  BOOST_TEST(a.to_list() == (std::vector<std::string>{"w", "x", "y", "z", "end"}));
  BOOST_TEST(a.remove(*z));
  BOOST_TEST(!a.remove(*z));
  BOOST_TEST(a.to_list() == (std::vector<std::string>{"w", "x", "y", "end"}));
  BOOST_TEST(a.tombstones() == 1u);
}

BOOST_AUTO_TEST_CASE(rga_insert_after_an_unknown_position_is_an_error) {
  rga<int> a("a");
  auto r = a.insert(1, position{42, "nobody"});
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().code() == grove::errc::invalid_argument);
  BOOST_TEST(!a.insert_at(5, 1));
}

BOOST_AUTO_TEST_CASE(rga_concurrent_inserts_at_one_position_give_one_order_everywhere) {
  rga<std::string> a("a"), b("b"), c("c");
  auto anchor = a.insert("anchor");
  b.merge(a);
  c.merge(a);
  BOOST_REQUIRE(a.insert("from a", *anchor));
  BOOST_REQUIRE(b.insert("from b", *anchor));
  BOOST_REQUIRE(c.insert("from c", *anchor));
  rga<std::string> ab = a, ba = b, ca = c;
  ab.merge(b);
  ab.merge(c);
  ba.merge(c);
  ba.merge(a);
  ca.merge(b);
  ca.merge(a);
  BOOST_TEST(ab.to_list() == ba.to_list());
  BOOST_TEST(ab.to_list() == ca.to_list());
  BOOST_TEST(ab.to_list().front() == "anchor");
  BOOST_TEST(ab.size() == 4u);
  // Equal Lamport times: the greater replica id comes first.
  BOOST_TEST(ab.to_list()[1] == "from c");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(retired_incarnations)

template <class T>
bool names(const T& x, const std::string& r) {
  auto all = x.origins();
  return std::find(all.begin(), all.end(), r) != all.end();
}

BOOST_AUTO_TEST_CASE(gcounter_retire_folds_the_count_into_the_owner_and_drops_the_slot) {
  gcounter old("n@0"), peer("p");
  BOOST_REQUIRE(old.increment(3));
  BOOST_REQUIRE(peer.increment(4));
  gcounter now("n@1");
  now.merge(old);
  now.merge(peer);
  peer.merge(now);
  gcounter stale = peer;
  BOOST_TEST(now.origins() == (std::vector<std::string>{"n@0", "p"}));
  BOOST_TEST(now.origin_digest("n@0") == peer.origin_digest("n@0"));
  now.reset_delta();
  BOOST_REQUIRE(now.retire("n@0", 5000));
  BOOST_TEST(now.value() == 7u);
  BOOST_TEST(now.get("n@1") == 3u);
  BOOST_TEST(now.origins() == (std::vector<std::string>{"n@1", "p"}));
  peer.merge(now.delta());
  peer.merge(stale);  // a copy from before the retire: its slot of n@0 is ignored
  BOOST_TEST(peer.value() == 7u);
  BOOST_TEST(!names(peer, "n@0"));
  BOOST_TEST(peer.origin_digest("n@0") == now.origin_digest("n@0"));
  BOOST_TEST(peer.origin_digest("n@0") != stale.origin_digest("n@0"));

  auto own = now.retire("n@1", 5000);
  BOOST_REQUIRE(!own);
  BOOST_TEST(own.error().code() == grove::errc::invalid_argument);
  // A stale copy of the retired incarnation that runs again is refused, not silently ignored.
  old.merge(peer);
  auto again = old.increment();
  BOOST_REQUIRE(!again);
  BOOST_TEST(again.error().code() == grove::errc::closed);
}

BOOST_AUTO_TEST_CASE(orset_retire_waits_for_live_dots_and_then_covers_the_old_ones) {
  orset<std::string> old("n@0"), peer("p");
  old.add("x");
  old.add("y");
  peer.merge(old);
  orset<std::string> now("n@1");
  now.merge(old);
  auto refused = now.retire("n@0", 5000);
  BOOST_REQUIRE(!refused);
  BOOST_TEST(refused.error().code() == grove::errc::invalid_argument);
  BOOST_TEST(refused.error().message().find("2 of its dots") != std::string::npos);
  orset<std::string> stale = peer;  // holds x and y under n@0's dots
  now.remove("x");
  now.add("y");  // y taken over by n@1
  peer.merge(now);
  BOOST_REQUIRE(now.retire("n@0", 5000));
  BOOST_TEST(!names(now, "n@0"));
  BOOST_TEST(now.kernel().context().actors() == std::vector<replica_ref>{replica_ref("n@1")});
  peer.merge(now.delta());
  peer.merge(stale);  // n@0's dot of x counts as seen: x stays removed
  BOOST_TEST(peer.value() == std::set<std::string>{"y"});
  BOOST_TEST(peer == now);

  // Once the marker expires, the same stale copy is no longer recognised and x comes back (the
  // documented gc_grace_seconds behaviour).
  peer.expire_retired(4999);
  peer.merge(stale);
  BOOST_TEST(peer.value() == std::set<std::string>{"y"});
  peer.expire_retired(5000);
  peer.merge(stale);
  BOOST_TEST(peer.value() == (std::set<std::string>{"x", "y"}));
}

BOOST_AUTO_TEST_CASE(lww_register_retire_only_hides_the_writer_from_origins) {
  lww_register<std::string> old("n@0");
  old.set("v");
  lww_register<std::string> now("n@1");
  now.merge(old);
  BOOST_TEST(now.origins() == std::vector<std::string>{"n@0"});
  BOOST_REQUIRE(now.retire("n@0", 1));
  BOOST_TEST(now.origins().empty());
  BOOST_TEST(*now.value() == "v");
  BOOST_TEST(now.writer() == "n@0");
}

BOOST_AUTO_TEST_CASE(rga_refuses_to_retire_an_incarnation_that_inserted) {
  rga<std::string> old("n@0");
  BOOST_REQUIRE(old.insert("x"));
  rga<std::string> now("n@1");
  now.merge(old);
  auto refused = now.retire("n@0", 1);
  BOOST_REQUIRE(!refused);
  BOOST_TEST(refused.error().message().find("carry its id") != std::string::npos);
  BOOST_TEST(now.retire("never-seen", 1).has_value());
  BOOST_TEST(now.origins() == std::vector<std::string>{"n@0"});
}

BOOST_AUTO_TEST_CASE(ormap_retire_is_all_or_nothing_over_keys_and_values) {
  using set_map = ormap<std::string, orset<std::string>>;
  set_map old("n@0");
  old.update("k", [](auto& s) { s.add("a"); });
  set_map now("n@1");
  now.merge(old);
  now.update("k", [](auto&) {});  // the key is taken over, its element is not
  now.reset_delta();
  set_map before = now;
  auto refused = now.retire("n@0", 1);
  BOOST_REQUIRE(!refused);
  BOOST_TEST(refused.error().message().find("the value of key 'k'") != std::string::npos);
  BOOST_TEST((now == before));
  BOOST_TEST(!now.has_delta());
  now.update("k", [](auto& s) { BOOST_REQUIRE(s.absorb(s)); });
  BOOST_REQUIRE(now.retire("n@0", 1));
  BOOST_TEST(now.origins() == std::vector<std::string>{"n@1"});
  set_map peer("p");
  peer.merge(old);
  peer.merge(now.delta());
  BOOST_TEST(peer.origins() == std::vector<std::string>{"n@1"});
}

// The digest depends only on the projection, never on process-local state (interned pointers,
// insertion order), so it is the same in every process: pinned here.
BOOST_AUTO_TEST_CASE(origin_digest_is_the_projection_only_and_stable) {
  orset<std::string> a("n@1"), b("n@1");
  a.add("x");
  b.add("x");
  orset<std::string> other("q");
  other.add("z");
  b.merge(other);
  BOOST_TEST(a.origin_digest("n@1") == b.origin_digest("n@1"));
  BOOST_TEST(a.origin_digest("q") != b.origin_digest("q"));
  BOOST_TEST(a.origin_digest("n@1") == 0x959c1f104cd33809ULL);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(clocks)

BOOST_AUTO_TEST_CASE(vector_clock_compare_on_hand_built_cases) {
  vector_clock a, b;
  BOOST_TEST(a.compare(b) == clock_order::equal);
  a.increment("x");
  BOOST_TEST(a.compare(b) == clock_order::after);
  BOOST_TEST(b.compare(a) == clock_order::before);
  b.increment("y");
  BOOST_TEST(a.compare(b) == clock_order::concurrent);
  BOOST_TEST(!a.descends(b));
  a.merge(b);
  BOOST_TEST(a.descends(b));
  BOOST_TEST(a.dominates(b));
  BOOST_TEST(!a.dominates(a));
  BOOST_TEST(a.descends(a));
  BOOST_TEST(a.get("y") == 1u);
  BOOST_TEST(a.get("z") == 0u);
}

BOOST_AUTO_TEST_CASE(dotted_version_vector_events_sync_and_descend) {
  dotted_version_vector a, b;
  dot first = a.event("a");
  BOOST_TEST(first.counter == 1u);
  BOOST_TEST(a.event("a").counter == 2u);
  BOOST_TEST(a.contains(first));
  BOOST_TEST(!b.contains(first));
  b.event("b");
  BOOST_TEST(a.compare(b) == clock_order::concurrent);
  b.sync(a);
  BOOST_TEST(b.descends(a));
  BOOST_TEST(b.dominates(a));
  BOOST_TEST(!a.descends(b));
  BOOST_TEST(b.current()->actor == "b");
  a.add_to_context(dot{"c", 5});
  BOOST_TEST(a.contains(dot{"c", 5}));
  BOOST_TEST(!a.contains(dot{"c", 4}));
}

BOOST_AUTO_TEST_CASE(hlc_ticks_stay_monotonic_when_the_wall_clock_stalls_or_goes_back) {
  std::uint64_t now = 500;
  hybrid_logical_clock clock("n1", [&] { return now; });
  auto t1 = clock.tick();
  now = 400;  // wall clock went backwards
  auto t2 = clock.tick();
  BOOST_TEST(t1.wall_ms == 500u);
  BOOST_TEST(t2.wall_ms == 500u);
  BOOST_TEST(t2.logical == 1u);
  BOOST_TEST(hybrid_logical_clock::compare(t1, t2) == clock_order::before);
  now = 600;
  BOOST_TEST(clock.tick().logical == 0u);
}

BOOST_AUTO_TEST_CASE(hlc_update_moves_past_a_remote_stamp_from_the_future) {
  std::uint64_t now = 100;
  hybrid_logical_clock clock("n1", [&] { return now; });
  hlc_timestamp remote{900, 4, "n2"};
  auto t = clock.update(remote);
  BOOST_TEST(t.wall_ms == 900u);
  BOOST_TEST(t.logical == 5u);
  BOOST_TEST(hybrid_logical_clock::compare(remote, t) == clock_order::before);
  BOOST_TEST(hybrid_logical_clock::compare(t, t) == clock_order::equal);
  // Equal (time, counter): the node id decides.
  BOOST_TEST(hybrid_logical_clock::compare(hlc_timestamp{1, 1, "a"}, hlc_timestamp{1, 1, "b"}) == clock_order::before);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(bytes_as_text)

BOOST_AUTO_TEST_CASE(escaping_keeps_printable_utf8_and_writes_other_bytes_as_hex) {
  BOOST_TEST(grove::escape_bytes("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8c\xb3")
             == "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8c\xb3");
  BOOST_TEST(grove::escape_bytes("a\xff"
                                 "b")
             == "a\\xffb");
  BOOST_TEST(grove::escape_bytes("a\\b") == "a\\\\b");
  BOOST_TEST(grove::escape_bytes(std::string("\0\n\x7f", 3)) == "\\x00\\x0a\\x7f");
  BOOST_TEST(grove::escape_bytes("\xc2\x85") == "\\xc2\\x85");                    // a C1 control
  BOOST_TEST(grove::escape_bytes("\xc0\xaf") == "\\xc0\\xaf");                    // overlong '/'
  BOOST_TEST(grove::escape_bytes("\xed\xa0\x80") == "\\xed\\xa0\\x80");           // a surrogate
  BOOST_TEST(grove::escape_bytes("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
  BOOST_TEST(grove::escape_bytes("\xe6\x97") == "\\xe6\\x97");                    // cut short
  BOOST_TEST(!grove::unescape_bytes("a\\q"));
  BOOST_TEST(!grove::unescape_bytes("a\\x4"));
  BOOST_TEST(*grove::unescape_bytes("\\x41\\\\") == "A\\");
}

BOOST_AUTO_TEST_CASE(quoted_input_is_bounded) {
  BOOST_TEST(grove::quote_input("ab") == "'ab'");
  auto long_input = std::string(10000, 'x') + "\xff";
  auto q = grove::quote_input(long_input);
  BOOST_TEST(q.size() < 100u);
  BOOST_TEST(q.find("(10001 bytes)") != std::string::npos);
}

// Seeded: any bytes escape to printable UTF-8 and come back unchanged.
BOOST_AUTO_TEST_CASE(escaping_is_lossless_and_printable_for_any_bytes) {
  auto seed = grove::crdt::testing::base_seed();
  std::mt19937_64 g(seed);
  for (int run = 0; run < 2000; ++run) {
    std::string bytes(g() % 40, '\0');
    for (auto& c : bytes) c = static_cast<char>(g() % 4 == 0 ? 0x80 + g() % 0x80 : g() % 0x100);
    auto text = grove::escape_bytes(bytes);
    BOOST_TEST_CONTEXT("seed " << seed << " run " << run) {
      BOOST_TEST(grove::is_valid_utf8(text));
      BOOST_TEST(std::none_of(text.begin(), text.end(),
                              [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }));
      auto back = grove::unescape_bytes(text);
      BOOST_REQUIRE(back);
      BOOST_TEST(*back == bytes);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
