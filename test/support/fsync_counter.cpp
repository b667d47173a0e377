// LD_PRELOAD shim for the storage tests: counts fsync, fdatasync and msync calls of a process (its
// libraries' too, LMDB's included) and writes the count to $GROVE_FSYNC_COUNT_FILE at exit. It
// shows that a durable save really reaches the disk, which no read-back within a process can.
#include <atomic>
#include <cstdio>
#include <cstdlib>

#include <dlfcn.h>
#include <sys/mman.h>

namespace {

std::atomic<int> syncs{0};

template <class F>
F next(const char* name) {
  return reinterpret_cast<F>(::dlsym(RTLD_NEXT, name));
}

__attribute__((destructor)) void report() {
  const char* path = std::getenv("GROVE_FSYNC_COUNT_FILE");
  if (!path) return;
  if (FILE* f = std::fopen(path, "w")) {
    std::fprintf(f, "%d\n", syncs.load());
    std::fclose(f);
  }
}

}  // namespace

extern "C" int fsync(int fd) {
  static auto real = next<int (*)(int)>("fsync");
  ++syncs;
  return real(fd);
}

extern "C" int fdatasync(int fd) {
  static auto real = next<int (*)(int)>("fdatasync");
  ++syncs;
  return real(fd);
}

extern "C" int msync(void* addr, std::size_t length, int flags) {
  static auto real = next<int (*)(void*, std::size_t, int)>("msync");
  if (flags & MS_SYNC) ++syncs;
  return real(addr, length, flags);
}
