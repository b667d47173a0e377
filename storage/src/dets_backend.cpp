#include "grove/storage/dets_backend.hpp"

#include <lmdb.h>

#include "check_write.hpp"
#include "grove/crdt/escape.hpp"
#include "journal.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <thread>
#include <utility>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace grove::storage {

namespace {

// The record that marks an LMDB file as a Grove store, in the file's main database. Format 2 added
// log entries; a format-1 file is a format-2 file without any, so this build reads both and marks
// a format-1 file as format 2 when it opens it for writing (format-1 builds then refuse it).
// Format 3 added the journal (FILE-journal, journal.hpp): a store is marked format 3 when a durable
// write first uses it, so that a build that does not replay journals refuses it.
constexpr char format_key[] = "grove.format";
constexpr char format_1_value[] = "grove-store 1";
constexpr char format_2_value[] = "grove-store 2";
constexpr char format_3_value[] = "grove-store 3";
// The journal generation the file holds every record of (format 3), 8 bytes big-endian.
constexpr char journal_generation_key[] = "grove.journal";
// A durable write this large goes straight into a synced LMDB transaction: through the journal
// it would be written twice (record, then checkpoint) for one sync saved.
constexpr std::size_t journal_direct_bytes = std::size_t{256} << 10;
constexpr char table_prefix[] = "table:";
constexpr std::size_t max_map_size = std::size_t{1} << 40;  // 1 TiB of address space
constexpr unsigned max_tables = 256;                        // LMDB named databases per file

// An LMDB data file starts with a meta page: a 16-byte page header, then MDB_MAGIC.
constexpr std::size_t lmdb_magic_offset = 16;
constexpr unsigned char lmdb_magic[] = {0xde, 0xc0, 0xef, 0xbe};

MDB_val as_val(bytes_view b) { return MDB_val{b.size(), const_cast<char*>(b.data())}; }
bytes_view as_view(const MDB_val& v) { return bytes_view(static_cast<const char*>(v.mv_data), v.mv_size); }

// Keys in a table's database:
//  - a snapshot: group_key::encode(), whose first byte (the kind's length) is 1..64;
//  - log entry N of a group: 0x00, the length of group_key::encode() (2 bytes, big-endian), the
//    encoding, N (8 bytes, big-endian), so a group's entries are adjacent and in order, and no
//    group's entry key starts with another group's prefix plus 8 bytes;
//  - only in the write buffer, never on disk: a truncation of a group's log, keyed by its prefix
//    alone (so it sorts before the group's entries and is applied before them), valued N.
constexpr char log_marker = '\0';
constexpr std::size_t log_header = 3;  // marker and encoding length
constexpr std::size_t seq_size = 8;

bytes big_endian(std::uint64_t x) {
  bytes out(seq_size, '\0');
  for (std::size_t i = 0; i < seq_size; ++i) out[i] = static_cast<char>(x >> (8 * (seq_size - 1 - i)));
  return out;
}

std::uint64_t read_big_endian(bytes_view in) {
  std::uint64_t x = 0;
  for (std::size_t i = 0; i < seq_size; ++i) x = (x << 8) | static_cast<std::uint8_t>(in[i]);
  return x;
}

bytes log_prefix(const group_key& g) {
  auto encoded = g.encode();
  bytes out;
  out.reserve(log_header + encoded.size() + seq_size);
  out.push_back(log_marker);
  out.push_back(static_cast<char>(encoded.size() >> 8));
  out.push_back(static_cast<char>(encoded.size() & 0xff));
  return out + encoded;
}

bytes log_key(const bytes& prefix, std::uint64_t seq) { return prefix + big_endian(seq); }

enum class key_kind { snapshot, log_entry, truncation, unknown };

key_kind kind_of(bytes_view key) {
  if (key.empty()) return key_kind::unknown;
  if (key[0] != log_marker) return key_kind::snapshot;
  if (key.size() < log_header) return key_kind::unknown;
  auto length = static_cast<std::size_t>(static_cast<std::uint8_t>(key[1])) << 8 | static_cast<std::uint8_t>(key[2]);
  if (key.size() == log_header + length) return key_kind::truncation;
  if (key.size() == log_header + length + seq_size) return key_kind::log_entry;
  return key_kind::unknown;
}

// The prefix of a log entry or truncation key.
bytes_view prefix_of(bytes_view key) {
  auto length = static_cast<std::size_t>(static_cast<std::uint8_t>(key[1])) << 8 | static_cast<std::uint8_t>(key[2]);
  return key.substr(0, log_header + length);
}

// The group a log prefix names.
expected<group_key> group_of_prefix(bytes_view prefix) { return group_key::decode(prefix.substr(log_header)); }

// LMDB reports operating-system failures as errno values, so one mapping serves both.
error lmdb_error(int rc, const std::string& what) {
  std::string text = what + ": " + mdb_strerror(rc);
  switch (rc) {
    case ENOSPC: return error(errc::disk_full, text);
    case EACCES:
    case EPERM:
    case EROFS: return error(errc::permission_denied, text);
    case MDB_INVALID: return error(errc::not_a_store, text);
    case MDB_DBS_FULL:
      return error(errc::too_large, what + ": a file holds at most " + std::to_string(max_tables) + " tables");
    default: return error(errc::io_error, text);
  }
}

// Aborts a transaction unless it was committed.
class txn_guard {
public:
  txn_guard() = default;
  ~txn_guard() { abort(); }
  txn_guard(const txn_guard&) = delete;
  txn_guard& operator=(const txn_guard&) = delete;

