// grove-inspect: looks into a DETS-style store file without changing it (it opens the file
// read-only, so it works while a node is writing it).
//
//   grove-inspect FILE [--table T] list [--json]        groups: CRDT type, snapshot size, log entries and bytes
//   grove-inspect FILE [--table T] dump GROUP [--json]  the value of one group (snapshot merged with its log)
//   grove-inspect FILE [--table T] verify               decodes every snapshot and log entry; exit 1 names
//                                                       each bad group (and log entry)
//   grove-inspect FILE tables                           the tables in the file
//   grove-inspect FILE backup TO                        a consistent copy of the store as of one instant
//                                                       (hot: a node may be writing FILE); TO must not exist
// Exit codes: 0 fine, 1 verify found bad groups, 2 usage or store errors.
#include <iostream>
#include <optional>
#include <string>
#include <vector>

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

// What a group holds in the store.
struct stored_group {
  std::optional<grove::bytes> snapshot;
  std::vector<grove::storage::log_entry> log;
};

grove::expected<stored_group> read_group(backend& store, const group_key& g) {
  auto snapshot = store.load(g);
  if (!snapshot) return snapshot.error();
  auto log = store.read_log(g);
  if (!log) return log.error();
  return stored_group{std::move(*snapshot), std::move(*log)};
}

// Type and sizes of a group, or the reason it cannot be read. The type comes from the snapshot,
// or from the first log entry when there is no snapshot.
json describe(const stored_group& s) {
  std::size_t log_bytes = 0;
  for (const auto& e : s.log) log_bytes += e.delta.size();
  json row{{"bytes", s.snapshot ? s.snapshot->size() : 0}, {"log_entries", s.log.size()}, {"log_bytes", log_bytes}};
  grove::bytes_view first = s.snapshot ? grove::bytes_view(*s.snapshot) : grove::bytes_view(s.log.front().delta);
  auto info = grove::crdt::read_envelope(first);
  if (!info) {
    row["error"] = info.error().to_string();
    return row;
  }
  row["type"] = grove::escape_bytes(info->type_name);
  row["compressed"] = info->compressed;
  return row;
}

int list(backend& store, bool as_json) {
  auto groups = store.list_groups();
  if (!groups) return fail(groups.error().to_string());
  json rows = json::array();
  for (const auto& g : *groups) {
    auto stored = read_group(store, g);
    json row = !stored                                      ? json{{"error", stored.error().to_string()}}
               : (stored->snapshot || !stored->log.empty()) ? describe(*stored)
                                                            : json{{"error", "vanished while listing"}};
    row["group"] = g.to_string();
    rows.push_back(row);
  }
  if (as_json) {
    std::cout << grove::tools::dump_json(rows) << std::endl;
    return 0;
  }
  for (const auto& row : rows) {
    std::cout << row["group"].get<std::string>() << "\t"
              << (row.contains("type") ? row["type"].get<std::string>() : "ERROR " + row["error"].get<std::string>());
    if (row.contains("bytes")) std::cout << "\t" << row["bytes"] << " bytes";
    if (row.value("log_entries", 0) > 0)
      std::cout << "\tlog: " << row["log_entries"] << " entries, " << row["log_bytes"] << " bytes";
    std::cout << std::endl;
  }
  std::cout << rows.size() << " groups" << std::endl;
  return 0;
}

// The snapshot and the log entries of a group, in the order they merge.
std::vector<grove::bytes_view> parts_of(const stored_group& s) {
  std::vector<grove::bytes_view> parts;
  if (s.snapshot) parts.emplace_back(*s.snapshot);
  for (const auto& e : s.log) parts.emplace_back(e.delta);
  return parts;
}

int dump(backend& store, const std::string& group_text, bool as_json) {
  auto g = group_key::parse(group_text);
  if (!g) return fail(g.error().to_string());
  auto stored = read_group(store, *g);
  if (!stored) return fail(stored.error().to_string());
  if (!stored->snapshot && stored->log.empty()) return fail("no group " + g->to_string());
  auto shown = grove::tools::merged_value_to_json(parts_of(*stored));
  if (!shown) return fail("group " + g->to_string() + ": " + shown.error().to_string());
  auto meta = describe(*stored);
  if (as_json) {
    std::cout << grove::tools::dump_json(json{{"group", g->to_string()}, {"type", meta["type"]}, {"value", *shown}})
              << std::endl;
  } else {
    std::cout << g->to_string() << " (" << meta["type"].get<std::string>() << ", " << meta["bytes"] << " bytes";
    if (!stored->log.empty())
      std::cout << " + " << meta["log_entries"] << " log entries, " << meta["log_bytes"] << " bytes";
    std::cout << ")\n" << grove::tools::dump_json(*shown, 2) << std::endl;
  }
  return 0;
}

// Checks one encoded part: its envelope, its type (the group's), and for known types its value.
grove::status check_part(grove::bytes_view part, std::optional<std::string>& group_type) {
  auto info = grove::crdt::read_envelope(part);
  if (!info) return info.error();
  if (group_type && *group_type != info->type_name)
    return grove::error(grove::errc::type_mismatch, "a " + grove::quote_input(info->type_name) + " in a group of "
                                                      + grove::quote_input(*group_type));
  group_type = info->type_name;
  if (grove::tools::is_known_type(info->type_name))
    if (auto shown = grove::tools::value_to_json(part); !shown) return shown.error();
  return {};
}

// The problems of one group: its snapshot, then each log entry (named by number).
std::vector<std::string> problems_of(backend& store, const group_key& g) {
  auto stored = read_group(store, g);
  if (!stored) return {stored.error().to_string()};
  std::vector<std::string> out;
  std::optional<std::string> group_type;
  if (stored->snapshot)
    if (auto ok = check_part(*stored->snapshot, group_type); !ok) out.push_back(ok.error().to_string());
  for (const auto& e : stored->log)
    if (auto ok = check_part(e.delta, group_type); !ok)
      out.push_back("log entry " + std::to_string(e.seq) + ": " + ok.error().to_string());
  return out;
}

int verify(backend& store) {
  auto groups = store.list_groups();
  if (!groups) return fail(groups.error().to_string());
  int bad = 0;
  std::size_t entries = 0;
  for (const auto& g : *groups) {
    if (auto log = store.read_log(g)) entries += log->size();
    auto problems = problems_of(store, g);
    if (!problems.empty()) ++bad;
    for (const auto& p : problems) std::cout << "bad: " << g.to_string() << ": " << p << std::endl;
  }
  std::cout << (bad ? "FAILED: " : "ok: ") << groups->size() << " groups, " << entries << " log entries, " << bad
            << " bad" << std::endl;
  return bad ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"grove-inspect: look into and verify a Grove store file"};
  std::string file, table = "grove_dets_storage", group_text, backup_file;
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
  auto* backup_cmd = app.add_subcommand("backup", "a consistent copy of the store, also while a node writes it");
  backup_cmd->add_option("to", backup_file, "new file for the copy")->required();
  for (auto* sub : {list_cmd, dump_cmd}) sub->add_flag("--json", as_json, "print JSON");
  CLI11_PARSE(app, argc, argv);

  if (tables_cmd->parsed()) {
    auto tables = grove::storage::list_dets_tables(file);
    if (!tables) return fail(tables.error().to_string());
    for (const auto& t : *tables) std::cout << t << std::endl;
    return 0;
  }
  if (backup_cmd->parsed()) {
    if (auto ok = grove::storage::backup_dets(file, backup_file); !ok) return fail(ok.error().to_string());
    std::cout << "backed up " << grove::quote_input(file) << " to " << grove::quote_input(backup_file) << std::endl;
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
