// What grove-sim knows independently of the nodes: every write a client got acknowledged, every dot
// issued for an element, every group dropped; and the checks of the invariants against it.
// CAF-free.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace grove::sim {

class oracle {
public:
  using timestamp = std::chrono::milliseconds;

  /// A write a client got acknowledged. It is guaranteed to survive when its node logged it
  /// durably (durability log on a durable store) and that node's store was not replaced by a copy
  /// older than the acknowledgement afterwards.
  struct write {
    std::string group;
    int node = 0;
    std::uint64_t increment = 0;  // counters
    std::string element;          // sets
    timestamp acknowledged{0};
    bool durable = false;
  };

  void acknowledged(write w) { writes_.push_back(std::move(w)); }
  /// Writes attempted on a counter (acknowledged or not): the most its value can reach.
  void attempted(const std::string& group, std::uint64_t increment) { attempted_[group] += increment; }
  /// An element was removed (its presence is no longer required).
  void removed(const std::string& group, const std::string& element) { removed_.insert({group, element}); }
  /// Node `node`'s store was replaced at `when` by a copy taken at `copied`.
  void restored(int node, timestamp copied, timestamp when) { restores_.push_back({node, copied, when}); }
  /// A group was dropped (the drop was acknowledged).
  void dropped(const std::string& group) { dropped_.insert(group); }
  bool is_dropped(const std::string& group) const { return dropped_.count(group) > 0; }
  /// No node knows of the drop any more (every store that held its tombstone was replaced by an
  /// older copy, or lost it in a crash, and no process remembers it): the group may come back.
  void forgotten(const std::string& group) { forgotten_.insert(group); }
  bool is_forgotten(const std::string& group) const { return forgotten_.count(group) > 0; }

  /// An element was added in `group` with dot (actor, counter); a violation if that dot named
  /// another element before.
  std::optional<std::string> issued(const std::string& group, const std::string& actor, std::uint64_t counter,
                                    const std::string& element);

  /// The acknowledged writes that must be in the final state.
  std::vector<write> guaranteed() const;
  std::uint64_t attempted(const std::string& group) const {
    auto it = attempted_.find(group);
    return it == attempted_.end() ? 0 : it->second;
  }
  bool was_removed(const std::string& group, const std::string& element) const {
    return removed_.count({group, element}) > 0;
  }
  const std::set<std::string>& dropped_groups() const { return dropped_; }

  /// How many times each invariant was checked (for the report).
  struct check_counts {
    std::uint64_t convergence = 0, lost_writes = 0, dots = 0, dropped = 0, metadata = 0;
  };
  check_counts checked;

private:
  std::vector<write> writes_;
  std::map<std::string, std::uint64_t> attempted_;
  std::set<std::pair<std::string, std::string>> removed_;
  std::vector<std::tuple<int, timestamp, timestamp>> restores_;
  std::set<std::string> dropped_;
  std::set<std::string> forgotten_;
  std::map<std::tuple<std::string, std::string, std::uint64_t>, std::string> dots_;
};

}  // namespace grove::sim