  MDB_txn** out() { return &txn_; }
  MDB_txn* get() const { return txn_; }
  void abort() {
    if (txn_) mdb_txn_abort(txn_);
    txn_ = nullptr;
  }
  int commit() {
    int rc = mdb_txn_commit(txn_);
    txn_ = nullptr;
    return rc;
  }

private:
  MDB_txn* txn_ = nullptr;
};

// A pending write-behind operation: a value, or an erase.
using pending_value = std::optional<bytes>;
using pending_key = std::pair<MDB_dbi, bytes>;
using pending_ops = std::map<pending_key, pending_value>;

// Bytes an operation holds in the write-behind buffer.
std::size_t op_bytes(const pending_key& key, const pending_value& value) {
  return key.second.size() + (value ? value->size() : 0);
}

// Adds one operation to `ops` as if it came after every operation already there; `size` tracks
// the bytes held. A put or delete replaces an earlier operation on its key. A truncation drops
// the buffered entries it covers (they come before it) and keeps the larger bound of two.
void add_op(pending_ops& ops, pending_key key, pending_value value, std::size_t& size) {
  if (kind_of(key.second) == key_kind::truncation) {
    auto through = read_big_endian(*value);
    auto first = ops.lower_bound({key.first, log_key(key.second, 0)});
    auto last = ops.upper_bound({key.first, log_key(key.second, through)});
    for (auto it = first; it != last; ++it) size -= op_bytes(it->first, it->second);
    ops.erase(first, last);
    if (auto it = ops.find(key); it != ops.end() && read_big_endian(*it->second) >= through) return;
  }
  auto [it, added] = ops.try_emplace(std::move(key));
  if (!added) size -= op_bytes(it->first, it->second);
  size += op_bytes(it->first, value);
  it->second = std::move(value);
}

// Adds every operation of `later` (which come after those in `ops`). Key order is the right order:
// a truncation sorts before the entries of its group, and in `later` those came after it.
void add_ops(pending_ops& ops, pending_ops later, std::size_t& size) {
  for (auto& [key, value] : later) add_op(ops, key, std::move(value), size);
}

std::vector<op_ref> refs_of(const std::vector<write_op>& ops) {
  std::vector<op_ref> out;
  out.reserve(ops.size());
  for (const auto& op : ops) out.push_back({op.what, op.key, op.value, op.seq});
  return out;
}

// A write's operations in buffer form (the values copied into the buffer).
pending_ops to_pending(MDB_dbi dbi, const std::vector<op_ref>& ops) {
  pending_ops out;
  std::size_t size = 0;
  auto truncation = [&](const group_key& g, std::uint64_t through) {
    add_op(out, {dbi, log_prefix(g)}, big_endian(through), size);
  };
  for (const auto& op : ops) {
    switch (op.what) {
      case write_op::kind::save: add_op(out, {dbi, op.key.encode()}, bytes(op.value), size); break;
      case write_op::kind::append:
        add_op(out, {dbi, log_key(log_prefix(op.key), op.seq)}, bytes(op.value), size);
        break;
      case write_op::kind::truncate: truncation(op.key, op.seq); break;
      case write_op::kind::erase:
        add_op(out, {dbi, op.key.encode()}, std::nullopt, size);
        truncation(op.key, UINT64_MAX);
        break;
    }
  }
  return out;
}

// Applies the buffered operations on one group's log to `log` (entries by number).
void overlay_log(std::map<std::uint64_t, bytes>& log, const pending_ops& ops, MDB_dbi dbi, const bytes& prefix) {
  if (auto t = ops.find({dbi, prefix}); t != ops.end())
    log.erase(log.begin(), log.upper_bound(read_big_endian(*t->second)));
  auto last = ops.upper_bound({dbi, log_key(prefix, UINT64_MAX)});
  for (auto it = ops.lower_bound({dbi, log_key(prefix, 0)}); it != last; ++it)
    log[read_big_endian(bytes_view(it->first.second).substr(prefix.size()))] = *it->second;
}

// What is at a path before Grove opens it.
struct file_facts {
  bool exists = false;
  bool directory = false;
  std::size_t size = 0;
  bool lmdb = false;  // starts like an LMDB data file
};

file_facts look_at(const std::string& path) {
  file_facts f;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return f;
  f.exists = true;
  f.directory = S_ISDIR(st.st_mode);
  f.size = static_cast<std::size_t>(st.st_size);
  int fd = f.directory ? -1 : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return f;
  unsigned char magic[sizeof lmdb_magic] = {};
  f.lmdb = ::pread(fd, magic, sizeof magic, lmdb_magic_offset) == static_cast<ssize_t>(sizeof magic)
           && std::memcmp(magic, lmdb_magic, sizeof magic) == 0;
  ::close(fd);  // before LMDB opens the file: lmdb.h forbids a second descriptor beside its own
  return f;
}

// One open LMDB environment (one file), shared by every handle on that file in this process.
class environment {
public:
  environment(std::string path, bool read_only, commit_observer on_commit)
      : path_(std::move(path)), read_only_(read_only), on_commit_(std::move(on_commit)) {}

  ~environment() {
    stop_flusher();
    (void)flush();                                                 // close() has reported errors to whoever asked
    if (journal_ && journal_->written() == 0) journal_->remove();  // all in the file: nothing to replay
    journal_.reset();
    if (env_) mdb_env_close(env_);  // also releases the flock on LMDB's descriptor
  }

  const std::string& path() const { return path_; }
  bool read_only() const { return read_only_; }

  // Opens the file. A refused file is left as it was: a file that is not LMDB is refused before
  // LMDB touches it, and a lock file (FILE-lock) that this open created is removed again.
  status open(const dets_options& opts) {
    auto facts = look_at(path_);
    if (facts.directory) return error(errc::invalid_argument, path_ + " is a directory, not a file");
    if (read_only_ && !facts.exists) return lmdb_error(ENOENT, "cannot open " + path_);
    if (facts.exists && facts.size == 0 && read_only_)
      return error(errc::not_a_store, path_ + " is an empty file, not a Grove store");
    if (facts.size > 0 && !facts.lmdb)
      return error(errc::not_a_store, path_ + " is not a Grove store (not an LMDB file)");
    auto lock_file = path_ + "-lock";
    bool had_lock_file = ::access(lock_file.c_str(), F_OK) == 0;
    auto ok = open_environment(opts, /*fresh=*/facts.size == 0);
    if (!ok && env_) {
      mdb_env_close(env_);
      env_ = nullptr;
      bool refused_file = ok.error().code() == errc::not_a_store || ok.error().code() == errc::unsupported_version;
      if (refused_file && !had_lock_file) ::unlink(lock_file.c_str());
    }
    return ok;
  }

