// A separate process for storage tests: opens a backend fresh (as a restarted program would) and
// saves or loads one group. Prints "ok", the loaded value, "<none>", or the error code name.
//   storage_probe ets|dets|dets-ro TARGET save KIND NAME VALUE
//   storage_probe ets|dets|dets-ro TARGET load KIND NAME
//   storage_probe ets|dets|dets-ro TARGET open
//   storage_probe dets|dets-durable TARGET save-many N      N saves to groups n:0 .. n:N-1
#include <cstdlib>
#include <iostream>
#include <string>

#include "grove/storage/dets_backend.hpp"
#include "grove/storage/ets_backend.hpp"

using namespace grove::storage;

namespace {

grove::expected<std::unique_ptr<backend>> open(const std::string& kind, const std::string& target) {
  if (kind == "ets") {
    ets_options opts;
    opts.table = target;
    return open_ets(opts);
  }
  dets_options opts;
  opts.file = target;
  opts.read_only = kind == "dets-ro";
  opts.durable = kind == "dets-durable";
  return open_dets(opts);
}

int fail(const grove::error& e) {
  std::cout << grove::to_string(e.code()) << std::endl;
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) return 2;
  std::string kind = argv[1], target = argv[2], command = argv[3];
  auto b = open(kind, target);
  if (!b) return fail(b.error());
  if (command == "open") {
    std::cout << "ok" << std::endl;
    return 0;
  }
  if (command == "save-many" && argc == 5) {
    for (int i = 0; i < std::atoi(argv[4]); ++i)
      if (auto ok = (*b)->save(group_key{"n", std::to_string(i)}, "v"); !ok) return fail(ok.error());
    std::cout << "ok" << std::endl;
    return 0;
  }
  if (argc < 6) return 2;
  group_key g{argv[4], argv[5]};
  if (command == "save" && argc == 7) {
    auto ok = (*b)->save(g, argv[6]);
    if (!ok) return fail(ok.error());
    std::cout << "ok" << std::endl;
    return 0;
  }
  if (command == "load") {
    auto v = (*b)->load(g);
    if (!v) return fail(v.error());
    std::cout << (v->has_value() ? **v : "<none>") << std::endl;
    return 0;
  }
  return 2;
}
