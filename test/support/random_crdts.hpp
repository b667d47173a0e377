// Random CRDT states for property tests: one random local operation per type, and replicas built
// from seeded random operations and merges.
#pragma once

#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "support/printing.hpp"

namespace grove::crdt::testing {

using rng = std::mt19937_64;

inline std::uint64_t base_seed() {
  const char* env = std::getenv("GROVE_TEST_SEED");
  return env ? std::strtoull(env, nullptr, 10) : 20261126;
}

inline constexpr int runs_per_property = 200;

inline std::size_t pick(rng& g, std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(g); }
inline bool chance(rng& g, double p) { return std::bernoulli_distribution(p)(g); }
inline std::string small_word(rng& g) { return "w" + std::to_string(pick(g, 12)); }

// One random local change per type (random_change), and random_op: a random change or, now and
// then, the retire of one of the property tests' replica ids. Those retires ignore the protocol
// of retired.hpp on purpose (the id may be live, or retired by two replicas): merge must stay a
// join whatever is retired. clear() is the observed reset ormap's erase uses.
template <class T>
void random_op(T& x, rng& g);
template <class C>
void random_change(ormap<std::string, C>& x, rng& g);

inline void random_change(gcounter& x, rng& g) {
  if (chance(g, 0.1))
    x.clear();
  else
    (void)x.increment(1 + pick(g, 5));  // small: never refused
}
inline void random_change(pncounter& x, rng& g) {
  if (chance(g, 0.1))
    x.clear();
  else if (chance(g, 0.5))
    (void)x.increment(1 + pick(g, 5));  // small: never refused
  else
    (void)x.decrement(1 + pick(g, 5));
}
inline void random_change(lww_register<std::string>& x, rng& g) {
  if (chance(g, 0.1))
    x.clear();
  else if (chance(g, 0.2))
    (void)x.set(small_word(g), pick(g, 8));  // explicit, often colliding stamps
  else
    x.set(small_word(g));
}
inline void random_change(mv_register<int>& x, rng& g) {
  if (chance(g, 0.1))
    x.clear();
  else
    x.set(static_cast<int>(pick(g, 6)));
}
inline void random_change(gset<std::string>& x, rng& g) { x.add(small_word(g)); }
inline void random_change(twop_set<std::string>& x, rng& g) {
  if (chance(g, 0.6))
    x.add(small_word(g));
  else
    x.remove(small_word(g));
}
template <class E>
void random_dot_set_change(basic_dot_set<E>& x, rng& g) {
  if (chance(g, 0.6))
    x.add(small_word(g));
  else if (chance(g, 0.95))
    x.remove(small_word(g));
  else
    x.clear();
}
inline void random_change(orset<std::string>& x, rng& g) { random_dot_set_change(x, g); }
inline void random_change(dvv_set<std::string>& x, rng& g) { random_dot_set_change(x, g); }

// A value built on its own by one of the replicas' ids, so its dots collide with the map's (what
// ormap::put must survive).
template <class C>
C independent_value(rng& g) {
  C value("r" + std::to_string(pick(g, 3)));
  for (std::size_t i = 0, n = 1 + pick(g, 3); i < n; ++i) random_change(value, g);
  return value;
}

// update (70 %), put of an independently built value (15 %), erase (15 %).
template <class C>
void random_change(ormap<std::string, C>& x, rng& g) {
  auto key = "k" + std::to_string(pick(g, 4));
  auto action = pick(g, 20);
  if (action < 14)
    x.update(key, [&](C& value) { random_op(value, g); });
  else if (action < 17)
    (void)x.put(key, independent_value<C>(g));  // small values: never refused
  else
    x.erase(key);
}
using nested_map = ormap<std::string, ormap<std::string, orset<std::string>>>;

inline void random_change(rga<std::string>& x, rng& g) {
  auto ids = x.positions();
  if (!ids.empty() && chance(g, 0.3)) {
    x.remove(ids[pick(g, ids.size())]);
  } else {
    position after = ids.empty() || chance(g, 0.2) ? position{} : ids[pick(g, ids.size())];
    BOOST_REQUIRE(x.insert(small_word(g), after));
  }
}
inline void random_change(vector_clock& x, rng&) { x.increment(); }
inline void random_change(dotted_version_vector& x, rng& g) {
  if (chance(g, 0.8))
    x.event();
  else
    x.add_to_context(dot{"other", 1 + pick(g, 5)});
}

// HLC replicas read a per-test fake wall clock so runs are reproducible.
inline std::uint64_t fake_ms = 0;
inline void random_change(hybrid_logical_clock& x, rng& g) {
  fake_ms += pick(g, 3);
  x.tick();
}

template <class T, class = void>
struct has_retire : std::false_type {};
template <class T>
struct has_retire<T, std::void_t<decltype(std::declval<T&>().retire(replica_id(), 0))>> : std::true_type {};

template <class T>
void random_op(T& x, rng& g) {
  if constexpr (has_retire<T>::value) {
    if (chance(g, 0.04)) {
      (void)x.retire("r" + std::to_string(pick(g, 3)), 1000 + pick(g, 3));  // refused for the owner
      return;
    }
  }
  random_change(x, g);
}

template <class T>
T make_replica(int i) {
  if constexpr (std::is_same_v<T, hybrid_logical_clock>)
    return T("r" + std::to_string(i), [] { return fake_ms; });
  else
    return T("r" + std::to_string(i));
}

template <class T>
T merged(T a, const T& b) {
  a.merge(b);
  return a;
}

// Three replicas that operate and sometimes merge each other's full state.
template <class T>
std::vector<T> random_replicas(rng& g, int ops) {
  std::vector<T> r;
  for (int i = 0; i < 3; ++i) r.push_back(make_replica<T>(i));
  for (int step = 0; step < ops; ++step) {
    auto& x = r[pick(g, r.size())];
    if (chance(g, 0.2))
      x.merge(r[pick(g, r.size())]);
    else
      random_op(x, g);
  }
  return r;
}

template <class T>
constexpr bool has_delta_v =
  !std::is_same_v<
    T, vector_clock> && !std::is_same_v<T, dotted_version_vector> && !std::is_same_v<T, hybrid_logical_clock>;

using all_types =
  boost::mpl::list<gcounter, pncounter, lww_register<std::string>, mv_register<int>, gset<std::string>,
                   twop_set<std::string>, orset<std::string>, dvv_set<std::string>, ormap<std::string, pncounter>,
                   ormap<std::string, orset<std::string>>, ormap<std::string, lww_register<std::string>>,
                   ormap<std::string, mv_register<int>>, nested_map, rga<std::string>, vector_clock,
                   dotted_version_vector, hybrid_logical_clock>;

using delta_types =
  boost::mpl::list<gcounter, pncounter, lww_register<std::string>, mv_register<int>, gset<std::string>,
                   twop_set<std::string>, orset<std::string>, dvv_set<std::string>, ormap<std::string, pncounter>,
                   ormap<std::string, orset<std::string>>, ormap<std::string, lww_register<std::string>>,
                   ormap<std::string, mv_register<int>>, nested_map, rga<std::string>>;

}  // namespace grove::crdt::testing