  // Opens (creating unless read-only) a table's database.
  expected<MDB_dbi> open_table(const std::string& table) {
    std::lock_guard<std::mutex> writer(writer_);
    return open_table_locked(table);
  }

  // Call with writer_ held.
  expected<MDB_dbi> open_table_locked(const std::string& table) {
    std::shared_lock<std::shared_mutex> map_lock(map_mutex_);
    std::string name = table_prefix + table;
    txn_guard txn;
    if (int rc = mdb_txn_begin(env_, nullptr, read_only_ ? MDB_RDONLY : 0, txn.out()); rc != 0)
      return lmdb_error(rc, "cannot open table " + table);
    MDB_dbi dbi = 0;
    int rc = mdb_dbi_open(txn.get(), name.c_str(), read_only_ ? 0 : MDB_CREATE, &dbi);
    if (rc == MDB_NOTFOUND) return error(errc::invalid_argument, "no table '" + table + "' in " + path_);
    if (rc != 0) return lmdb_error(rc, "cannot open table " + table);
    if (int c = txn.commit(); c != 0) return lmdb_error(c, "cannot open table " + table);
    return dbi;
  }

  // Writes the file as it is in one read transaction to `fd`, compacted (LMDB copies a live
  // environment while writers go on).
  status copy_to(int fd) {
    if (int rc = mdb_env_copyfd2(env_, fd, MDB_CP_COMPACT); rc != 0) return lmdb_error(rc, "cannot copy " + path_);
    return {};
  }

  // Every table of the file, sorted. Opening the main database is one of the calls lmdb.h allows
  // in one transaction of the process at a time, so it runs under writer_ like open_table.
  expected<std::vector<std::string>> list_tables() {
    std::lock_guard<std::mutex> writer(writer_);
    std::vector<std::string> tables;
    auto ok = read([&](MDB_txn* txn) -> status {
      MDB_dbi main = 0;
      if (int rc = mdb_dbi_open(txn, nullptr, 0, &main); rc != 0) return lmdb_error(rc, "cannot read " + path_);
      MDB_cursor* cursor = nullptr;
      if (int rc = mdb_cursor_open(txn, main, &cursor); rc != 0) return lmdb_error(rc, "cannot read " + path_);
      MDB_val k, v;
      std::string prefix = table_prefix;
      for (int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
        auto key = as_view(k);
        if (key.substr(0, prefix.size()) == prefix) tables.emplace_back(key.substr(prefix.size()));
      }
      mdb_cursor_close(cursor);
      return {};
    });
    if (!ok) return ok.error();
    return tables;
  }

  // Commits the write-behind buffer, then `ops` of table `dbi` in order (later wins), in one synced
  // transaction: a checkpoint. Everything buffered goes along, so the buffer never holds a value
  // older than the disk's. While the transaction runs the buffered operations stay visible to
  // loads (in_flight_). The journal's records are all in the buffer, so once the transaction is on
  // disk they are not needed: it records their generation and the journal starts the next.
  status commit(MDB_dbi dbi = 0, const std::vector<op_ref>& ops = {}) {
    if (read_only_ || !env_) return {};
    std::lock_guard<std::mutex> writer(writer_);
    return commit_locked(dbi, ops);
  }

  // Call with writer_ held.
  status commit_locked(MDB_dbi dbi = 0, const std::vector<op_ref>& ops = {}) {
    {
      std::lock_guard<std::mutex> guard(pending_mutex_);
      in_flight_.swap(pending_);  // in_flight_ is empty between commits
      pending_bytes_ = 0;
    }
    if (in_flight_.empty() && ops.empty()) return {};
    std::optional<std::uint64_t> covers;
    if (journal_ && journal_->written() > 0) covers = journal_->generation();
    // Only this thread changes in_flight_ (under writer_), so reading it here needs no lock.
    auto result = write_locked(in_flight_, dbi, ops, covers);
    std::lock_guard<std::mutex> guard(pending_mutex_);
    if (result && covers) {
      applied_generation_ = *covers;
      journal_->reset();
    }
    if (!result) restore_in_flight();
    in_flight_.clear();
    return result;
  }

  // A durable write: its record appended to the journal and synced, its operations into the
  // buffer (loads see them; the next checkpoint puts them into the file). A large one, or one
  // whose record would overfill the journal or the buffer, is a checkpoint instead / first.
  status write_durable(MDB_dbi dbi, const std::string& table, const std::vector<op_ref>& ops, std::size_t max_pending) {
    std::lock_guard<std::mutex> writer(writer_);
    auto size = journal::record_size(table, ops);
    if (size >= journal_direct_bytes) return commit_locked(dbi, ops);
    if (auto ok = open_journal(); !ok) return ok;
    bool full = journal_->written() + size > journal::capacity;
    {
      std::lock_guard<std::mutex> guard(pending_mutex_);
      full = full || pending_bytes_ + size > max_pending;
    }
    if (full)
      if (auto ok = commit_locked(); !ok) return ok;
    auto start = std::chrono::steady_clock::now();
    if (auto ok = journal_->append(table, ops); !ok) return ok;
    if (on_commit_) on_commit_(std::chrono::steady_clock::now() - start);  // the journal's fdatasync
    auto buffered = to_pending(dbi, ops);
    std::lock_guard<std::mutex> guard(pending_mutex_);
    add_ops(pending_, std::move(buffered), pending_bytes_);
    return {};
  }

