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
      T itself = a;
      itself.merge(itself);  // the same object on both sides
      BOOST_TEST((itself == a));
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

// Joins against the definition (a dot survives if both sides have it, or one has it and the other
// has not seen it), in both directions: a small delta into a large set and a large set into it,
// deltas made of several changes (adds, re-adds, removes, clears), and states that merged other
// replicas' deltas first.
namespace {

using live_dots = std::map<std::string, std::set<dot>>;

live_dots live_of(const dot_kernel<std::string>& k) {
  live_dots out;
  for (const auto& [key, dots] : k.entries()) out[key].insert(dots.begin(), dots.end());
  return out;
}

live_dots joined_by_definition(const dot_kernel<std::string>& a, const dot_kernel<std::string>& b) {
  auto mine = live_of(a), theirs = live_of(b);
  live_dots out;
  for (const auto& [key, dots] : mine)
    for (const auto& d : dots)
      if (theirs[key].count(d) > 0 || !b.seen(d)) out[key].insert(d);
  for (const auto& [key, dots] : theirs)
    for (const auto& d : dots)
      if (!a.seen(d)) out[key].insert(d);
  for (auto it = out.begin(); it != out.end();) it = it->second.empty() ? out.erase(it) : std::next(it);
  return out;
}

void random_changes(orset<std::string>& x, rng& g, int n, std::size_t words) {
  for (int i = 0; i < n; ++i) {
    auto word = "w" + std::to_string(pick(g, words));
    if (chance(g, 0.65))
      x.add(word);
    else if (chance(g, 0.97))
      x.remove(word);
    else
      x.clear();
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(kernel_joins_follow_the_definition) {
  for (int run = 0; run < runs_per_property; ++run) {
    auto seed = base_seed() + static_cast<std::uint64_t>(run);
    BOOST_TEST_CONTEXT("seed " << seed) {
      rng g(seed);
      orset<std::string> big("a"), other("b"), third("c");
      random_changes(big, g, 400, 300);
      other.merge(big);
      third.merge(big);
      random_changes(third, g, 20, 300);
      big.merge(third.delta());  // concurrency: big has seen some of third's changes
      other.reset_delta();
      random_changes(other, g, 1 + static_cast<int>(pick(g, 8)), 320);
      for (const orset<std::string>& incoming : {other.delta(), other, third}) {
        auto expected = joined_by_definition(big.kernel(), incoming.kernel());
        orset<std::string> joined = big;
        joined.merge(incoming);
        BOOST_TEST((live_of(joined.kernel()) == expected));
        // The other direction: the delta (or state) takes in the big set.
        orset<std::string> reverse = incoming;
        reverse.merge(big);
        BOOST_TEST((live_of(reverse.kernel()) == expected));
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

// The container under every dot kernel against std::map: thousands of random inserts, erases and
// lookups (leaves split past 128 entries and join below 32), then appends in order and a drain.
BOOST_AUTO_TEST_CASE(entry_store_behaves_as_a_sorted_map) {
  for (int run = 0; run < 20; ++run) {
    auto seed = base_seed() + static_cast<std::uint64_t>(run);
    BOOST_TEST_CONTEXT("seed " << seed) {
      rng g(seed);
      entry_store<std::string, int> store;
      std::map<std::string, int> model;
      for (int step = 0; step < 6000; ++step) {
        auto key = "k" + std::to_string(pick(g, 1500));
        auto action = pick(g, 10);
        if (action < 6) {
          auto [value, inserted] = store.try_emplace(key, step);
          BOOST_TEST(inserted == model.emplace(key, step).second);
          BOOST_TEST(*value == model.at(key));
        } else if (action < 9) {
          BOOST_TEST(store.erase(key) == (model.erase(key) == 1));
        } else {
          const int* found = store.find(key);
          BOOST_TEST((found != nullptr) == (model.count(key) == 1));
        }
      }
      BOOST_TEST(store.size() == model.size());
      BOOST_TEST(std::equal(store.begin(), store.end(), model.begin(), model.end(),
                            [](const auto& a, const auto& b) { return a.first == b.first && a.second == b.second; }));

      entry_store<std::string, int> appended;
      appended.expect(model.size());
      for (const auto& [key, value] : model) appended.push_back(key, value);
      BOOST_TEST((appended == store));
      std::vector<std::string> drained;
      for (typename entry_store<std::string, int>::drain d(appended); !d.done(); d.next())
        drained.push_back(d.current().first);
      BOOST_TEST(appended.empty());
      BOOST_TEST(drained.size() == model.size());
      BOOST_TEST(std::is_sorted(drained.begin(), drained.end()));
    }
  }
}
