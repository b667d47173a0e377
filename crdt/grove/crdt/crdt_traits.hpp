// What makes a type a Grove CRDT for the codec: a static `type_name()`, `write_state` and
// `read_state` members, and construction from a replica id. CRDTs can then be elements of other
// CRDTs (ormap values) through the `value_codec` specialisation below.
#pragma once

#include <string>
#include <type_traits>
#include <utility>

#include "grove/crdt/binary.hpp"

namespace grove::crdt {

template <class T, class = void>
struct is_crdt : std::false_type {};

template <class T>
struct is_crdt<
  T, std::void_t<decltype(T::type_name()), decltype(std::declval<const T&>().write_state(std::declval<byte_writer&>())),
                 decltype(std::declval<T&>().read_state(std::declval<byte_reader&>()))>> : std::true_type {};

template <class T>
inline constexpr bool is_crdt_v = is_crdt<T>::value;

/// A CRDT nested in another CRDT is written as its state. Reading needs an object that was
/// constructed with its owner's replica id.
template <class T>
struct value_codec<T, std::enable_if_t<is_crdt_v<T>>> {
  static std::string name() { return T::type_name(); }
  static void write(byte_writer& w, const T& x) { x.write_state(w); }
  static bool read(byte_reader& r, T& x) { return x.read_state(r); }
};

}  // namespace grove::crdt
