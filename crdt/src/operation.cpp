#include "grove/crdt/operation.hpp"

#include <charconv>
#include <string_view>

#include "grove/crdt/escape.hpp"

namespace grove::crdt {

namespace {

error unknown(const std::string& type, const operation& op, const char* accepted) {
  return error(errc::invalid_argument, type + " has no operation " + quote_input(op.name) + " with "
                                         + std::to_string(op.args.size()) + " argument(s); it accepts: " + accepted);
}

// Parses an unsigned count in [1, 2^63).
expected<std::uint64_t> count(const std::string& text) {
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n == 0 || n > (std::uint64_t{1} << 63) - 1)
    return error(errc::invalid_argument, quote_input(text) + " is not a count from 1 to 2^63-1");
  return n;
}

expected<std::uint64_t> optional_count(const operation& op) {
  if (op.args.empty()) return std::uint64_t{1};
  return count(op.args[0]);
}

expected<std::size_t> index(const std::string& text) {
  std::size_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size())
    return error(errc::invalid_argument, quote_input(text) + " is not an index");
  return n;
}

// `name` as a view: the comparison checks the length first and needs no strlen.
bool is(const operation& op, std::string_view name, std::size_t min_args, std::size_t max_args) {
  return std::string_view(op.name) == name && op.args.size() >= min_args && op.args.size() <= max_args;
}

template <class Set>
status apply_set_operation(Set& x, const operation& op, const char* accepted) {
  if (is(op, "add", 1, 1)) {
    x.add(op.args[0]);
    return {};
  }
  if (is(op, "remove", 1, 1)) {
    x.remove(op.args[0]);
    return {};
  }
  if (is(op, "clear", 0, 0)) {
    x.clear();
    return {};
  }
  return unknown(Set::type_name(), op, accepted);
}

}  // namespace

status apply_operation(gcounter& x, const operation& op) {
  if (!is(op, "increment", 0, 1)) return unknown(gcounter::type_name(), op, "increment [N]");
  auto n = optional_count(op);
  if (!n) return n.error();
  return x.increment(*n);
}

status apply_operation(pncounter& x, const operation& op) {
  bool up = is(op, "increment", 0, 1);
  if (!up && !is(op, "decrement", 0, 1)) return unknown(pncounter::type_name(), op, "increment [N], decrement [N]");
  auto n = optional_count(op);
  if (!n) return n.error();
  return up ? x.increment(*n) : x.decrement(*n);
}

status apply_operation(gset<std::string>& x, const operation& op) {
  if (!is(op, "add", 1, 1)) return unknown(gset<std::string>::type_name(), op, "add E");
  x.add(op.args[0]);
  return {};
}

status apply_operation(twop_set<std::string>& x, const operation& op) {
  if (is(op, "add", 1, 1)) {
    if (!x.add(op.args[0]))
      return error(errc::invalid_argument,
                   quote_input(op.args[0]) + " was removed from this twop_set and cannot come back");
    return {};
  }
  if (is(op, "remove", 1, 1)) {
    x.remove(op.args[0]);
    return {};
  }
  return unknown(twop_set<std::string>::type_name(), op, "add E, remove E");
}

status apply_operation(orset<std::string>& x, const operation& op) {
  return apply_set_operation(x, op, "add E, remove E, clear");
}

status apply_operation(dvv_set<std::string>& x, const operation& op) {
  return apply_set_operation(x, op, "add E, remove E, clear");
}

status apply_operation(lww_register<std::string>& x, const operation& op) {
  if (!is(op, "set", 1, 1)) return unknown(lww_register<std::string>::type_name(), op, "set V");
  x.set(op.args[0]);
  return {};
}

status apply_operation(mv_register<std::string>& x, const operation& op) {
  if (!is(op, "set", 1, 1)) return unknown(mv_register<std::string>::type_name(), op, "set V");
  x.set(op.args[0]);
  return {};
}

status apply_operation(ormap<std::string, lww_register<std::string>>& x, const operation& op) {
  if (is(op, "put", 2, 2)) {
    x.update(op.args[0], [&](lww_register<std::string>& r) { r.set(op.args[1]); });
    return {};
  }
  if (is(op, "erase", 1, 1)) {
    x.erase(op.args[0]);
    return {};
  }
  return unknown(ormap<std::string, lww_register<std::string>>::type_name(), op, "put K V, erase K");
}

status apply_operation(rga<std::string>& x, const operation& op) {
  if (is(op, "insert", 2, 2)) {
    auto at = index(op.args[0]);
    if (!at) return at.error();
    auto id = x.insert_at(*at, op.args[1]);
    if (!id) return id.error();
    return {};
  }
  if (is(op, "remove", 1, 1)) {
    auto at = index(op.args[0]);
    if (!at) return at.error();
    auto ids = x.positions();
    if (*at >= ids.size())
      return error(errc::invalid_argument,
                   "index " + op.args[0] + " is past the end of a list of " + std::to_string(ids.size()));
    x.remove(ids[*at]);
    return {};
  }
  return unknown(rga<std::string>::type_name(), op, "insert INDEX V, remove INDEX");
}

}  // namespace grove::crdt
