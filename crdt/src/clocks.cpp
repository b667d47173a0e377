#include "grove/crdt/clocks.hpp"

#include "count_map.hpp"

#include <algorithm>
#include <chrono>
#include <tuple>

namespace grove::crdt {

const char* to_string(clock_order order) noexcept {
  switch (order) {
    case clock_order::before: return "before";
    case clock_order::after: return "after";
    case clock_order::equal: return "equal";
    case clock_order::concurrent: return "concurrent";
  }
  return "unknown";
}

namespace {

clock_order order_from(bool a_covers_b, bool b_covers_a) {
  if (a_covers_b && b_covers_a) return clock_order::equal;
  if (a_covers_b) return clock_order::after;
  if (b_covers_a) return clock_order::before;
  return clock_order::concurrent;
}

}  // namespace

// --- vector_clock -------------------------------------------------------------------------

std::uint64_t vector_clock::increment(const replica_id& actor) { return ++entries_[actor]; }

std::uint64_t vector_clock::get(const replica_id& actor) const {
  auto it = entries_.find(actor);
  return it == entries_.end() ? 0 : it->second;
}

bool vector_clock::descends(const vector_clock& other) const {
  return std::all_of(other.entries_.begin(), other.entries_.end(),
                     [&](const auto& entry) { return get(entry.first) >= entry.second; });
}

bool vector_clock::dominates(const vector_clock& other) const { return descends(other) && *this != other; }

clock_order vector_clock::compare(const vector_clock& other) const {
  return order_from(descends(other), other.descends(*this));
}

void vector_clock::merge(const vector_clock& other) {
  for (const auto& [actor, count] : other.entries_) {
    auto& mine = entries_[actor];
    mine = std::max(mine, count);
  }
}

void vector_clock::write_state(byte_writer& w) const { detail::write_counts(w, entries_); }

bool vector_clock::read_state(byte_reader& r) { return detail::read_counts(r, entries_, "a vector clock"); }

// --- dotted_version_vector ----------------------------------------------------------------

dot dotted_version_vector::event(const replica_id& actor) {
  dot d = context_.next_dot(actor);
  current_ = d;
  return d;
}

void dotted_version_vector::sync(const dotted_version_vector& other) { context_.join(other.context_); }

bool dotted_version_vector::covers(const causal_context& other) const {
  for (const auto& [actor, top] : other.ranges())
    if (context_.top(actor) < top) return false;
  for (const auto& d : other.cloud())
    if (!context_.contains(d)) return false;
  return true;
}

bool dotted_version_vector::descends(const dotted_version_vector& other) const { return covers(other.context_); }

bool dotted_version_vector::dominates(const dotted_version_vector& other) const {
  return descends(other) && !other.descends(*this);
}

clock_order dotted_version_vector::compare(const dotted_version_vector& other) const {
  return order_from(descends(other), other.descends(*this));
}

void dotted_version_vector::merge(const dotted_version_vector& other) {
  context_.join(other.context_);
  auto later = [](const dot& a, const dot& b) { return std::tie(a.counter, a.actor) < std::tie(b.counter, b.actor); };
  if (other.current_ && (!current_ || later(*current_, *other.current_))) current_ = other.current_;
}

void dotted_version_vector::write_state(byte_writer& w) const {
  actor_table table(context_.actors());
  table.write(w);
  context_.write(w, table);
  w.u8(current_ ? 1 : 0);
  if (current_) table.write_dot(w, *current_);
}

bool dotted_version_vector::read_state(byte_reader& r) {
  actor_table table;
  if (!table.read(r) || !context_.read(r, table)) return false;
  std::uint8_t has_current = 0;
  if (!r.u8(has_current)) return false;
  current_.reset();
  if (has_current > 1) return r.fail("bad flag for the current dot");
  if (has_current == 1) {
    dot d;
    if (!table.read_dot(r, d)) return false;
    if (!context_.contains(d)) return r.fail("the current dot is missing from the context");
    current_ = std::move(d);
  }
  return true;
}

// --- hybrid_logical_clock -------------------------------------------------------------------

bool operator<(const hlc_timestamp& a, const hlc_timestamp& b) {
  return std::tie(a.wall_ms, a.logical, a.node) < std::tie(b.wall_ms, b.logical, b.node);
}

std::uint64_t hybrid_logical_clock::system_ms() {
  using namespace std::chrono;
  return static_cast<std::uint64_t>(duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

hlc_timestamp hybrid_logical_clock::tick() {
  std::uint64_t physical = source_();
  if (physical > last_.wall_ms) {
    last_.wall_ms = physical;
    last_.logical = 0;
  } else {
    ++last_.logical;
  }
  return last_;
}

hlc_timestamp hybrid_logical_clock::update(const hlc_timestamp& remote) {
  std::uint64_t physical = source_();
  std::uint64_t wall = std::max({physical, last_.wall_ms, remote.wall_ms});
  if (wall == last_.wall_ms && wall == remote.wall_ms)
    last_.logical = std::max(last_.logical, remote.logical) + 1;
  else if (wall == last_.wall_ms)
    ++last_.logical;
  else if (wall == remote.wall_ms)
    last_.logical = remote.logical + 1;
  else
    last_.logical = 0;
  last_.wall_ms = wall;
  return last_;
}

clock_order hybrid_logical_clock::compare(const hlc_timestamp& a, const hlc_timestamp& b) {
  if (a == b) return clock_order::equal;
  return a < b ? clock_order::before : clock_order::after;
}

void hybrid_logical_clock::merge(const hybrid_logical_clock& other) {
  if (std::tie(last_.wall_ms, last_.logical) < std::tie(other.last_.wall_ms, other.last_.logical)) {
    last_.wall_ms = other.last_.wall_ms;
    last_.logical = other.last_.logical;
  }
}

void hybrid_logical_clock::write_state(byte_writer& w) const {
  w.varint(last_.wall_ms);
  w.varint(last_.logical);
}

bool hybrid_logical_clock::read_state(byte_reader& r) {
  std::uint64_t wall = 0;
  std::uint64_t logical = 0;
  if (!r.varint(wall) || !r.varint(logical)) return false;
  if (logical > 0xffffffffu) return r.fail("HLC counter out of range");
  last_.wall_ms = wall;
  last_.logical = static_cast<std::uint32_t>(logical);
  return true;
}

}  // namespace grove::crdt