  // Buffers write-behind operations, all or none. When they would take the buffer past
  // max_pending, the buffer is committed first; if that commit fails, none of them is buffered and
  // its error is returned, so an operation whose save failed is never written later, and the
  // buffer stays bounded however long the disk keeps failing.
  status buffer(pending_ops ops, std::size_t max_pending) {
    std::size_t size = 0;
    for (const auto& [key, value] : ops) size += op_bytes(key, value);
    bool full = false;
    {
      std::lock_guard<std::mutex> guard(pending_mutex_);
      full = !pending_.empty() && pending_bytes_ + size > max_pending;
    }
    if (full)
      if (auto ok = flush(); !ok) return ok;
    std::lock_guard<std::mutex> guard(pending_mutex_);
    add_ops(pending_, std::move(ops), pending_bytes_);  // an overwrite replaces bytes
    return {};
  }

  // The buffered operation for a key, if any (waiting, or in a commit that has not finished).
  std::optional<pending_value> buffered(MDB_dbi dbi, const bytes& key) {
    std::lock_guard<std::mutex> guard(pending_mutex_);
    for (const auto* ops : {&pending_, &in_flight_}) {
      auto it = ops->find({dbi, key});
      if (it != ops->end()) return it->second;
    }
    return std::nullopt;
  }

  // The log of one group: what is on disk with the buffered operations on top. Runs under writer_
  // so that no commit moves operations from the buffer to the disk while it looks at both.
  expected<std::vector<log_entry>> read_log(MDB_dbi dbi, const group_key& g) {
    std::lock_guard<std::mutex> writer(writer_);
    auto prefix = log_prefix(g);
    std::map<std::uint64_t, bytes> log;
    auto ok = read([&](MDB_txn* txn) -> status {
      return scan_log(txn, dbi, prefix, UINT64_MAX,
                      [&](std::uint64_t seq, bytes_view delta) { log[seq] = bytes(delta); });
    });
    if (!ok) return ok.error();
    {
      std::lock_guard<std::mutex> guard(pending_mutex_);
      overlay_log(log, pending_, dbi, prefix);  // in_flight_ is empty outside a commit
    }
    std::vector<log_entry> out;
    out.reserve(log.size());
    for (auto& [seq, delta] : log) out.push_back({seq, std::move(delta)});
    return out;
  }

  // Every group of a table with a snapshot or a log entry, on disk or buffered; sorted.
  expected<std::vector<group_key>> list_groups(MDB_dbi dbi) {
    std::lock_guard<std::mutex> writer(writer_);
    std::map<bytes, bool> snapshots;            // encoded group -> has a snapshot
    std::map<bytes, std::uint64_t> last_entry;  // log prefix -> number of its last entry
    auto ok = read([&](MDB_txn* txn) -> status {
      MDB_cursor* cursor = nullptr;
      if (int rc = mdb_cursor_open(txn, dbi, &cursor); rc != 0) return lmdb_error(rc, "cannot list groups");
      MDB_val k, v;
      for (int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
        auto key = as_view(k);
        auto kind = kind_of(key);
        if (kind == key_kind::snapshot) snapshots[bytes(key)] = true;
        if (kind == key_kind::log_entry)
          last_entry[bytes(prefix_of(key))] = read_big_endian(key.substr(prefix_of(key).size()));
      }
      mdb_cursor_close(cursor);
      return {};
    });
    if (!ok) return ok.error();
    {
      std::lock_guard<std::mutex> guard(pending_mutex_);
      for (const auto& [key, value] : pending_) {  // key order: a truncation before its group's entries
        if (key.first != dbi) continue;
        const auto& k = key.second;
        switch (kind_of(k)) {
          case key_kind::snapshot: snapshots[k] = value.has_value(); break;
          case key_kind::truncation: {
            auto it = last_entry.find(k);
            if (it != last_entry.end() && it->second <= read_big_endian(*value)) last_entry.erase(it);
            break;
          }
          case key_kind::log_entry: {
            auto& last = last_entry[bytes(prefix_of(k))];
            last = std::max(last, read_big_endian(bytes_view(k).substr(prefix_of(k).size())));
            break;
          }
          case key_kind::unknown: break;
        }
      }
    }
    std::vector<group_key> out;
    for (const auto& [encoded, present] : snapshots)
      if (present)
        if (auto g = group_key::decode(encoded)) out.push_back(std::move(*g));
    for (const auto& [prefix, last] : last_entry)
      if (auto g = group_of_prefix(prefix)) out.push_back(std::move(*g));
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  // Commits the write-behind buffer.
  status flush() { return commit(); }

  // Runs `read(txn)` in a short read-only transaction.
  template <class F>
  status read(F&& f) {
    for (;;) {
      std::shared_lock<std::shared_mutex> map_lock(map_mutex_);
      txn_guard txn;
      int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, txn.out());
      if (rc == MDB_MAP_RESIZED) {
        // Another process grew the file: adopt its map size (no transaction may be open).
        txn.abort();
        map_lock.unlock();
        std::unique_lock<std::shared_mutex> grow(map_mutex_);
        mdb_env_set_mapsize(env_, 0);
        continue;
      }
      if (rc != 0) return lmdb_error(rc, "cannot read " + path_);
      return f(txn.get());
    }
  }

private:
  std::size_t current_file_size() const {
    struct stat st;
    if (::stat(path_.c_str(), &st) != 0) return 0;
    return static_cast<std::size_t>(st.st_size);
  }

