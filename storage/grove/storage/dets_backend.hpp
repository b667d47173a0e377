// The DETS-style backend (Grove.Storage.DETS): groups stored on disk in one file, on LMDB.
//
// Files: `file`, LMDB's lock file `file-lock`, and while a durable handle writes (or after a
// crash) the journal `file-journal` (below). Several tables live in one file (at most 256; the
// 257th is errc::too_large). A group's snapshot and its log entries live in the same table, so one
// transaction (one write) carries appends of many groups and a snapshot with the truncation it
// allows. The file is marked as a Grove store by a format record: "grove-store 2" since the log,
// "grove-store 3" once a durable write used the journal (a build that does not replay journals
// must refuse it). A format-1 file (no log entries) opens, and a writable open marks it format 2. A
// newer format is errc::unsupported_version naming both. A file that is not a store (an LMDB file
// of someone else, anything else) is refused with errc::not_a_store, and the refusal leaves the
// directory as it was (a file that does not start like an LMDB file is refused before LMDB opens
// it; a lock file made by the refused open is removed). An existing empty file, or an LMDB file
// that holds nothing, becomes a new store: a crash while a store is being created leaves one, and
// refusing it would strand the user; nothing can be lost by it. Files are created with mode 0600.
//
// Durability (of every write: saves, log appends, truncations, erases alike):
//  - write-behind (default, like DETS's auto_save): save() returns once the value is in this
//    process's write buffer; loads see it at once; the buffer is committed to disk every
//    `auto_save` ms, on sync(), on close(), and before a save that would take it past
//    `max_pending_bytes` (an overwrite counts the difference, not the whole value again). If that
//    commit fails, the save returns its error and is not buffered: a save that returned an error
//    is never written later, and the buffer stays bounded however long the disk keeps failing.
//    Saves that succeeded stay buffered after a failed commit and go with the next one.
//    After a crash (kill -9, power loss) the store opens at once and holds, for every group, a
//    value it had at some flush: possibly an older one, never a damaged one.
//    The flush period runs on a thread of the environment, not as a CAF timer: storage/ does not
//    depend on CAF (actors -> storage -> crdt), and a backend used without actors must flush too.
//    The storage actor answers each request only after write returned, so it adds no timer.
//    A write's truncation waits in the buffer like a value and drops the buffered log entries it
//    covers; loads and read_log see the buffer on top of the disk.
//  - durable: write() returns once its operations are on disk: appended to the journal as one
//    record and synced (one fdatasync: the journal is preallocated, so no metadata changes with
//    it), and held in the write buffer like a write-behind save until the next checkpoint (the
//    buffer's commit: every auto_save, on sync(), on close(), when the journal or the buffer is
//    full, and with any durable write of 256 KiB or more, which goes straight into that synced
//    transaction instead of the journal). The checkpoint records in the file which journal
//    generation it holds; then the journal starts over. A writable open replays the records a crash
//    left (one synced transaction) and removes the journal; a clean close removes it too. LMDB alone
//    syncs twice per commit (its pages, then its meta page) and copies every page it touches.
//    If even the journal write fails, the write returns the error and its record is made unreadable.
// Every commit is a synced LMDB transaction, so the file is never corrupt and never needs repair;
// a torn journal record (a crash while it was written) is recognised and dropped with what follows
// it, and was never acknowledged.
//
// No 2 GB limit: the memory map starts at `initial_map_size` and doubles whenever it fills, up to
// 1 TiB of address space; a save that needs more is errc::too_large, and a full disk stops it
// earlier with errc::disk_full.
//
// Processes: one process writes a file at a time (an exclusive flock on LMDB's own descriptor of
// the file; the file is never opened a second time, as lmdb.h requires). A second process that
// opens it for writing gets errc::locked at once; read-only opens (read_only = true, e.g. grove-inspect) may share the
// file with the writer and see what it has flushed, plus the journal's records as they were when
// the read-only open read them (once, at open: every durable write of a writer that crashed). Within one process, every
// open of the same file shares one LMDB environment (LMDB forbids opening a file twice in one process); `auto_save` is
// taken from the first open.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "grove/storage/backend.hpp"

namespace grove::storage {

/// Called after each synced write with how long it took: an LMDB commit (writing the pages and its
/// fdatasync) or a durable write's journal append and fdatasync (a node's fsync latency metric).
/// Runs on the writing thread: keep it short.
using commit_observer = std::function<void(std::chrono::nanoseconds)>;

struct dets_options {
  /// Path of the store file (required). Its directory must exist.
  std::string file;
  /// Table within the file.
  std::string table = "grove_dets_storage";
  /// Write-behind flush period (Grove's default: 60 s).
  std::chrono::milliseconds auto_save{60000};
  /// Every save is on disk when it returns (through the journal, see above).
  bool durable = false;
  /// Open an existing store for reading only; saves fail with errc::invalid_argument.
  bool read_only = false;
  /// First size of the memory map; it grows by doubling.
  std::size_t initial_map_size = std::size_t{64} << 20;
  /// Largest value a save accepts.
  std::size_t max_value_size = std::size_t{256} << 20;
  /// Write-behind buffer bound: a save that would exceed it flushes first (and fails, buffering
  /// nothing, when that flush fails).
  std::size_t max_pending_bytes = std::size_t{64} << 20;
  /// Told of every commit (durable writes, write-behind flushes, sync, close); optional. Within
  /// one process every open of a file shares one environment, so, like auto_save, the observer
  /// of the first open is the one that counts.
  commit_observer on_commit;
};

/// init: opens or creates the store and its table. Errors: invalid_argument (empty file or table
/// name, zero auto_save or sizes, a directory given as file, read-only open of a missing table),
/// io_error (missing directory, missing file for read_only), permission_denied, locked (another
/// process writes the file), not_a_store, unsupported_version, too_large (a 257th table).
expected<std::unique_ptr<backend>> open_dets(const dets_options& opts);

/// Tables in a store, sorted. Same errors as open_dets with read_only.
expected<std::vector<std::string>> list_dets_tables(const std::string& file);

/// Hot backup: writes the store `file` (every table) to the new file `to` as it was at one instant
/// (one LMDB read transaction), while a node may be writing it; compacted, synced, written under
/// `to`.partial and renamed, so `to` is whole or absent. When this process holds the store, what
/// it buffered is committed first (write-behind saves, and durable writes waiting in the journal
/// for a checkpoint), so the copy has every write acknowledged before the call; what another
/// process holds in its buffer or journal is not in it. Restoring a backup is safe by construction: a
/// replica takes a fresh incarnation at every start, so a node started from an older copy never
/// issues a dot twice, and it gets what it lacks from its peers (docs/backup.md). Errors: those
/// of list_dets_tables; invalid_argument when `to` exists; io_error, disk_full, permission_denied
/// writing it.
status backup_dets(const std::string& file, const std::string& to);

}  // namespace grove::storage
