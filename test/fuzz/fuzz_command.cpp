// libFuzzer target: grove-node's command parser on any line, and the rendering of what grove-node
// would answer: the error (which may echo the input), or the value of each kind of group after
// the parsed operation, as one JSON line and as text. Nothing of it may throw or crash.
#include <cstddef>
#include <cstdint>

#include "grove/crdt/all.hpp"
#include "node_commands.hpp"
#include "value_json.hpp"

namespace {

using namespace grove::crdt;

// Applies `op` to a fresh value of type T and renders the value as grove-node would.
template <class T>
void render_after(const operation& op) {
  T value("fuzz");
  auto applied = apply_operation(value, op);
  if (!applied) {
    (void)grove::tools::dump_json({{"ok", false}, {"error", applied.error().to_string()}});
    return;
  }
  auto shown = grove::tools::value_to_json(encode(value));
  if (!shown) return;
  (void)grove::tools::dump_json({{"ok", true}, {"value", *shown}});
  (void)grove::tools::dump_json(*shown);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto cmd = grove::tools::parse_command(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!cmd) {
    (void)grove::tools::dump_json({{"ok", false}, {"error", cmd.error().to_string()}});
    return 0;
  }
  (void)grove::tools::dump_json({{"group", cmd->group}});
  if (cmd->op.name.empty()) return 0;
  render_after<gcounter>(cmd->op);
  render_after<pncounter>(cmd->op);
  render_after<orset<std::string>>(cmd->op);
  render_after<ormap<std::string, lww_register<std::string>>>(cmd->op);
  render_after<lww_register<std::string>>(cmd->op);
  render_after<rga<std::string>>(cmd->op);
  return 0;
}
