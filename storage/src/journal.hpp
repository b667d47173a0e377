// The journal of a durable DETS-style store (FILE-journal beside FILE): a durable write is on disk
// once its record is appended here and synced (one fdatasync of a preallocated file: no metadata
// changes, so no file-system journal commit), and reaches the LMDB file with the next checkpoint
// (a synced transaction of everything buffered, see dets_backend.cpp). LMDB alone needs two syncs
// per commit (its pages, then its meta page) and copies every page the commit touches.
//
// Records: magic "GRVJ", payload size (u32), generation (u64), nonce (u64), payload, and an
// xxHash3-64 of generation, nonce and payload. The payload is a table name and write operations.
// A checkpoint stores the generation it covers in the LMDB file (in the same transaction) and then
// writes the next generation from the start of the file, over the old records. Replay takes the
// records from the start while each one is whole and carries the generation and nonce of the
// first, and only when that generation is newer than the one the LMDB file covers: a torn record
// (a crash during its write) ends the replay, an old record is never applied over newer data, and
// bytes inside a stored value cannot pass for a record (the nonce is random and never stored in a
// value). All integers little-endian.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "grove/storage/backend.hpp"

namespace grove::storage {

/// A write operation whose group and value stay the caller's (nothing copied on the way to the
/// journal or into an LMDB transaction).
struct op_ref {
  write_op::kind what;
  const group_key& key;
  bytes_view value;
  std::uint64_t seq;
};

/// One journal record: the operations of one durable write to one table.
struct journal_record {
  std::string table;
  std::vector<write_op> ops;
};

class journal {
public:
  /// Space made for records when the file is created (fallocate), so appends do not change the
  /// file's size. A store checkpoints before the records would pass it.
  static constexpr std::size_t capacity = std::size_t{16} << 20;

  enum class access { read, write, create };

  /// Opens `path` for reading, for writing, or creating it (mode 0600, preallocated); io_error
  /// from the operating system. Call records() before the first append: it reads what is there
  /// and sets the generation of the next records.
  static expected<std::unique_ptr<journal>> open(const std::string& path, access how);

  ~journal();
  journal(const journal&) = delete;
  journal& operator=(const journal&) = delete;

  /// The records of the generation at the start of the file, if it is newer than `applied`, in
  /// order, up to the first record that is not whole (or of another generation). Also makes the
  /// next records that generation's successor (or applied + 1).
  expected<std::vector<journal_record>> records(std::uint64_t applied);

  /// Appends one record and syncs it. On an error the record is made unreadable (best effort: on
  /// a dead disk even that can fail) and the next append goes to the same place.
  status append(const std::string& table, const std::vector<op_ref>& ops);

  /// The size a record of these operations takes.
  static std::size_t record_size(const std::string& table, const std::vector<op_ref>& ops);

  /// The generation of the records appended now.
  std::uint64_t generation() const { return generation_; }
  /// Bytes appended since the last reset.
  std::size_t written() const { return end_; }
  /// After a checkpoint that covers generation(): the next records are the next generation,
  /// written from the start (with a new nonce).
  void reset();

  /// Deletes the file (the journal object is unusable afterwards).
  void remove();

private:
  journal(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  void start_generation(std::uint64_t generation);

  std::string path_;
  int fd_ = -1;
  std::uint64_t generation_ = 1;
  std::uint64_t nonce_ = 0;
  std::size_t end_ = 0;
};

}  // namespace grove::storage
