#include "oracle.hpp"

namespace grove::sim {

std::optional<std::string> oracle::issued(const std::string& group, const std::string& actor, std::uint64_t counter,
                                          const std::string& element) {
  ++checked.dots;
  auto [it, fresh] = dots_.emplace(std::make_tuple(group, actor, counter), element);
  if (fresh || it->second == element) return std::nullopt;
  return "dot issued twice: " + actor + ":" + std::to_string(counter) + " of " + group + " named " + it->second
         + ", then " + element;
}

std::vector<oracle::write> oracle::guaranteed() const {
  std::vector<write> out;
  for (const auto& w : writes_) {
    if (!w.durable || dropped_.count(w.group) > 0) continue;
    bool restored_over = false;
    for (const auto& [node, copied, when] : restores_)
      restored_over = restored_over || (node == w.node && copied <= w.acknowledged && w.acknowledged <= when);
    if (!restored_over) out.push_back(w);
  }
  return out;
}

}  // namespace grove::sim
