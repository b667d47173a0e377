// Operations as data (Grove.CRDT's apply_operation): a name and string arguments, so that a
// mutation can be sent in a message (to a replication server on another node) or typed by a
// person (grove-node). Each supported type validates its operations:
//
//   gcounter                 increment [N]
//   pncounter                increment [N], decrement [N]
//   gset / orset / dvv_set   add E, remove E (not gset), clear (orset, dvv_set)
//   twop_set                 add E, remove E
//   lww_register / mv_register   set V
//   ormap<string, lww_register<string>>   put K V, erase K
//   rga                      insert INDEX V, remove INDEX
// (element, value and key types: std::string). N is 1..2^63-1 and defaults to 1.
#pragma once

#include <string>
#include <vector>

#include "grove/crdt/error.hpp"
#include "grove/crdt/gcounter.hpp"
#include "grove/crdt/gset.hpp"
#include "grove/crdt/ormap.hpp"
#include "grove/crdt/orset.hpp"
#include "grove/crdt/registers.hpp"
#include "grove/crdt/rga.hpp"

namespace grove::crdt {

struct operation {
  std::string name;
  std::vector<std::string> args;

  friend bool operator==(const operation& a, const operation& b) { return a.name == b.name && a.args == b.args; }
};

/// Applies `op`; errc::invalid_argument (naming the type and the operations it has) when the
/// operation or its arguments do not fit. Nothing changes on error.
status apply_operation(gcounter& x, const operation& op);
status apply_operation(pncounter& x, const operation& op);
status apply_operation(gset<std::string>& x, const operation& op);
status apply_operation(twop_set<std::string>& x, const operation& op);
status apply_operation(orset<std::string>& x, const operation& op);
status apply_operation(dvv_set<std::string>& x, const operation& op);
status apply_operation(lww_register<std::string>& x, const operation& op);
status apply_operation(mv_register<std::string>& x, const operation& op);
status apply_operation(ormap<std::string, lww_register<std::string>>& x, const operation& op);
status apply_operation(rga<std::string>& x, const operation& op);

/// Whether apply_operation on T can refuse an operation because of the value it is applied to (a
/// counter that would overflow, an element a twop_set removed, an index past the end of a list),
/// not only because of the operation itself. For the other types, applying an operation to an
/// empty value refuses exactly what applying it to any value refuses: a batch can be checked on
/// an empty value instead of a copy of the real one.
template <class T>
inline constexpr bool refusal_depends_on_value = true;
template <>
inline constexpr bool refusal_depends_on_value<gset<std::string>> = false;
template <>
inline constexpr bool refusal_depends_on_value<orset<std::string>> = false;
template <>
inline constexpr bool refusal_depends_on_value<dvv_set<std::string>> = false;
template <>
inline constexpr bool refusal_depends_on_value<lww_register<std::string>> = false;
template <>
inline constexpr bool refusal_depends_on_value<mv_register<std::string>> = false;
template <>
inline constexpr bool refusal_depends_on_value<ormap<std::string, lww_register<std::string>>> = false;

}  // namespace grove::crdt
