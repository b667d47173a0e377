// grove-inspect: looks into a DETS-style store file without changing it (it opens the file
// read-only, so it works while a node is writing it).
//
//   grove-inspect FILE [--table T] list [--json]        groups with CRDT type and size
//   grove-inspect FILE [--table T] dump GROUP [--json]  the decoded value of one group
//   grove-inspect FILE [--table T] verify               decodes every value; exit 1 names each bad group
//   grove-inspect FILE tables                           the tables in the file
// Exit codes: 0 fine, 1 verify found bad groups, 2 usage or store errors.
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "grove/crdt/escape.hpp"
#include "grove/storage/dets_backend.hpp"
#include "value_json.hpp"

namespace {

using grove::storage::backend;
using grove::storage::group_key;
using json = nlohmann::json;

int fail(const std::string& what) {
  std::cerr << "grove-inspect: " << what << std::endl;
  return 2;
}

// Type and size of a stored value, or the reason it cannot be read.
json describe(grove::bytes_view value) {
  auto info = grove::crdt::read_envelope(value);
  if (!info) return json{{"error", info.error().to_string()}, {"bytes", value.size()}};
  return json{{"type", grove::escape_bytes(info->type_name)}, {"bytes", value.size()}, {"compressed", info->compressed}};
}

int list(backend& store, bool as_json) {
  auto groups = store.list_groups();
  if (!groups) return fail(groups.error().to_string());
  json rows = json::array();
  for (const auto& g : *groups) {
    auto value = store.load(g);
    json row = value && value->has_value() ? describe(**value) : json{{"error", "vanished while listing"}};
    row["group"] = g.to_string();
    rows.push_back(row);
  }
  if (as_json) {
    std::cout << grove::tools::dump_json(rows) << std::endl;
    return 0;
  }
  for (const auto& row : rows)
    std::cout << row["group"].get<std::string>() << "\t"
              << (row.contains("type") ? row["type"].get<std::string>() : "ERROR " + row["error"].get<std::string>())
              << "\t" << row["bytes"] << " bytes" << std::endl;
  std::cout << rows.size() << " groups" << std::endl;
  return 0;
}

int dump(backend& store, const std::string& group_text, bool as_json) {
  auto g = group_key::parse(group_text);
  if (!g) return fail(g.error().to_string());
  auto value = store.load(*g);
  if (!value) return fail(value.error().to_string());
  if (!value->has_value()) return fail("no group " + g->to_string());
  auto shown = grove::tools::value_to_json(**value);
  if (!shown) return fail("group " + g->to_string() + ": " + shown.error().to_string());
  auto meta = describe(**value);
  if (as_json) {
    std::cout << grove::tools::dump_json(json{{"group", g->to_string()}, {"type", meta["type"]}, {"value", *shown}})
              << std::endl;
  } else {
    std::cout << g->to_string() << " (" << meta["type"].get<std::string>() << ", " << meta["bytes"] << " bytes)\n"
              << grove::tools::dump_json(*shown, 2) << std::endl;
  }
  return 0;
}

int verify(backend& store) {
  auto groups = store.list_groups();
  if (!groups) return fail(groups.error().to_string());
  int bad = 0;
  for (const auto& g : *groups) {
    auto value = store.load(g);
    grove::status result;
    if (!value) {
      result = value.error();
    } else if (value->has_value()) {
      auto info = grove::crdt::read_envelope(**value);
      if (!info) result = info.error();
      else if (grove::tools::is_known_type(info->type_name))
        if (auto shown = grove::tools::value_to_json(**value); !shown) result = shown.error();
    }
    if (!result) {
      ++bad;
      std::cout << "bad: " << g.to_string() << ": " << result.error().to_string() << std::endl;
    }
  }
  std::cout << (bad ? "FAILED: " : "ok: ") << groups->size() << " groups, " << bad << " bad" << std::endl;
  return bad ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"grove-inspect: look into and verify a Grove store file"};
  std::string file, table = "grove_dets_storage", group_text;
  bool as_json = false;
  app.add_option("file", file, "store file")->required();
  app.add_option("--table", table, "table in the file");
  app.add_flag("--json", as_json, "print JSON");
  app.require_subcommand(1);
  auto* list_cmd = app.add_subcommand("list", "groups with CRDT type and size");
  auto* dump_cmd = app.add_subcommand("dump", "the decoded value of one group");
  dump_cmd->add_option("group", group_text, "KIND:NAME")->required();
  app.add_subcommand("verify", "decode every value");
  auto* tables_cmd = app.add_subcommand("tables", "tables in the file");
  for (auto* sub : {list_cmd, dump_cmd}) sub->add_flag("--json", as_json, "print JSON");
  CLI11_PARSE(app, argc, argv);

  if (tables_cmd->parsed()) {
    auto tables = grove::storage::list_dets_tables(file);
    if (!tables) return fail(tables.error().to_string());
    for (const auto& t : *tables) std::cout << t << std::endl;
    return 0;
  }
  grove::storage::dets_options opts;
  opts.file = file;
  opts.table = table;
  opts.read_only = true;
  auto store = grove::storage::open_dets(opts);
  if (!store) return fail(store.error().to_string());
  if (list_cmd->parsed()) return list(**store, as_json);
  if (dump_cmd->parsed()) return dump(**store, group_text, as_json);
  return verify(**store);
}
