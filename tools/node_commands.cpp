#include "node_commands.hpp"

#include <map>

#include "grove/crdt/escape.hpp"

namespace grove::tools {

namespace {

struct verb_spec {
  const char* operation;  // nullptr: not a mutation
  bool has_group;
  std::size_t words;     // arguments after the group that are single words
  bool rest;             // a final argument made of the rest of the line
  std::size_t required;  // how many of the words must be there (incr N may be left out)
  const char* usage;
};

const std::map<std::string, verb_spec>& verbs() {
  static const std::map<std::string, verb_spec> table{
    {"incr", {"increment", true, 1, false, 0, "incr GROUP [N]"}},
    {"decr", {"decrement", true, 1, false, 0, "decr GROUP [N]"}},
    {"add", {"add", true, 0, true, 0, "add GROUP ELEM"}},
    {"remove", {"remove", true, 0, true, 0, "remove GROUP ELEM"}},
    {"put", {"put", true, 1, true, 1, "put GROUP KEY VALUE"}},
    {"del", {"erase", true, 1, false, 1, "del GROUP KEY"}},
    {"set", {"set", true, 0, true, 0, "set GROUP VALUE"}},
    {"insert", {"insert", true, 1, true, 1, "insert GROUP INDEX VALUE"}},
    {"get", {nullptr, true, 0, false, 0, "get GROUP"}},
    {"size", {nullptr, true, 0, false, 0, "size GROUP"}},
    {"batch", {nullptr, true, 1, false, 1, "batch GROUP N (then N mutation lines of GROUP)"}},
    {"drop", {nullptr, true, 0, false, 0, "drop GROUP"}},
    {"consistency", {nullptr, false, 3, false, 2, "consistency read|write local|majority|all [TIMEOUT_MS]"}},
    {"groups", {nullptr, false, 0, false, 0, "groups"}},
    {"peers", {nullptr, false, 0, false, 0, "peers"}},
    {"snapshot", {nullptr, false, 0, false, 0, "snapshot"}},
    {"stats", {nullptr, false, 0, false, 0, "stats"}},
    {"help", {nullptr, false, 0, false, 0, "help"}},
    {"quit", {nullptr, false, 0, false, 0, "quit"}},
  };
  return table;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// Splits off the next word; `text` keeps what follows it (leading spaces removed).
std::string_view next_word(std::string_view& text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  std::size_t end = 0;
  while (end < text.size() && !is_space(text[end])) ++end;
  auto word = text.substr(0, end);
  text.remove_prefix(end);
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  return word;
}

error usage(const verb_spec& spec) { return error(errc::invalid_argument, std::string("usage: ") + spec.usage); }

}  // namespace

expected<command> parse_command(std::string_view line) {
  auto verb = next_word(line);
  if (verb.empty()) return error(errc::invalid_argument, "empty command; try help");
  auto it = verbs().find(std::string(verb));
  if (it == verbs().end()) return error(errc::invalid_argument, "unknown command " + quote_input(verb) + "; try help");
  const auto& spec = it->second;
  command cmd;
  cmd.verb = it->first;
  if (spec.has_group) {
    cmd.group = std::string(next_word(line));
    if (cmd.group.empty()) return usage(spec);
  }
  if (spec.operation) cmd.op.name = spec.operation;
  for (std::size_t i = 0; i < spec.words; ++i) {
    auto word = next_word(line);
    if (word.empty()) {
      if (i >= spec.required) break;
      return usage(spec);
    }
    cmd.op.args.emplace_back(word);
  }
  if (spec.rest) {
    while (!line.empty() && is_space(line.back())) line.remove_suffix(1);
    if (line.empty()) return usage(spec);
    cmd.op.args.emplace_back(line);
    line = {};
  }
  if (!line.empty()) return usage(spec);
  return cmd;
}

std::string command_help() {
  std::string out;
  for (const auto& [verb, spec] : verbs()) out += (out.empty() ? "" : " | ") + std::string(spec.usage);
  return out;
}

}  // namespace grove::tools
