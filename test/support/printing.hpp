// Lets Boost.Test print Grove values in failure messages.
#pragma once

#include <ostream>
#include <type_traits>

#include "grove/crdt/all.hpp"

namespace grove {

inline std::ostream& operator<<(std::ostream& out, errc code) { return out << to_string(code); }

namespace crdt {

inline std::ostream& operator<<(std::ostream& out, clock_order order) { return out << to_string(order); }

inline std::ostream& operator<<(std::ostream& out, const replica_ref& a) { return out << a.str(); }

inline std::ostream& operator<<(std::ostream& out, const position& p) {
  return out << "(" << p.time << "," << p.actor.str() << ")";
}

/// A CRDT prints as its type name and encoded size: enough to tell which value differed.
template <class T, class = std::enable_if_t<is_crdt_v<T>>>
std::ostream& operator<<(std::ostream& out, const T& x) {
  return out << T::type_name() << "[" << encode(x, codec_options{false}).size() << " bytes]";
}

}  // namespace crdt
}  // namespace grove