  // Creates and opens the LMDB environment; a writer then takes an exclusive flock on LMDB's own
  // descriptor of the file (no second open of the file: lmdb.h forbids it), so a second writer
  // process is refused while readers share.
  status open_environment(const dets_options& opts, bool fresh) {
    if (int rc = mdb_env_create(&env_); rc != 0) return lmdb_error(rc, "mdb_env_create");
    if (int rc = mdb_env_set_maxdbs(env_, max_tables); rc != 0) return lmdb_error(rc, "mdb_env_set_maxdbs");
    if (int rc = mdb_env_set_mapsize(env_, std::max(opts.initial_map_size, current_file_size())); rc != 0)
      return lmdb_error(rc, "mdb_env_set_mapsize");
    unsigned flags = MDB_NOSUBDIR | MDB_NOTLS | (read_only_ ? MDB_RDONLY : 0);
    if (int rc = mdb_env_open(env_, path_.c_str(), flags, 0600); rc != 0) {
      if (rc == MDB_INVALID) return error(errc::not_a_store, path_ + " is not a Grove store (not an LMDB file)");
      return lmdb_error(rc, "cannot open " + path_);
    }
    if (!read_only_) {
      int fd = -1;
      if (int rc = mdb_env_get_fd(env_, &fd); rc != 0) return lmdb_error(rc, "cannot lock " + path_);
      if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
          return error(errc::locked, path_ + " is in use by another process (one writer per file)");
        return lmdb_error(errno, "cannot lock " + path_);
      }
    }
    if (auto ok = check_format(fresh); !ok) return ok;
    if (auto ok = read_only_ ? overlay_journal() : replay_journal(); !ok) return ok;
    if (!read_only_) start_flusher(opts.auto_save);
    return {};
  }

  // Checks (or, in a new file, writes) the format record, upgrades format 1 to 2 when writable,
  // and reads the journal generation the file holds.
  status check_format(bool fresh) {
    std::lock_guard<std::mutex> writer(writer_);
    txn_guard txn;
    if (int rc = mdb_txn_begin(env_, nullptr, read_only_ ? MDB_RDONLY : 0, txn.out()); rc != 0)
      return lmdb_error(rc, "cannot read " + path_);
    if (int rc = mdb_dbi_open(txn.get(), nullptr, 0, &main_dbi_); rc != 0)
      return lmdb_error(rc, "cannot read " + path_);
    MDB_val key = as_val(format_key);
    MDB_val value;
    int rc = mdb_get(txn.get(), main_dbi_, &key, &value);
    if (rc == MDB_NOTFOUND) {
      // An LMDB file that holds nothing: a store whose creation a crash cut short (LMDB writes its
      // header pages at open, the format record comes with the first transaction).
      MDB_stat main_stat;
      bool empty = mdb_stat(txn.get(), main_dbi_, &main_stat) == 0 && main_stat.ms_entries == 0;
      if (!fresh && !empty) return error(errc::not_a_store, path_ + " is an LMDB file but not a Grove store");
      if (read_only_) return {};
      return mark_format(txn, format_2_value, "cannot initialise ");
    }
    if (rc != 0) return lmdb_error(rc, "cannot read " + path_);
    auto format = as_view(value);
    if (format != format_1_value && format != format_2_value && format != format_3_value)
      return error(errc::unsupported_version, path_ + " has store format " + quote_input(format)
                                                + ", this build reads '" + format_1_value + "', '" + format_2_value
                                                + "' and '" + format_3_value + "'");
    journaled_format_ = format == format_3_value;
    MDB_val generation_key = as_val(journal_generation_key);
    if (mdb_get(txn.get(), main_dbi_, &generation_key, &value) == 0 && value.mv_size == seq_size)
      applied_generation_ = read_big_endian(as_view(value));
    if (format != format_1_value || read_only_) return {};
    return mark_format(txn, format_2_value, "cannot upgrade ");
  }

  status mark_format(txn_guard& txn, const char* format, const char* failure) {
    MDB_val key = as_val(format_key);
    MDB_val mark = as_val(format);
    if (int p = mdb_put(txn.get(), main_dbi_, &key, &mark, 0); p != 0) return lmdb_error(p, failure + path_);
    if (int c = txn.commit(); c != 0) return lmdb_error(c, failure + path_);
    return {};
  }

  std::string journal_path() const { return path_ + "-journal"; }

  // A writable open: the records a crash left in the journal go into the file (one synced
  // transaction), and the journal file goes (a durable write makes a new one).
  status replay_journal() {
    auto j = read_journal(journal::access::write);
    if (!j) return j.error();
    auto& [file, records] = *j;
    if (!file) return {};
    if (!records.empty()) {
      std::lock_guard<std::mutex> writer(writer_);
      pending_ops replayed;
      std::size_t size = 0;
      for (const auto& r : records) {
        auto dbi = open_table_locked(r.table);
        if (!dbi) return dbi.error();
        add_ops(replayed, to_pending(*dbi, refs_of(r.ops)), size);
      }
      auto generation = file->generation() - 1;  // the replayed one: records() moved past it
      if (auto ok = write_locked(replayed, 0, {}, generation); !ok) return ok;
      applied_generation_ = generation;
    }
    file->remove();
    return {};
  }

  // The journal file, if there is one, and its records since the last checkpoint.
  using journal_contents = std::pair<std::unique_ptr<journal>, std::vector<journal_record>>;
  expected<journal_contents> read_journal(journal::access how) {
    if (::access(journal_path().c_str(), F_OK) != 0) return journal_contents{};
    auto j = journal::open(journal_path(), how);
    if (!j) return j.error();
    auto records = (*j)->records(applied_generation_);
    if (!records) return records.error();
    return journal_contents{std::move(*j), std::move(*records)};
  }

  // The first durable write of this environment makes the journal and marks the file format 3
  // (one synced transaction). Call with writer_ held.
  status open_journal() {
    if (journal_) return {};
    if (!journaled_format_) {
      std::shared_lock<std::shared_mutex> map_lock(map_mutex_);
      txn_guard txn;
      if (int rc = mdb_txn_begin(env_, nullptr, 0, txn.out()); rc != 0) return lmdb_error(rc, "cannot write " + path_);
      if (auto ok = mark_format(txn, format_3_value, "cannot upgrade "); !ok) return ok;
      journaled_format_ = true;
    }
    auto j = journal::open(journal_path(), journal::access::create);
    if (!j) return j.error();
    if (auto none = (*j)->records(applied_generation_); !none) return none.error();  // sets the generation
    journal_ = std::move(*j);
    return {};
  }

