#include "value_json.hpp"

#include <functional>
#include <map>

#include "grove/crdt/all.hpp"
#include "grove/crdt/escape.hpp"

namespace grove::tools {

namespace {

using namespace grove::crdt;
using json = nlohmann::json;
using renderer = std::function<expected<json>(const std::vector<bytes_view>&)>;

// Decodes every part as T and merges them, then renders the value with `show`.
template <class T, class Show>
renderer render_as(Show show) {
  return [show](const std::vector<bytes_view>& parts) -> expected<json> {
    T value;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      auto x = decode<T>(parts[i]);
      if (!x)
        return parts.size() == 1 ? x.error()
                                 : error(x.error().code(), "part " + std::to_string(i) + ": " + x.error().message());
      value.merge(*x);
    }
    return show(value);
  };
}

// Every value and key is shown through escape_bytes: values are bytes, JSON strings are UTF-8.
json text(std::string_view bytes) { return escape_bytes(bytes); }

template <class Set>
json sorted_array(const Set& xs) {
  json out = json::array();
  for (const auto& x : xs) out.push_back(text(x));
  return out;
}

json register_value(const lww_register<std::string>& r) { return r.value() ? text(*r.value()) : json(nullptr); }

const std::map<std::string, renderer>& renderers() {
  static const std::map<std::string, renderer> table{
    {gcounter::type_name(), render_as<gcounter>([](const gcounter& x) { return json(x.value()); })},
    {pncounter::type_name(), render_as<pncounter>([](const pncounter& x) { return json(x.value()); })},
    {orset<std::string>::type_name(),
     render_as<orset<std::string>>([](const auto& x) { return sorted_array(x.value()); })},
    {dvv_set<std::string>::type_name(),
     render_as<dvv_set<std::string>>([](const auto& x) { return sorted_array(x.value()); })},
    {gset<std::string>::type_name(),
     render_as<gset<std::string>>([](const auto& x) { return sorted_array(x.value()); })},
    {twop_set<std::string>::type_name(),
     render_as<twop_set<std::string>>([](const auto& x) { return sorted_array(x.value()); })},
    {lww_register<std::string>::type_name(), render_as<lww_register<std::string>>(register_value)},
    {mv_register<std::string>::type_name(),
     render_as<mv_register<std::string>>([](const auto& x) { return sorted_array(x.value()); })},
    {rga<std::string>::type_name(),
     render_as<rga<std::string>>([](const auto& x) { return sorted_array(x.to_list()); })},
    {ormap<std::string, lww_register<std::string>>::type_name(),
     render_as<ormap<std::string, lww_register<std::string>>>([](const auto& x) {
       json out = json::object();
       for (const auto& [key, value] : x.value()) out[escape_bytes(key)] = register_value(value);
       return out;
     })},
    {vector_clock::type_name(), render_as<vector_clock>([](const vector_clock& x) {
       json out = json::object();
       for (const auto& [actor, count] : x.entries()) out[escape_bytes(actor)] = count;
       return out;
     })},
  };
  return table;
}

}  // namespace

bool is_known_type(const std::string& type_name) { return renderers().count(type_name) > 0; }

expected<nlohmann::json> value_to_json(bytes_view encoded) { return merged_value_to_json({encoded}); }

expected<nlohmann::json> merged_value_to_json(const std::vector<bytes_view>& parts) {
  if (parts.empty()) return error(errc::invalid_argument, "no value to show");
  auto info = read_envelope(parts.front());
  if (!info) return info.error();
  auto it = renderers().find(info->type_name);
  if (it == renderers().end())
    return error(errc::type_mismatch, "no decoder for values of type " + quote_input(info->type_name));
  return it->second(parts);  // decode<T> refuses a part of another type
}

std::string dump_json(const nlohmann::json& j, int indent) {
  // replace: a stray byte that is not UTF-8 (in an error text, say) becomes U+FFFD instead of an
  // exception; values never reach this point unescaped.
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace grove::tools
