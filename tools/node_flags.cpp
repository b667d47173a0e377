#include "node_flags.hpp"

#include <optional>

#include "grove/actors/node_config.hpp"
#include "grove/crdt/escape.hpp"
#include "node_commands.hpp"

namespace grove::tools {

namespace {

using form = actors::node_option_info::form;

const actors::node_option_info* option_named(const std::string& name) {
  for (const auto& o : actors::node_option_infos())
    if (o.name == name) return &o;
  return nullptr;
}

// A string in CAF's syntax: CAF takes a value as it is unless it starts with a quote (then it is a
// quoted string) or is empty (then it is missing).
std::string quoted(const std::string& value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string as_caf_value(const std::string& value) {
  return value.empty() || value.front() == '"' ? quoted(value) : value;
}

}  // namespace

expected<node_command_line> translate_flags(const std::vector<std::string>& args) {
  node_command_line out;
  std::vector<std::string> peers;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& arg = args[i];
    if (arg == "--json") {
      out.json = true;
      continue;
    }
    if (arg == "--help" || arg == "-h") {
      out.help = true;
      continue;
    }
    auto eq = arg.find('=');
    auto flag = arg.substr(0, eq);
    std::optional<std::string> inline_value;
    if (eq != std::string::npos) inline_value = arg.substr(eq + 1);
    const actors::node_option_info* option = flag.rfind("--", 0) == 0 ? option_named(flag.substr(2)) : nullptr;
    if (flag == "--config-file" && !inline_value && i + 1 < args.size()) {
      out.caf_args.push_back("--config-file=" + args[++i]);
      continue;
    }
    if (!option) {
      out.caf_args.push_back(arg);  // CAF's own options
      continue;
    }
    if (option->takes == form::flag) {
      if (inline_value)
        return error(errc::invalid_argument, flag + " takes no value (got " + quote_input(*inline_value) + ")");
      out.caf_args.push_back("--grove." + option->name);
      continue;
    }
    if (!inline_value) {
      if (i + 1 == args.size()) return error(errc::invalid_argument, flag + " needs a value");
      inline_value = args[++i];
    }
    if (option->takes == form::list)
      peers.push_back(*inline_value);
    else
      out.caf_args.push_back("--grove." + option->name + "=" + as_caf_value(*inline_value));
  }
  if (!peers.empty()) {
    std::string list = "--grove.peer=[";
    for (std::size_t i = 0; i < peers.size(); ++i) list += (i ? "," : "") + quoted(peers[i]);
    out.caf_args.push_back(list + "]");
  }
  return out;
}

std::string node_usage() {
  std::string out =
    "grove-node: a CAF node hosting replicated, persisted Grove CRDTs; commands on stdin\n\n"
    "usage: grove-node --name NAME [options] [CAF options]\n\n"
    "options (each is also the option grove.NAME of a [grove] section in --config-file FILE):\n";
  for (const auto& o : actors::node_option_infos()) {
    auto flag = "  --" + o.name + (o.takes == form::flag ? "" : o.takes == form::list ? " HOST:PORT" : " VALUE");
    out += flag + std::string(flag.size() < 32 ? 32 - flag.size() : 1, ' ') + o.description + "\n";
  }
  out +=
    "  --json                          answer with one JSON object per line\n"
    "  --config-file FILE              read options from FILE (CAF's config format; flags win over it)\n"
    "  --help                          this text\n\n"
    "CAF's options work too (--scheduler.max-threads=2, ...), except --openssl.* (use --tls-*).\n\n"
    "commands: "
    + command_help() + "\n";
  return out;
}

}  // namespace grove::tools