  // A read-only open: the journal's records since the last checkpoint are read once, into the
  // buffer, so that reads see every durable write of a writer that crashed (or runs: then what it
  // had written at this moment).
  status overlay_journal() {
    auto j = read_journal(journal::access::read);
    if (!j) return j.error();
    std::lock_guard<std::mutex> writer(writer_);
    for (const auto& r : j->second) {
      auto dbi = open_table_locked(r.table);
      if (!dbi) continue;  // a table this file does not have (yet): nothing to read through it
      std::lock_guard<std::mutex> guard(pending_mutex_);
      add_ops(pending_, to_pending(*dbi, refs_of(r.ops)), pending_bytes_);
    }
    return {};
  }

  // After a failed commit, puts the operations back in the buffer (unless newer ones arrived
  // meanwhile) so a write-behind save is not lost to a transient error such as a full disk.
  // Call with writer_ and pending_mutex_ held.
  void restore_in_flight() {
    std::size_t size = 0;
    for (const auto& [key, value] : in_flight_) size += op_bytes(key, value);
    add_ops(in_flight_, std::move(pending_), size);  // what came meanwhile goes after
    pending_.swap(in_flight_);
    pending_bytes_ = size;
  }

  // Call with writer_ held.
  status write_locked(const pending_ops& base, MDB_dbi dbi, const std::vector<op_ref>& ops,
                      std::optional<std::uint64_t> covers) {
    if (auto room = make_room(bytes_of(base, ops)); !room) return room;
    for (;;) {
      int rc = try_write(base, dbi, ops, covers);
      if (rc == 0) return {};
      if (rc != MDB_MAP_FULL) return lmdb_error(rc, "cannot write to " + path_);
      if (auto grown = grow_map(); !grown) return grown;
    }
  }

  static std::size_t bytes_of(const pending_ops& base, const std::vector<op_ref>& ops) {
    std::size_t size = 0;
    for (const auto& [key, value] : base) size += op_bytes(key, value);
    for (const auto& op : ops) size += op.value.size();
    return size;
  }

  // Grows the map before a write that could fill it: a transaction that fails with MDB_MAP_FULL
  // has copied its values into LMDB's pages for nothing and copies them again after the growth
  // (for a 40 MiB state, twice the copying and the page faults). Copy-on-write can need the new
  // pages while the old ones are still in use, hence twice the size, plus a margin for the tree.
  status make_room(std::size_t incoming) {
    constexpr std::size_t worth_checking = std::size_t{1} << 20;
    if (incoming < worth_checking) return {};  // the first small write that fills it grows it
    MDB_envinfo info;
    MDB_stat stat;
    mdb_env_info(env_, &info);
    mdb_env_stat(env_, &stat);
    std::size_t needed = (info.me_last_pgno + 1) * stat.ms_psize + 2 * incoming + worth_checking;
    while (info.me_mapsize < needed) {
      if (auto grown = grow_map(); !grown) return grown;
      mdb_env_info(env_, &info);
    }
    return {};
  }

  // One transaction: the buffered operations of `base`, then `ops` of table `dbi`, in order, and
  // the journal generation whose records they include, if any.
  int try_write(const pending_ops& base, MDB_dbi dbi, const std::vector<op_ref>& ops,
                std::optional<std::uint64_t> covers) {
    std::shared_lock<std::shared_mutex> map_lock(map_mutex_);
    txn_guard txn;
    if (int rc = mdb_txn_begin(env_, nullptr, 0, txn.out()); rc != 0) return rc;
    for (const auto& [key, value] : base)
      if (int rc = apply(txn.get(), key, value); rc != 0) return rc;
    for (const auto& op : ops)
      if (int rc = apply(txn.get(), dbi, op); rc != 0) return rc;
    if (covers)
      if (int rc = put(txn.get(), main_dbi_, journal_generation_key, big_endian(*covers)); rc != 0) return rc;
    if (!on_commit_) return txn.commit();
    auto start = std::chrono::steady_clock::now();
    int rc = txn.commit();
    if (rc == 0) on_commit_(std::chrono::steady_clock::now() - start);
    return rc;
  }

  static int apply(MDB_txn* txn, const pending_key& key, const pending_value& value) {
    if (kind_of(key.second) == key_kind::truncation)
      return truncate(txn, key.first, key.second, read_big_endian(*value));
    if (value) return put(txn, key.first, key.second, *value);
    return del(txn, key.first, key.second);
  }

  static int apply(MDB_txn* txn, MDB_dbi dbi, const op_ref& op) {
    switch (op.what) {
      case write_op::kind::save: return put(txn, dbi, op.key.encode(), op.value);
      case write_op::kind::append: return put(txn, dbi, log_key(log_prefix(op.key), op.seq), op.value);
      case write_op::kind::truncate: return truncate(txn, dbi, log_prefix(op.key), op.seq);
      case write_op::kind::erase:
        if (int rc = del(txn, dbi, op.key.encode()); rc != 0) return rc;
        return truncate(txn, dbi, log_prefix(op.key), UINT64_MAX);
    }
    return EINVAL;  // refused by check_write before
  }

  static int put(MDB_txn* txn, MDB_dbi dbi, bytes_view key, bytes_view value) {
    MDB_val k = as_val(key);
    MDB_val v = as_val(value);
    return mdb_put(txn, dbi, &k, &v, 0);
  }

  // Deleting a key that is not there is no error.
  static int del(MDB_txn* txn, MDB_dbi dbi, bytes_view key) {
    MDB_val k = as_val(key);
    int rc = mdb_del(txn, dbi, &k, nullptr);
    return rc == MDB_NOTFOUND ? 0 : rc;
  }

