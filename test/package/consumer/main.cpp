// A user's program built against the installed grove package: two replicas of a counter converge
// through the codec.
#include <grove/crdt/all.hpp>

#include <iostream>

int main() {
  grove::crdt::gcounter a("a");
  grove::crdt::gcounter b("b");
  a.increment(2);
  b.increment(3);
  auto wire = grove::crdt::decode<grove::crdt::gcounter>(grove::crdt::encode(b.delta()));
  if (!wire) {
    std::cerr << wire.error().to_string() << "\n";
    return 1;
  }
  a.merge(*wire);
  std::cout << "consumer: value " << a.value() << "\n";
  return a.value() == 5 ? 0 : 1;
}
