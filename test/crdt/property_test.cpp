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

// Retired incarnations (grove/crdt/retired.hpp), run as the replication layer will: three replicas
// restart now and then with a fresh incarnation ("n1@2") that continues from the old one's state.
// Then each retired incarnation r, in random order: its successor re-adds what r's dots keep
// alive, every replica converges (so all hold the same projection on r), the successor retires r,
// and everything shipped so far (deltas, and stale copies from before each retire) is delivered
// to every replica in random order with duplicates. A second world replays the same run without
// the retires: values must match it, replicas must converge, and origins() must no longer name r.
namespace {

template <class T>
auto plain(const T& x) {
  return x.value();
}
template <class K, class C>
auto plain(const ormap<K, C>& m) {
  std::map<K, decltype(plain(std::declval<const C&>()))> out;
  for (const auto& [key, value] : m.value()) out.emplace(key, plain(value));
  return out;
}

// The successor takes over what the dots of an old incarnation keep alive (re-adds it with fresh
// dots, same value), as the replication layer must before a retire.
template <class T>
void take_over_dots(T& x) {
  if constexpr (std::is_base_of_v<basic_dot_set<std::string>, T> || std::is_same_v<T, mv_register<int>>)
    (void)x.absorb(x);
}
template <class K, class C>
void take_over_dots(ormap<K, C>& m) {
  for (const auto& key : m.keys()) m.update(key, [](C& value) { take_over_dots(value); });
}

template <class T>
struct world {
  std::vector<T> replicas;
  std::vector<T> mail;  // deltas and stale copies, delivered later

  void ship(std::size_t i) {
    mail.push_back(replicas[i].has_delta() ? replicas[i].delta() : T(replicas[i].owner()));
    replicas[i].reset_delta();
  }
  void converge() {
    for (std::size_t i = 0; i < replicas.size(); ++i) ship(i);
    T all = replicas[0];
    for (const auto& x : replicas) all.merge(x);
    for (auto& x : replicas) x.merge(all);
  }
};

template <class T>
struct two_worlds {
  world<T> with_retire, without;
  std::vector<int> incarnation;
  std::vector<std::pair<std::size_t, replica_id>> retired;  // (replica, old incarnation)

  explicit two_worlds(std::size_t n) : incarnation(n, 0) {
    for (std::size_t i = 0; i < n; ++i) {
      with_retire.replicas.emplace_back(id(i));
      without.replicas.emplace_back(id(i));
    }
  }
  replica_id id(std::size_t i) const { return "n" + std::to_string(i) + "@" + std::to_string(incarnation[i]); }

  template <class F>
  void both(F f) {
    f(with_retire);
    f(without);
  }
  void change(std::size_t i, rng& g) {
    rng same = g;
    random_change(with_retire.replicas[i], g);
    random_change(without.replicas[i], same);
    BOOST_REQUIRE(g == same);  // equal values drew the same operation
  }
  void restart(std::size_t i) {
    retired.emplace_back(i, id(i));
    ++incarnation[i];
    both([&](world<T>& w) {
      w.ship(i);
      T fresh(id(i));
      fresh.merge(w.replicas[i]);
      w.replicas[i] = std::move(fresh);
    });
  }
  void step(rng& g) {
    auto i = pick(g, with_retire.replicas.size());
    auto action = pick(g, 10);
    if (action < 5) {
      change(i, g);
    } else if (action < 7) {
      both([&](world<T>& w) { w.ship(i); });
    } else if (action < 9 && !with_retire.mail.empty()) {
      auto m = pick(g, with_retire.mail.size());
      both([&](world<T>& w) { w.replicas[i].merge(w.mail[m]); });
    } else if (action == 9) {
      restart(i);
    }
  }
  // Every replica gets all the mail, shuffled, with duplicates, then they converge.
  void deliver_all(rng& g) {
    for (std::size_t i = 0; i < with_retire.replicas.size(); ++i) {
      std::vector<std::size_t> order;
      for (std::size_t m = 0; m < with_retire.mail.size(); ++m) {
        order.push_back(m);
        if (chance(g, 0.3)) order.push_back(m);
      }
      std::shuffle(order.begin(), order.end(), g);
      both([&](world<T>& w) {
        for (auto m : order) w.replicas[i].merge(w.mail[m]);
      });
    }
    both([](world<T>& w) { w.converge(); });
  }
};

// An observed reset of a counter (clear, or the erase of a counter-valued map key) that saw r's
// count but not the retire does not reset the count folded into the successor (retired.hpp): with
// these types only the successor, which has seen the retire, goes on while it spreads.
template <class T>
constexpr bool counts =
  std::is_same_v<T, gcounter> || std::is_same_v<T, pncounter> || std::is_same_v<T, ormap<std::string, pncounter>>;

template <class T>
bool names(const T& x, const replica_id& r) {
  auto all = x.origins();
  return std::find(all.begin(), all.end(), r) != all.end();
}

}  // namespace

BOOST_AUTO_TEST_CASE_TEMPLATE(retiring_old_incarnations_converges_and_keeps_the_value, T, delta_types) {
  for (int run = 0; run < runs_per_property / 4; ++run) {
    auto seed = base_seed() + static_cast<std::uint64_t>(run);
    BOOST_TEST_CONTEXT(T::type_name() << " seed " << seed) {
      rng g(seed);
      two_worlds<T> run_of(3);
      for (int step = 0; step < 60; ++step) run_of.step(g);
      std::shuffle(run_of.retired.begin(), run_of.retired.end(), g);
      for (const auto& [i, r] : run_of.retired) {
        BOOST_TEST_CONTEXT("retiring " << r << " at " << run_of.id(i)) {
          run_of.both([&, i = i](world<T>& w) { take_over_dots(w.replicas[i]); });
          run_of.both([](world<T>& w) { w.converge(); });
          auto& replicas = run_of.with_retire.replicas;
          for (const auto& x : replicas) BOOST_TEST(x.origin_digest(r) == replicas[0].origin_digest(r));
          auto stale = pick(g, replicas.size());
          run_of.both([&](world<T>& w) { w.mail.push_back(w.replicas[stale]); });

          auto value_before = plain(replicas[i]);
          auto retired = replicas[i].retire(r, 1000 + pick(g, 3));
          if constexpr (std::is_same_v<T, rga<std::string>>) {
            BOOST_TEST(!retired == names(replicas[i], r));  // refused while r's elements are there
            if (!retired) continue;
          }
          if (!retired) BOOST_FAIL(retired.error().to_string());
          BOOST_TEST((plain(replicas[i]) == value_before));
          BOOST_TEST(!names(replicas[i], r));
          run_of.both([&, i = i](world<T>& w) { w.ship(i); });

          for (int step = 0; step < 10; ++step) {  // the others go on meanwhile
            auto j = counts<T> ? i : pick(g, replicas.size());
            run_of.change(j, g);
            run_of.both([&](world<T>& w) { w.ship(j); });
          }
          run_of.deliver_all(g);
          for (std::size_t k = 0; k < replicas.size(); ++k) {
            BOOST_TEST((replicas[k] == replicas[0]));
            BOOST_TEST((plain(replicas[k]) == plain(run_of.without.replicas[k])));
            BOOST_TEST(!names(replicas[k], r));
          }
        }
      }
    }
  }
}