  // Calls f(seq, delta) for each log entry of `prefix` numbered up to `through`, in order.
  template <class F>
  static int scan_log_rc(MDB_txn* txn, MDB_dbi dbi, const bytes& prefix, std::uint64_t through, F&& f) {
    MDB_cursor* cursor = nullptr;
    if (int rc = mdb_cursor_open(txn, dbi, &cursor); rc != 0) return rc;
    auto start = log_key(prefix, 0);
    MDB_val k = as_val(start), v;
    int rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
    for (; rc == 0; rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
      auto key = as_view(k);
      if (kind_of(key) != key_kind::log_entry || prefix_of(key) != prefix) break;
      auto seq = read_big_endian(key.substr(prefix.size()));
      if (seq > through) break;
      f(seq, as_view(v));
    }
    mdb_cursor_close(cursor);
    return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
  }

  template <class F>
  status scan_log(MDB_txn* txn, MDB_dbi dbi, const bytes& prefix, std::uint64_t through, F&& f) {
    if (int rc = scan_log_rc(txn, dbi, prefix, through, std::forward<F>(f)); rc != 0)
      return lmdb_error(rc, "cannot read the log in " + path_);
    return {};
  }

  // Drops the log entries of `prefix` numbered up to `through`.
  static int truncate(MDB_txn* txn, MDB_dbi dbi, const bytes& prefix, std::uint64_t through) {
    std::vector<bytes> doomed;
    if (int rc = scan_log_rc(txn, dbi, prefix, through,
                             [&](std::uint64_t seq, bytes_view) { doomed.push_back(log_key(prefix, seq)); });
        rc != 0)
      return rc;
    for (const auto& key : doomed) {
      MDB_val k = as_val(key);
      if (int rc = mdb_del(txn, dbi, &k, nullptr); rc != 0) return rc;
    }
    return 0;
  }

  // Doubles the map. No transaction of this process is open: writers hold writer_, readers hold
  // map_mutex_ shared, and we take it exclusively.
  status grow_map() {
    std::unique_lock<std::shared_mutex> grow(map_mutex_);
    MDB_envinfo info;
    mdb_env_info(env_, &info);
    if (info.me_mapsize >= max_map_size) return error(errc::too_large, path_ + " reached the 1 TiB map limit");
    if (int rc = mdb_env_set_mapsize(env_, info.me_mapsize * 2); rc != 0)
      return lmdb_error(rc, "cannot grow the map of " + path_);
    return {};
  }

  void start_flusher(std::chrono::milliseconds period) {
    flusher_ = std::thread([this, period] {
      std::unique_lock<std::mutex> lock(stop_mutex_);
      while (!stop_cv_.wait_for(lock, period, [this] { return stopping_; })) {
        lock.unlock();
        (void)flush();  // a failure keeps the buffer; sync() and close() report it
        lock.lock();
      }
    });
  }

  void stop_flusher() {
    {
      std::lock_guard<std::mutex> lock(stop_mutex_);
      stopping_ = true;
    }
    stop_cv_.notify_all();
    if (flusher_.joinable()) flusher_.join();
  }

  std::string path_;
  bool read_only_;
  commit_observer on_commit_;  // of the first open (as auto_save)
  MDB_env* env_ = nullptr;
  MDB_dbi main_dbi_ = 0;                  // the format record and the journal generation
  bool journaled_format_ = false;         // the file is marked format 3
  std::uint64_t applied_generation_ = 0;  // the journal generation the file holds
  std::unique_ptr<journal> journal_;      // made by the first durable write; under writer_
  std::mutex writer_;                     // one write transaction at a time; taken before pending_mutex_
  std::shared_mutex map_mutex_;           // transactions shared, map growth exclusive
  std::mutex pending_mutex_;
  pending_ops pending_;    // waiting for the next commit
  pending_ops in_flight_;  // in the commit that is running
  std::size_t pending_bytes_ = 0;
  std::thread flusher_;
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
};

// Every open file of this process, by path; entries expire with their last handle.
class environment_registry {
public:
  static environment_registry& instance() {
    static environment_registry r;
    return r;
  }

  expected<std::shared_ptr<environment>> open(const dets_options& opts) {
    std::lock_guard<std::mutex> guard(mutex_);
    auto key = canonical(opts.file);
    if (auto it = envs_.find(key); it != envs_.end()) {
      if (auto env = it->second.lock()) {
        if (env->read_only() && !opts.read_only)
          return error(errc::locked, opts.file + " is open read-only in this process");
        return env;
      }
    }
    auto env = std::make_shared<environment>(opts.file, opts.read_only, opts.on_commit);
    if (auto ok = env->open(opts); !ok) return ok.error();
    envs_[key] = env;
    return env;
  }

private:
  // The same file under another spelling of its path maps to one environment.
  static std::string canonical(const std::string& file) {
    auto slash = file.rfind('/');
    std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : file.substr(0, slash));
    std::string base = slash == std::string::npos ? file : file.substr(slash + 1);
    char resolved[PATH_MAX];
    if (::realpath(dir.c_str(), resolved) == nullptr) return file;
    return std::string(resolved) + "/" + base;
  }

  std::mutex mutex_;
  std::map<std::string, std::weak_ptr<environment>> envs_;
};

class dets_backend final : public backend {
public:
  dets_backend(std::shared_ptr<environment> env, MDB_dbi dbi, dets_options opts)
      : env_(std::move(env)), dbi_(dbi), opts_(std::move(opts)) {}

  ~dets_backend() override { (void)close(); }

  status write(const std::vector<write_op>& ops) override {
    for (const auto& op : ops)
      if (auto ok = check_write(op.key, op.what, op.seq, op.value.size()); !ok) return ok;
    return store(refs_of(ops));
  }

