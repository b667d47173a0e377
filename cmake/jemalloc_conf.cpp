// jemalloc's configuration, compiled into every program that links jemalloc (grove-node, the
// benchmarks; CMake's grove_use_jemalloc), so they are fast as shipped, without MALLOC_CONF.
// jemalloc reads this symbol at start-up; MALLOC_CONF, read after it, still overrides it.
//
// dirty_decay_ms:-1 keeps the pages of freed memory for reuse instead of handing them back to the
// operating system. Grove's hot paths allocate and free the same large sizes again and again
// (encoded states, LMDB's pages for a large value, snapshots), and a page handed back costs a
// page fault on its next use. With jemalloc's default (10 s of decay, and immediate purging of
// allocations of 8 MiB and more, oversize_threshold) one 40 MiB durable save spent 250-270 ms of
// CPU, 65-75 ms with this setting; encoding a 1,000,000-element set 145 ms, 35-45 ms
// (bench/storage_bench, bench/codec_bench; docs/benchmarks.md). Decay with a longer period or
// without the dedicated large arena did not keep them (the arena's purge counter rose with every
// free). The cost: the process keeps the memory of its largest moment, and jemalloc reuses it for
// every later allocation. No background thread: with nothing to purge it would have no work.
extern "C" {
// NOLINTNEXTLINE: the name and type are jemalloc's (jemalloc.h declares `const char* malloc_conf`).
const char* malloc_conf = "dirty_decay_ms:-1";
}
