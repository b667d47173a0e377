// The storage behaviour's contracts, as test cases templated over a flavor (a way to open a fresh
// backend). Included by each test that runs the suite; it must define `contract_flavors`.
#pragma once

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <random>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "grove/crdt/all.hpp"
#include "grove/storage/backend.hpp"
#include "support/printing.hpp"
#include "support/temp_dir.hpp"

namespace contract {

using grove::errc;
using grove::storage::group_key;
using grove::storage::group_value;

inline group_key g(const std::string& kind, const std::string& name) { return group_key{kind, name}; }

}  // namespace contract

using contract::errc;
using contract::group_key;
using contract::group_value;

// The delta log.
namespace contract {

using grove::storage::log_entry;
using grove::storage::write_op;

// The numbers and deltas of a group's log, or a failed check.
inline std::vector<std::pair<std::uint64_t, std::string>> log_of(grove::storage::backend& b, const group_key& key) {
  auto r = b.read_log(key);
  BOOST_REQUIRE_MESSAGE(r, "read_log failed");
  std::vector<std::pair<std::uint64_t, std::string>> out;
  for (const auto& e : *r) out.emplace_back(e.seq, e.delta);
  return out;
}

using entries = std::vector<std::pair<std::uint64_t, std::string>>;

}  // namespace contract

using contract::write_op;

BOOST_AUTO_TEST_SUITE(storage_contract)

