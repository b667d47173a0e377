#include "grove/storage/dets_backend.hpp"

#include <lmdb.h>

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

// The record that marks an LMDB file as a Grove store, in the file's main database.
constexpr char format_key[] = "grove.format";
constexpr char format_value[] = "grove-store 1";
constexpr char table_prefix[] = "table:";
constexpr std::size_t max_map_size = std::size_t{1} << 40;  // 1 TiB of address space
constexpr unsigned max_tables = 256;                          // LMDB named databases per file

// An LMDB data file starts with a meta page: a 16-byte page header, then MDB_MAGIC.
constexpr std::size_t lmdb_magic_offset = 16;
constexpr unsigned char lmdb_magic[] = {0xde, 0xc0, 0xef, 0xbe};

MDB_val as_val(bytes_view b) { return MDB_val{b.size(), const_cast<char*>(b.data())}; }
bytes_view as_view(const MDB_val& v) { return bytes_view(static_cast<const char*>(v.mv_data), v.mv_size); }

// LMDB reports operating-system failures as errno values, so one mapping serves both.
error lmdb_error(int rc, const std::string& what) {
  std::string text = what + ": " + mdb_strerror(rc);
  switch (rc) {
    case ENOSPC: return error(errc::disk_full, text);
    case EACCES:
    case EPERM:
    case EROFS: return error(errc::permission_denied, text);
    case MDB_INVALID: return error(errc::not_a_store, text);
    case MDB_DBS_FULL: return error(errc::too_large, what + ": a file holds at most " + std::to_string(max_tables) + " tables");
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
  f.lmdb = ::pread(fd, magic, sizeof magic, lmdb_magic_offset) == static_cast<ssize_t>(sizeof magic) &&
           std::memcmp(magic, lmdb_magic, sizeof magic) == 0;
  ::close(fd);  // before LMDB opens the file: lmdb.h forbids a second descriptor beside its own
  return f;
}

// One open LMDB environment (one file), shared by every handle on that file in this process.
class environment {
public:
  environment(std::string path, bool read_only) : path_(std::move(path)), read_only_(read_only) {}

  ~environment() {
    stop_flusher();
    (void)flush();  // close() has reported errors to whoever asked
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

  // Commits the write-behind buffer with `extra` on top (later wins) in one synced transaction.
  // Everything buffered goes along, so the buffer never holds a value older than the disk's.
  // While the transaction runs the buffered operations stay visible to loads (in_flight_).
  status commit(pending_ops extra = {}) {
    if (read_only_ || !env_) return {};
    std::lock_guard<std::mutex> writer(writer_);
    {
      std::lock_guard<std::mutex> guard(pending_mutex_);
      in_flight_.swap(pending_);  // in_flight_ is empty between commits
      pending_bytes_ = 0;
    }
    if (in_flight_.empty() && extra.empty()) return {};
    // Only this thread changes in_flight_ (under writer_), so reading it here needs no lock.
    auto result = write_locked(in_flight_, extra);
    std::lock_guard<std::mutex> guard(pending_mutex_);
    if (!result) restore_in_flight();
    in_flight_.clear();
    return result;
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
    for (auto& [key, value] : ops) {
      auto [it, added] = pending_.try_emplace(key);
      if (!added) pending_bytes_ -= op_bytes(it->first, it->second);  // an overwrite replaces bytes
      pending_bytes_ += op_bytes(key, value);
      it->second = std::move(value);
    }
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

  // Buffered operations of one table (waiting ones override those being committed).
  std::map<bytes, pending_value> buffered_table(MDB_dbi dbi) {
    std::lock_guard<std::mutex> guard(pending_mutex_);
    std::map<bytes, pending_value> out;
    for (const auto* ops : {&in_flight_, &pending_})
      for (auto it = ops->lower_bound({dbi, bytes()}); it != ops->end() && it->first.first == dbi; ++it)
        out[it->first.second] = it->second;
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
    if (!read_only_) start_flusher(opts.auto_save);
    return {};
  }

  status check_format(bool fresh) {
    std::lock_guard<std::mutex> writer(writer_);
    txn_guard txn;
    if (int rc = mdb_txn_begin(env_, nullptr, read_only_ ? MDB_RDONLY : 0, txn.out()); rc != 0)
      return lmdb_error(rc, "cannot read " + path_);
    MDB_dbi main = 0;
    if (int rc = mdb_dbi_open(txn.get(), nullptr, 0, &main); rc != 0) return lmdb_error(rc, "cannot read " + path_);
    MDB_val key = as_val(format_key);
    MDB_val value;
    int rc = mdb_get(txn.get(), main, &key, &value);
    if (rc == MDB_NOTFOUND) {
      if (!fresh) return error(errc::not_a_store, path_ + " is an LMDB file but not a Grove store");
      MDB_val mark = as_val(format_value);
      if (int p = mdb_put(txn.get(), main, &key, &mark, 0); p != 0) return lmdb_error(p, "cannot initialise " + path_);
      if (int c = txn.commit(); c != 0) return lmdb_error(c, "cannot initialise " + path_);
      return {};
    }
    if (rc != 0) return lmdb_error(rc, "cannot read " + path_);
    if (as_view(value) != format_value)
      return error(errc::unsupported_version,
                   path_ + " has store format '" + std::string(as_view(value)) + "', this build reads '" + format_value + "'");
    return {};
  }

  // After a failed commit, puts the operations back in the buffer (unless newer ones arrived
  // meanwhile) so a write-behind save is not lost to a transient error such as a full disk.
  // Call with writer_ and pending_mutex_ held.
  void restore_in_flight() {
    for (auto& [key, value] : in_flight_) {
      if (pending_.count(key)) continue;
      pending_bytes_ += op_bytes(key, value);
      pending_.emplace(key, std::move(value));
    }
  }

  // Call with writer_ held.
  status write_locked(const pending_ops& base,
                      const pending_ops& top) {
    for (;;) {
      int rc = try_write(base, top);
      if (rc == 0) return {};
      if (rc != MDB_MAP_FULL) return lmdb_error(rc, "cannot write to " + path_);
      if (auto grown = grow_map(); !grown) return grown;
    }
  }

  // One transaction: every operation of `base` not overridden by `top`, then `top`.
  int try_write(const pending_ops& base, const pending_ops& top) {
    std::shared_lock<std::shared_mutex> map_lock(map_mutex_);
    txn_guard txn;
    if (int rc = mdb_txn_begin(env_, nullptr, 0, txn.out()); rc != 0) return rc;
    for (const auto& [key, value] : base)
      if (top.count(key) == 0)
        if (int rc = apply(txn.get(), key, value); rc != 0) return rc;
    for (const auto& [key, value] : top)
      if (int rc = apply(txn.get(), key, value); rc != 0) return rc;
    return txn.commit();
  }

  static int apply(MDB_txn* txn, const pending_key& key, const pending_value& value) {
    MDB_val k = as_val(key.second);
    if (value) {
      MDB_val v = as_val(*value);
      return mdb_put(txn, key.first, &k, &v, 0);
    }
    int rc = mdb_del(txn, key.first, &k, nullptr);
    return rc == MDB_NOTFOUND ? 0 : rc;
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
  MDB_env* env_ = nullptr;
  std::mutex writer_;                  // one write transaction at a time; taken before pending_mutex_
  std::shared_mutex map_mutex_;        // transactions shared, map growth exclusive
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
    auto env = std::make_shared<environment>(opts.file, opts.read_only);
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

  status save(const group_key& g, bytes_view value) override {
    if (auto ok = check_write(g, value.size()); !ok) return ok;
    return store({{{dbi_, g.encode()}, bytes(value)}});
  }

  status save_batch(const std::vector<group_value>& entries) override {
    for (const auto& e : entries)
      if (auto ok = check_write(e.key, e.value.size()); !ok) return ok;
    pending_ops batch;
    for (const auto& e : entries) batch[{dbi_, e.key.encode()}] = e.value;  // later entries win
    return store(std::move(batch));
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

  status erase(const group_key& g) override {
    if (auto ok = g.validate(); !ok) return ok;
    if (opts_.read_only) return read_only_error();
    return store({{{dbi_, g.encode()}, std::nullopt}});
  }

  expected<std::vector<group_key>> list_groups() override {
    auto env = handle();
    if (!env) return env.error();
    auto pending = (*env)->buffered_table(dbi_);
    std::vector<group_key> out;
    auto ok = (*env)->read([&](MDB_txn* txn) -> status {
      MDB_cursor* cursor = nullptr;
      if (int rc = mdb_cursor_open(txn, dbi_, &cursor); rc != 0) return lmdb_error(rc, "cannot list groups");
      MDB_val k, v;
      for (int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
        auto key = as_view(k);
        if (pending.count(bytes(key))) continue;  // the buffered operation decides
        if (auto g = group_key::decode(key)) out.push_back(std::move(*g));
      }
      mdb_cursor_close(cursor);
      return {};
    });
    if (!ok) return ok.error();
    for (const auto& [key, value] : pending)
      if (value)
        if (auto g = group_key::decode(key)) out.push_back(std::move(*g));
    std::sort(out.begin(), out.end());
    return out;
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

  status check_write(const group_key& g, std::size_t size) const {
    if (auto ok = g.validate(); !ok) return ok;
    if (opts_.read_only) return read_only_error();
    if (size > opts_.max_value_size)
      return error(errc::too_large, "value of " + std::to_string(size) + " bytes for group " + g.to_string() +
                                      " exceeds max_value_size " + std::to_string(opts_.max_value_size));
    return {};
  }

  // Durable: one synced transaction. Write-behind: into the buffer. All of `ops` or nothing.
  status store(pending_ops ops) {
    auto env = handle();
    if (!env) return env.error();
    if (opts_.durable) return (*env)->commit(std::move(ops));
    return (*env)->buffer(std::move(ops), opts_.max_pending_bytes);
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
    return error(errc::invalid_argument, "dets: initial_map_size (>= 64 KiB), max_value_size and max_pending_bytes must be set");
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

}  // namespace grove::storage