  // The same as write({save}) without copying the value into an operation first.
  status save(const group_key& g, bytes_view value) override {
    if (auto ok = check_write(g, write_op::kind::save, 0, value.size()); !ok) return ok;
    return store({op_ref{write_op::kind::save, g, value, 0}});
  }

  expected<std::optional<bytes>> load(const group_key& g) override {
    if (auto ok = g.validate(); !ok) return ok.error();
    auto env = handle();
    if (!env) return env.error();
    auto key = g.encode();
    if (auto pending = (*env)->buffered(dbi_, key)) return std::optional<bytes>(std::move(*pending));
    std::optional<bytes> out;
    auto ok = (*env)->read([&](MDB_txn* txn) -> status {
      MDB_val k = as_val(key);
      MDB_val v;
      int rc = mdb_get(txn, dbi_, &k, &v);
      if (rc == MDB_NOTFOUND) return {};
      if (rc != 0) return lmdb_error(rc, "cannot load group " + g.to_string());
      out = bytes(as_view(v));  // copied before the transaction ends
      return {};
    });
    if (!ok) return ok.error();
    return out;
  }

  expected<std::vector<log_entry>> read_log(const group_key& g) override {
    if (auto ok = g.validate(); !ok) return ok.error();
    auto env = handle();
    if (!env) return env.error();
    return (*env)->read_log(dbi_, g);
  }

  expected<std::vector<group_key>> list_groups() override {
    auto env = handle();
    if (!env) return env.error();
    return (*env)->list_groups(dbi_);
  }

  status sync() override {
    auto env = handle();
    if (!env) return env.error();
    return (*env)->flush();
  }

  status close() override {
    std::shared_ptr<environment> env;
    {
      std::lock_guard<std::mutex> guard(close_mutex_);
      env.swap(env_);
    }
    if (!env) return {};
    return env->flush();  // the environment closes with its last handle
  }

  std::string describe() const override { return "dets:" + opts_.file + "#" + opts_.table; }

private:
  expected<std::shared_ptr<environment>> handle() {
    std::lock_guard<std::mutex> guard(close_mutex_);
    if (!env_) return error(errc::closed, describe() + " is closed");
    return env_;
  }

  static error read_only_error() { return error(errc::invalid_argument, "store opened read-only"); }

  status check_write(const group_key& key, write_op::kind what, std::uint64_t seq, std::size_t size) const {
    if (opts_.read_only) return read_only_error();
    return storage::check_write(key, what, seq, size, opts_.max_value_size);
  }

  // Durable: one synced transaction. Write-behind: into the buffer. All of `ops` or nothing.
  status store(const std::vector<op_ref>& ops) {
    auto env = handle();
    if (!env) return env.error();
    if (opts_.durable) return (*env)->write_durable(dbi_, opts_.table, ops, opts_.max_pending_bytes);
    return (*env)->buffer(to_pending(dbi_, ops), opts_.max_pending_bytes);
  }

  std::mutex close_mutex_;
  std::shared_ptr<environment> env_;
  MDB_dbi dbi_;
  dets_options opts_;
};

status check_options(const dets_options& opts) {
  if (opts.file.empty()) return error(errc::invalid_argument, "dets: option 'file' is required");
  if (opts.table.empty()) return error(errc::invalid_argument, "dets: option 'table' is empty");
  if (opts.table.size() > 200) return error(errc::invalid_argument, "dets: table name longer than 200 bytes");
  if (opts.auto_save.count() <= 0) return error(errc::invalid_argument, "dets: auto_save must be positive");
  if (opts.initial_map_size < (std::size_t{1} << 16) || opts.max_value_size == 0 || opts.max_pending_bytes == 0)
    return error(errc::invalid_argument,
                 "dets: initial_map_size (>= 64 KiB), max_value_size and max_pending_bytes must be set");
  return {};
}

}  // namespace

expected<std::unique_ptr<backend>> open_dets(const dets_options& opts) {
  if (auto ok = check_options(opts); !ok) return ok.error();
  auto env = environment_registry::instance().open(opts);
  if (!env) return env.error();
  auto dbi = (*env)->open_table(opts.table);
  if (!dbi) return dbi.error();
  return std::unique_ptr<backend>(new dets_backend(std::move(*env), *dbi, opts));
}

expected<std::vector<std::string>> list_dets_tables(const std::string& file) {
  dets_options opts;
  opts.file = file;
  opts.read_only = true;
  auto env = environment_registry::instance().open(opts);
  if (!env) return env.error();
  return (*env)->list_tables();
}

namespace {

// Makes a rename in the directory of `path` durable.
status sync_directory_of(const std::string& path) {
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return lmdb_error(errno, "cannot open " + dir);
  int rc = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  if (rc != 0) return lmdb_error(rc, "cannot sync " + dir);
  return {};
}

}  // namespace

status backup_dets(const std::string& file, const std::string& to) {
  dets_options opts;
  opts.file = file;
  opts.read_only = true;
  auto env = environment_registry::instance().open(opts);  // this process's own environment if it has one
  if (!env) return env.error();
  // What this process holds outside the file goes in first: its write-behind buffer, and durable
  // writes, which wait in the journal and the buffer for a checkpoint (a no-op when read-only).
  if (auto committed = (*env)->commit(); !committed) return committed;
  struct stat st {};
  if (::stat(to.c_str(), &st) == 0) return error(errc::invalid_argument, to + " exists: a backup never overwrites");
  const std::string partial = to + ".partial";
  int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return lmdb_error(errno, "cannot create " + partial);
  auto copied = (*env)->copy_to(fd);
  if (copied && ::fsync(fd) != 0) copied = lmdb_error(errno, "cannot sync " + partial);
  ::close(fd);
  if (copied && ::rename(partial.c_str(), to.c_str()) != 0) copied = lmdb_error(errno, "cannot rename to " + to);
  if (!copied) {
    ::unlink(partial.c_str());
    return copied;
  }
  return sync_directory_of(to);
}

}  // namespace grove::storage