BOOST_AUTO_TEST_CASE_TEMPLATE(a_group_never_saved_loads_as_empty, F, contract_flavors) {
  grove::testing::temp_dir dir;
  auto b = F::open(dir);
  auto r = b->load(contract::g("counter", "nothing"));
  BOOST_REQUIRE(r);
  BOOST_TEST(!r->has_value());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(save_then_load_returns_the_last_value, F, contract_flavors) {
  grove::testing::temp_dir dir;
  auto b = F::open(dir);
  auto key = contract::g("counter", "views");
  BOOST_REQUIRE(b->save(key, "first"));
  BOOST_REQUIRE(b->save(key, "second"));
  auto r = b->load(key);
  BOOST_REQUIRE(r);
  BOOST_REQUIRE(r->has_value());
  BOOST_TEST(**r == "second");
}

BOOST_AUTO_TEST_CASE_TEMPLATE(erase_removes_and_erasing_a_missing_group_succeeds, F, contract_flavors) {
  grove::testing::temp_dir dir;
  auto b = F::open(dir);
  auto key = contract::g("set", "users");
  BOOST_TEST(bool(b->erase(key)));
  BOOST_REQUIRE(b->save(key, "x"));
  BOOST_TEST(bool(b->erase(key)));
  BOOST_TEST(!b->load(key)->has_value());
  BOOST_TEST(b->list_groups()->empty());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(list_groups_is_sorted_and_complete, F, contract_flavors) {
  grove::testing::temp_dir dir;
  auto b = F::open(dir);
  // Kinds of different lengths: the encoded key order is not the (kind, name) order.
  std::vector<group_key> expected{contract::g("a", "z"), contract::g("counter", "a"), contract::g("counter", "b"),
                                  contract::g("map", "m"), contract::g("zz", "0")};
  for (int i = 0; i < 200; ++i) expected.push_back(contract::g("bulk", "g" + std::to_string(i)));
  auto shuffled = expected;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(7));
  for (const auto& key : shuffled) BOOST_REQUIRE(b->save(key, key.to_string()));
  BOOST_REQUIRE(b->erase(contract::g("bulk", "g7")));
  expected.erase(std::find(expected.begin(), expected.end(), contract::g("bulk", "g7")));
  std::sort(expected.begin(), expected.end());
  auto listed = b->list_groups();
  BOOST_REQUIRE(listed);
  BOOST_TEST(listed->size() == expected.size());
  BOOST_TEST((*listed == expected));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(close_is_idempotent_and_later_calls_fail_clearly, F, contract_flavors) {
  grove::testing::temp_dir dir;
  auto b = F::open(dir);
  auto key = contract::g("counter", "c");
  BOOST_REQUIRE(b->save(key, "v"));
  BOOST_TEST(bool(b->close()));
  BOOST_TEST(bool(b->close()));
  BOOST_TEST(b->save(key, "v").error().code() == errc::closed);
  BOOST_TEST(b->save_batch({group_value{key, "v"}}).error().code() == errc::closed);
  BOOST_TEST(b->load(key).error().code() == errc::closed);
  BOOST_TEST(b->erase(key).error().code() == errc::closed);
  BOOST_TEST(b->list_groups().error().code() == errc::closed);
  BOOST_TEST(b->sync().error().code() == errc::closed);
  BOOST_TEST(b->load(key).error().message().find("closed") != std::string::npos);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(invalid_groups_are_refused, F, contract_flavors) {
  grove::testing::temp_dir dir;
  auto b = F::open(dir);
  BOOST_TEST(b->save(contract::g("", "x"), "v").error().code() == errc::invalid_argument);
  BOOST_TEST(b->save(contract::g("bad kind", "x"), "v").error().code() == errc::invalid_argument);
  BOOST_TEST(b->load(contract::g("k", "")).error().code() == errc::invalid_argument);
  BOOST_TEST(b->erase(contract::g("k", std::string(5000, 'n'))).error().code() == errc::invalid_argument);
  // The limits themselves: kinds up to 64 bytes, names up to 400.
  BOOST_TEST(bool(b->save(contract::g(std::string(64, 'k'), std::string(400, 'n')), "v")));
  BOOST_TEST(b->save(contract::g(std::string(65, 'k'), "x"), "v").error().code() == errc::invalid_argument);
  BOOST_TEST(b->save(contract::g("k", std::string(401, 'n')), "v").error().code() == errc::invalid_argument);
  BOOST_TEST(b->list_groups()->size() == 1u);
  BOOST_REQUIRE(b->erase(contract::g(std::string(64, 'k'), std::string(400, 'n'))));
  BOOST_TEST(b->list_groups()->empty());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(an_oversized_value_is_refused_and_stores_nothing, F, contract_flavors) {
  grove::testing::temp_dir dir;
  auto b = F::open(dir);  // every flavor is opened with max_value_size = 1 MiB
  auto key = contract::g("blob", "big");
  auto r = b->save(key, std::string((1 << 20) + 1, 'x'));
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().code() == errc::too_large);
  BOOST_TEST(r.error().message().find("blob:big") != std::string::npos);
  BOOST_TEST(!b->load(key)->has_value());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(save_batch_stores_all_entries_and_later_entries_win, F, contract_flavors) {
  grove::testing::temp_dir dir;
  auto b = F::open(dir);
  std::vector<group_value> batch;
  for (int i = 0; i < 50; ++i) batch.push_back({contract::g("k", std::to_string(i)), "v" + std::to_string(i)});
  batch.push_back({contract::g("k", "3"), "newer"});
  BOOST_REQUIRE(b->save_batch(batch));
  BOOST_TEST(b->list_groups()->size() == 50u);
  BOOST_TEST(**b->load(contract::g("k", "3")) == "newer");
  BOOST_TEST(**b->load(contract::g("k", "49")) == "v49");
  BOOST_TEST(bool(b->sync()));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(typed_load_of_the_wrong_crdt_type_names_both_types, F, contract_flavors) {
  grove::testing::temp_dir dir;
  auto b = F::open(dir);
  grove::crdt::gcounter c("a");
  BOOST_REQUIRE(c.increment(4));
  auto key = contract::g("counter", "views");
  BOOST_REQUIRE(grove::storage::save(*b, key, c));
  auto ok = grove::storage::load<grove::crdt::gcounter>(*b, key, "me");
  BOOST_REQUIRE(ok);
  BOOST_TEST((*ok)->value() == 4u);
  BOOST_TEST((*ok)->owner() == "me");
  auto wrong = grove::storage::load<grove::crdt::orset<std::string>>(*b, key);
  BOOST_REQUIRE(!wrong);
  BOOST_TEST(wrong.error().code() == errc::type_mismatch);
  BOOST_TEST(wrong.error().message().find("grove.gcounter") != std::string::npos);
  BOOST_TEST(wrong.error().message().find("grove.orset<string>") != std::string::npos);
  BOOST_TEST(wrong.error().message().find("counter:views") != std::string::npos);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_damaged_value_fails_alone_and_every_other_group_loads, F, contract_flavors) {
  grove::testing::temp_dir dir;
  auto b = F::open(dir);
  grove::crdt::gcounter c("a");
  BOOST_REQUIRE(c.increment());
  for (int i = 0; i < 10; ++i) BOOST_REQUIRE(grove::storage::save(*b, contract::g("counter", std::to_string(i)), c));
  auto damaged = grove::crdt::encode(c);
  damaged[damaged.size() - 9] ^= 0x10;  // the payload's last byte (the 8-byte checksum follows)
  BOOST_REQUIRE(b->save(contract::g("counter", "5"), damaged));
  for (int i = 0; i < 10; ++i) {
    auto r = grove::storage::load<grove::crdt::gcounter>(*b, contract::g("counter", std::to_string(i)));
    if (i == 5) {
      BOOST_REQUIRE(!r);
      BOOST_TEST(r.error().code() == errc::checksum_mismatch);
      BOOST_TEST(r.error().message().find("counter:5") != std::string::npos);
    } else {
      BOOST_REQUIRE(r);
      BOOST_TEST((*r)->value() == 1u);
    }
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(concurrent_writers_and_readers_on_several_threads, F, contract_flavors) {
  grove::testing::temp_dir dir;
  auto b = F::open(dir);
  constexpr int threads = 4, per_thread = 200;
  std::vector<std::thread> workers;
  std::atomic<int> failures{0};
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        auto key = contract::g("t" + std::to_string(t), std::to_string(i));
        if (!b->save(key, std::to_string(i))) ++failures;
        auto back = b->load(key);
        if (!back || !back->has_value() || **back != std::to_string(i)) ++failures;
        if (!b->list_groups()) ++failures;
      }
    });
  }
  for (auto& w : workers) w.join();
  BOOST_TEST(failures.load() == 0);
  BOOST_TEST(b->list_groups()->size() == std::size_t{threads * per_thread});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(log_entries_come_back_by_number_and_truncate_drops_up_to_its_bound, F, contract_flavors) {
  grove::testing::temp_dir dir;
  auto b = F::open(dir);
  auto key = contract::g("set", "logged"), other = contract::g("set", "logged2");
  BOOST_TEST(contract::log_of(*b, key).empty());
  for (std::uint64_t seq : {3, 1, 2}) BOOST_REQUIRE(b->append(key, seq, "d" + std::to_string(seq)));
  BOOST_REQUIRE(b->append(other, 1, "other"));  // a group whose name extends the first one's
  BOOST_TEST((contract::log_of(*b, key) == contract::entries{{1, "d1"}, {2, "d2"}, {3, "d3"}}));
  BOOST_REQUIRE(b->truncate_log(key, 2));
  BOOST_TEST((contract::log_of(*b, key) == contract::entries{{3, "d3"}}));
  BOOST_TEST((contract::log_of(*b, other) == contract::entries{{1, "other"}}));
  BOOST_TEST(!b->load(key)->has_value());  // a log is not a snapshot
  BOOST_REQUIRE(b->sync());
  BOOST_TEST((contract::log_of(*b, key) == contract::entries{{3, "d3"}}));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_snapshot_and_the_truncation_it_allows_are_one_write_in_order, F, contract_flavors) {
  grove::testing::temp_dir dir;
  auto b = F::open(dir);
  auto key = contract::g("counter", "c");
  BOOST_REQUIRE(b->append(key, 1, "d1"));
  BOOST_REQUIRE(b->sync());  // entry 1 on disk, the rest in one write
  // Entries 2 and 3 come before the truncation and go with it; entry 4 comes after and stays.
  BOOST_REQUIRE(
    b->write({write_op::append(key, 2, "d2"), write_op::append(key, 3, "d3"), write_op::save(key, "state through 3"),
              write_op::truncate(key, 3), write_op::append(key, 4, "d4")}));
  BOOST_TEST(**b->load(key) == "state through 3");
  BOOST_TEST((contract::log_of(*b, key) == contract::entries{{4, "d4"}}));
  BOOST_REQUIRE(b->sync());
  BOOST_TEST((contract::log_of(*b, key) == contract::entries{{4, "d4"}}));
  // Erase drops snapshot and log; entries appended after it (a new start) stay.
  BOOST_REQUIRE(b->write({write_op::erase(key), write_op::append(key, 1, "new")}));
  BOOST_TEST(!b->load(key)->has_value());
  BOOST_TEST((contract::log_of(*b, key) == contract::entries{{1, "new"}}));
  BOOST_REQUIRE(b->sync());
  BOOST_TEST((contract::log_of(*b, key) == contract::entries{{1, "new"}}));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(list_groups_includes_groups_with_only_a_log, F, contract_flavors) {
  grove::testing::temp_dir dir;
  auto b = F::open(dir);
  auto logged = contract::g("set", "only-log"), saved = contract::g("set", "only-snapshot"),
       gone = contract::g("set", "gone");
  BOOST_REQUIRE(b->append(logged, 7, "d"));
  BOOST_REQUIRE(b->save(saved, "s"));
  BOOST_REQUIRE(b->append(gone, 1, "d"));
  BOOST_REQUIRE(b->sync());
  BOOST_REQUIRE(b->truncate_log(gone, 1));  // its only entry: the group is gone
  std::vector<group_key> expected{logged, saved};
  std::sort(expected.begin(), expected.end());
  BOOST_TEST((*b->list_groups() == expected));
  BOOST_REQUIRE(b->sync());
  BOOST_TEST((*b->list_groups() == expected));
  BOOST_REQUIRE(b->erase(logged));
  BOOST_TEST((*b->list_groups() == std::vector<group_key>{saved}));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_write_with_one_bad_operation_stores_none_of_them, F, contract_flavors) {
  grove::testing::temp_dir dir;
  auto b = F::open(dir);
  auto key = contract::g("counter", "c");
  for (auto bad : {write_op::append(key, 0, "entry zero"), write_op::append(key, 2, std::string(2 << 20, 'x')),
                   write_op::save(contract::g("", "no kind"), "x")}) {
    auto r = b->write({write_op::append(key, 1, "d1"), write_op::save(key, "s"), bad});
    BOOST_REQUIRE(!r);
    BOOST_TEST((r.error().code() == errc::invalid_argument || r.error().code() == errc::too_large));
    BOOST_TEST(contract::log_of(*b, key).empty());
    BOOST_TEST(!b->load(key)->has_value());
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(typed_load_merges_the_snapshot_with_the_log, F, contract_flavors) {
  grove::testing::temp_dir dir;
  auto b = F::open(dir);
  auto key = contract::g("set", "users");
  grove::crdt::orset<std::string> s("a@1");
  s.add("in snapshot");
  BOOST_REQUIRE(grove::storage::save(*b, key, s));
  s.reset_delta();
  s.add("in entry 1");
  BOOST_REQUIRE(b->append(key, 1, grove::crdt::encode(s.delta())));
  s.reset_delta();
  s.remove("in snapshot");
  BOOST_REQUIRE(b->append(key, 2, grove::crdt::encode(s.delta())));
  auto loaded = grove::storage::load<grove::crdt::orset<std::string>>(*b, key);
  BOOST_REQUIRE(loaded);
  BOOST_REQUIRE(loaded->has_value());
  BOOST_TEST(((*loaded)->value() == std::set<std::string>{"in entry 1"}));
  // A damaged entry is an error that names the group and the entry.
  BOOST_REQUIRE(b->append(key, 3, "not an encoding"));
  auto damaged = grove::storage::load<grove::crdt::orset<std::string>>(*b, key);
  BOOST_REQUIRE(!damaged);
  BOOST_TEST(damaged.error().message().find("group set:users, log entry 3") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
