#include <deque>
#include <mutex>
#include <unordered_map>

#include "grove/crdt/causal_context.hpp"

namespace grove::crdt {

const std::string* replica_ref::intern(std::string_view name) {
  // The names live in a deque (push_back keeps element addresses valid for the life of the
  // process); the index is keyed by views of them, so a name met before costs a lookup and no
  // allocation (every decode of a dot and every lookup by name comes here).
  static std::mutex mutex;
  static std::deque<std::string> names;
  static std::unordered_map<std::string_view, const std::string*> index;
  std::lock_guard<std::mutex> guard(mutex);
  if (auto it = index.find(name); it != index.end()) return it->second;
  const auto& kept = names.emplace_back(name);
  index.emplace(kept, &kept);
  return &kept;
}

replica_ref::replica_ref() {
  static const std::string* const empty = intern("");
  name_ = empty;
}

}  // namespace grove::crdt
