// grove-node's command language, one command per line:
//   incr GROUP [N]   decr GROUP [N]   add GROUP ELEM   remove GROUP ELEM   put GROUP KEY VALUE
//   del GROUP KEY    set GROUP VALUE  insert GROUP INDEX VALUE   get GROUP   size GROUP
//   batch GROUP N (and N mutation lines of GROUP)   drop GROUP
//   consistency read|write local|majority|all [TIMEOUT_MS]
//   groups   peers   snapshot   stats   help   quit
// A GROUP is KIND:NAME. The last argument of add, remove, put, set and insert is the rest of the
// line, so it may hold spaces. CAF-free, so the parser can be tested and fuzzed on its own.
#pragma once

#include <string>
#include <string_view>

#include "grove/crdt/error.hpp"
#include "grove/crdt/operation.hpp"

namespace grove::tools {

struct command {
  std::string verb;
  std::string group;   // empty for commands without a group
  crdt::operation op;  // for mutations; op.args also holds the words of other commands
};

/// Parses one line; errc::invalid_argument with the command's usage when it does not fit.
expected<command> parse_command(std::string_view line);

/// One line listing every command.
std::string command_help();

}  // namespace grove::tools
