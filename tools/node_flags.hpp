// grove-node's command line: its flags are the grove.* options of a Grove node (node_config.hpp),
// one to one. --NAME VALUE (or --NAME=VALUE) becomes --grove.NAME=VALUE, a flag --NAME becomes
// --grove.NAME, and --peer, which repeats, becomes the list --grove.peer=[...]. --json and --help
// are grove-node's own; --config-file FILE (whose [grove] section sets the same options) and
// everything else go to CAF as they are (--scheduler.max-threads=2, ...). CAF then parses it all,
// so flags and a config file give the same node, and a flag wins over the file.
#pragma once

#include <string>
#include <vector>

#include "grove/crdt/error.hpp"

namespace grove::tools {

struct node_command_line {
  bool json = false;
  bool help = false;
  std::vector<std::string> caf_args;  // for caf::actor_system_config::parse
};

/// Translates grove-node's arguments (without the program name). Errors: invalid_argument for a
/// flag that needs a value and has none, or a value given to a flag that takes none.
expected<node_command_line> translate_flags(const std::vector<std::string>& args);

/// grove-node --help.
std::string node_usage();

}  // namespace grove::tools
