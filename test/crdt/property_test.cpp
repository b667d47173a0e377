// Seeded randomized properties of every CRDT type:
//  - merge is commutative, associative and idempotent;
//  - replicas that exchange only deltas (shuffled, duplicated) reach the state that exchanging full
//    states gives, and all replicas converge.
// Every check runs under the seed that produced it; set GROVE_TEST_SEED to replay one.
#define BOOST_TEST_MODULE crdt_properties
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <iostream>
#include <vector>

#include "support/random_crdts.hpp"

using namespace grove::crdt;

using namespace grove::crdt::testing;

namespace {

struct print_seed {
  print_seed() { std::cout << "crdt_property_test: seed " << base_seed() << " (replay: GROVE_TEST_SEED=N)\n"; }
};

}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(print_seed);

BOOST_AUTO_TEST_CASE_TEMPLATE(merge_is_commutative_associative_and_idempotent, T, all_types) {
  for (int run = 0; run < runs_per_property; ++run) {
    auto seed = base_seed() + static_cast<std::uint64_t>(run);
    BOOST_TEST_CONTEXT(T::type_name() << " seed " << seed) {
      rng g(seed);
      auto r = random_replicas<T>(g, 60);
      const T &a = r[0], &b = r[1], &c = r[2];
      BOOST_TEST((merged(a, b) == merged(b, a)));
      BOOST_TEST((merged(merged(a, b), c) == merged(a, merged(b, c))));
      BOOST_TEST((merged(a, a) == a));
      BOOST_TEST((merged(merged(a, b), b) == merged(a, b)));
    }
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(delta_exchange_reaches_the_full_state_exchange_result, T, delta_types) {
  for (int run = 0; run < runs_per_property; ++run) {
    auto seed = base_seed() + static_cast<std::uint64_t>(run);
    BOOST_TEST_CONTEXT(T::type_name() << " seed " << seed) {
      rng g(seed);
      std::vector<T> replicas;
      for (int i = 0; i < 3; ++i) replicas.push_back(make_replica<T>(i));
      std::vector<T> shipped;  // every delta any replica sent
      auto ship = [&](T& x) {
        if (!x.has_delta()) return;
        shipped.push_back(x.delta());
        x.reset_delta();
      };
      for (int step = 0; step < 80; ++step) {
        auto& x = replicas[pick(g, replicas.size())];
        auto action = pick(g, 10);
        if (action < 6)
          random_op(x, g);
        else if (action < 8)
          ship(x);
        else if (!shipped.empty())
          x.merge(shipped[pick(g, shipped.size())]);  // early, maybe stale
      }
      for (auto& x : replicas) ship(x);

      T full = make_replica<T>(9);
      for (const auto& x : replicas) full.merge(x);

      for (auto& x : replicas) {
        std::vector<const T*> deliveries;
        for (const auto& d : shipped) {
          deliveries.push_back(&d);
          if (chance(g, 0.3)) deliveries.push_back(&d);  // duplicates
        }
        std::shuffle(deliveries.begin(), deliveries.end(), g);
        for (const T* d : deliveries) x.merge(*d);
        BOOST_TEST((x == full));
        BOOST_TEST((x.value() == full.value()));
      }
      T only_deltas = make_replica<T>(8);
      for (const auto& d : shipped) only_deltas.merge(d);
      BOOST_TEST((only_deltas == full));
    }
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(merging_a_value_into_an_empty_replica_reproduces_it, T, all_types) {
  for (int run = 0; run < runs_per_property; ++run) {
    auto seed = base_seed() + static_cast<std::uint64_t>(run);
    BOOST_TEST_CONTEXT(T::type_name() << " seed " << seed) {
      rng g(seed);
      auto r = random_replicas<T>(g, 40);
      T fresh = make_replica<T>(7);
      fresh.merge(r[0]);
      BOOST_TEST((fresh == r[0]));
    }
  }
}

// Whatever the map holds and whoever built the value, put keeps the value's elements and the ones
// the key had; once merged anywhere (in either direction) the value's elements are still there.
BOOST_AUTO_TEST_CASE(ormap_put_never_loses_an_element) {
  using set_map = ormap<std::string, orset<std::string>>;
  for (int run = 0; run < runs_per_property; ++run) {
    auto seed = base_seed() + static_cast<std::uint64_t>(run);
    BOOST_TEST_CONTEXT("seed " << seed) {
      rng g(seed);
      auto r = random_replicas<set_map>(g, 40);
      auto key = "k" + std::to_string(pick(g, 4));
      auto value = independent_value<orset<std::string>>(g);
      const std::set<std::string> put_elements = value.value();
      std::set<std::string> expected = put_elements;
      if (const auto* before = r[0].get(key)) {
        auto had = before->value();
        expected.insert(had.begin(), had.end());
      }
      BOOST_REQUIRE(r[0].put(key, value));
      BOOST_TEST(r[0].get(key)->value() == expected);
      for (int other : {1, 2}) {
        for (bool put_side_first : {true, false}) {
          set_map x = put_side_first ? r[0] : r[other];
          x.merge(put_side_first ? r[other] : r[0]);
          const auto* merged_value = x.get(key);
          BOOST_REQUIRE(merged_value);
          auto got = merged_value->value();
          BOOST_TEST(std::includes(got.begin(), got.end(), put_elements.begin(), put_elements.end()));
        }
      }
    }
  }
}
