#include "grove/storage/group_key.hpp"

#include <array>

#include "grove/crdt/escape.hpp"

namespace grove::storage {

namespace {

// [A-Za-z0-9_.-], ASCII whatever the process's locale (std::isalnum would follow it); a table,
// since every save and load checks its group.
constexpr std::array<bool, 256> kind_chars = [] {
  std::array<bool, 256> table{};
  for (int c = 0; c < 256; ++c)
    table[c] =
      (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  return table;
}();

bool valid_kind_char(char c) { return kind_chars[static_cast<unsigned char>(c)]; }

}  // namespace

status group_key::validate() const {
  if (kind.empty() || kind.size() > max_kind_size)
    return error(errc::invalid_argument, "group kind must be 1 to " + std::to_string(max_kind_size) + " bytes");
  for (char c : kind)
    if (!valid_kind_char(c))
      return error(errc::invalid_argument,
                   "group kind " + quote_input(kind) + " may only hold letters, digits, '_', '.', '-'");
  if (name.empty() || name.size() > max_name_size)
    return error(errc::invalid_argument, "group name must be 1 to " + std::to_string(max_name_size) + " bytes");
  return {};
}

bytes group_key::encode() const {
  bytes out;
  out.reserve(1 + kind.size() + name.size());
  out.push_back(static_cast<char>(kind.size()));
  out += kind;
  out += name;
  return out;
}

expected<group_key> group_key::decode(bytes_view in) {
  if (in.empty()) return error(errc::malformed, "empty group key");
  std::size_t kind_size = static_cast<unsigned char>(in[0]);
  if (in.size() < 1 + kind_size) return error(errc::malformed, "group key shorter than its kind");
  group_key g{std::string(in.substr(1, kind_size)), std::string(in.substr(1 + kind_size))};
  if (auto ok = g.validate(); !ok) return error(errc::malformed, "bad group key: " + ok.error().message());
  return g;
}

std::string group_key::to_string() const { return kind + ":" + escape_bytes(name); }

expected<group_key> group_key::parse(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos)
    return error(errc::invalid_argument, "group " + quote_input(text) + " is not written KIND:NAME");
  auto name = unescape_bytes(text.substr(colon + 1));
  if (!name) return error(errc::invalid_argument, "group " + quote_input(text) + ": " + name.error().message());
  group_key g{std::string(text.substr(0, colon)), std::move(*name)};
  if (auto ok = g.validate(); !ok) return ok.error();
  return g;
}

}  // namespace grove::storage
