// The CRDTs-alone example of docs/crdt.md as a complete program: two replicas of an add-wins set, a
// remove concurrent with an add, and the codec round trip. Exits 0 when every result is as shown.
#include <iostream>

// [crdts]
#include <grove/crdt/all.hpp>
using namespace grove::crdt;

bool add_wins() {
  orset<std::string> a("replica-a"), b("replica-b");
  a.add("x");
  b.merge(a);  // full state ...
  b.remove("x");
  a.add("x");                                         // ... concurrent with b's remove: add wins
  a.merge(b.delta());                                 // ... or only what changed since reset_delta()
  grove::bytes wire = encode(a);                      // envelope + checksum
  auto back = decode<orset<std::string>>(wire, "r");  // expected<orset<std::string>>
  if (!back) std::cerr << back.error().to_string();   // e.g. "type_mismatch: expected a ..."
  return back && back->contains("x");
}
// [/crdts]

int main() {
  auto wrong = decode<gcounter>(encode(orset<std::string>("r")), "r");
  bool ok = add_wins() && !wrong && wrong.error().code() == grove::errc::type_mismatch;
  std::cout << (ok ? "crdts example: ok" : "crdts example: FAILED") << std::endl;
  return ok ? 0 : 1;
}
