#include <mutex>
#include <unordered_set>

#include "grove/crdt/causal_context.hpp"

namespace grove::crdt {

const std::string* replica_ref::intern(std::string_view name) {
  // Node-based set: element addresses stay valid for the life of the process.
  static std::mutex mutex;
  static std::unordered_set<std::string> names;
  std::lock_guard<std::mutex> guard(mutex);
  return &*names.emplace(name).first;
}

replica_ref::replica_ref() {
  static const std::string* const empty = intern("");
  name_ = empty;
}

}  // namespace grove::crdt
