#include "journal.hpp"

#include <cerrno>
#include <cstring>
#include <random>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace grove::storage {

namespace {

constexpr char magic[4] = {'G', 'R', 'V', 'J'};
// magic, payload size, generation, nonce; then the payload; then the checksum.
constexpr std::size_t header_size = 4 + 4 + 8 + 8;
constexpr std::size_t checksum_size = 8;
constexpr std::size_t checked_offset = 8;  // the checksum covers generation, nonce and payload
// Per operation: kind, key size, seq, value size.
constexpr std::size_t op_overhead = 1 + 2 + 8 + 4;

error io_error(const std::string& what, int err) { return error(errc::io_error, what + ": " + std::strerror(err)); }

void put_uint(bytes& out, std::uint64_t x, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) out.push_back(static_cast<char>(x >> (8 * i)));
}

std::uint64_t get_uint(const char* in, std::size_t size) {
  std::uint64_t x = 0;
  for (std::size_t i = 0; i < size; ++i) x |= std::uint64_t{static_cast<std::uint8_t>(in[i])} << (8 * i);
  return x;
}

// Reads a payload; false when it does not parse (a damaged record whose checksum still matched
// cannot happen by accident; this guards against anything else).
class payload_reader {
public:
  explicit payload_reader(bytes_view in) : in_(in) {}

  bool read(journal_record& out) {
    std::uint64_t table_size = 0, count = 0;
    if (!uint(table_size, 1) || !text(out.table, table_size) || !uint(count, 4)) return false;
    for (std::uint64_t i = 0; i < count; ++i) {
      std::uint64_t kind = 0, key_size = 0, seq = 0, value_size = 0;
      std::string key, value;
      if (!uint(kind, 1) || kind > static_cast<std::uint64_t>(write_op::kind::erase) || !uint(key_size, 2)
          || !text(key, key_size) || !uint(seq, 8) || !uint(value_size, 4) || !text(value, value_size))
        return false;
      auto group = group_key::decode(key);
      if (!group) return false;
      out.ops.push_back({static_cast<write_op::kind>(kind), std::move(*group), std::move(value), seq});
    }
    return at_ == in_.size();
  }

private:
  bool uint(std::uint64_t& x, std::size_t size) {
    if (in_.size() - at_ < size) return false;
    x = get_uint(in_.data() + at_, size);
    at_ += size;
    return true;
  }
  bool text(std::string& x, std::uint64_t size) {
    if (in_.size() - at_ < size) return false;
    x.assign(in_.data() + at_, size);
    at_ += size;
    return true;
  }

  bytes_view in_;
  std::size_t at_ = 0;
};

std::uint64_t random_nonce() {
  std::random_device device;
  return (std::uint64_t{device()} << 32) ^ device();
}

}  // namespace

expected<std::unique_ptr<journal>> journal::open(const std::string& path, access how) {
  int flags = how == access::read ? O_RDONLY : how == access::write ? O_RDWR : O_RDWR | O_CREAT;
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("cannot open " + path, errno);
  std::unique_ptr<journal> j(new journal(path, fd));
  struct stat st;
  if (how == access::create && ::fstat(fd, &st) == 0 && static_cast<std::size_t>(st.st_size) < capacity) {
    // Preallocated, so that an append changes no metadata and its fdatasync is one device flush.
    // Where the file system cannot, appends grow the file instead (correct, one sync slower).
    (void)::posix_fallocate(fd, 0, static_cast<off_t>(capacity));
    (void)::fsync(fd);
  }
  j->start_generation(1);
  return j;
}

journal::~journal() {
  if (fd_ >= 0) ::close(fd_);
}

void journal::start_generation(std::uint64_t generation) {
  generation_ = generation;
  nonce_ = random_nonce();
  end_ = 0;
}

void journal::reset() { start_generation(generation_ + 1); }

void journal::remove() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(path_.c_str());
}

expected<std::vector<journal_record>> journal::records(std::uint64_t applied) {
  struct stat st;
  if (::fstat(fd_, &st) != 0) return io_error("cannot read " + path_, errno);
  std::vector<journal_record> out;
  std::uint64_t first_generation = 0, first_nonce = 0;
  char header[header_size];
  for (off_t at = 0; at + static_cast<off_t>(header_size) <= st.st_size;) {
    if (::pread(fd_, header, header_size, at) != static_cast<ssize_t>(header_size)) break;
    if (std::memcmp(header, magic, sizeof magic) != 0) break;
    auto payload_size = get_uint(header + 4, 4);
    auto generation = get_uint(header + 8, 8), nonce = get_uint(header + 16, 8);
    if (at == 0 && generation <= applied) break;                                    // checkpointed already
    if (at > 0 && (generation != first_generation || nonce != first_nonce)) break;  // an older generation's
    auto total = header_size + payload_size + checksum_size;
    if (at + static_cast<off_t>(total) > st.st_size) break;  // torn
    bytes record(total, '\0');
    if (::pread(fd_, record.data(), total, at) != static_cast<ssize_t>(total)) break;
    auto checked = bytes_view(record).substr(checked_offset, total - checked_offset - checksum_size);
    if (XXH3_64bits(checked.data(), checked.size()) != get_uint(record.data() + total - checksum_size, 8)) break;
    journal_record r;
    if (!payload_reader(bytes_view(record).substr(header_size, payload_size)).read(r)) break;
    out.push_back(std::move(r));
    first_generation = generation;
    first_nonce = nonce;
    at += static_cast<off_t>(total);
  }
  start_generation(std::max(applied, first_generation) + 1);  // first_generation: 0 unless replayed
  return out;
}

std::size_t journal::record_size(const std::string& table, const std::vector<op_ref>& ops) {
  std::size_t size = header_size + 1 + table.size() + 4 + checksum_size;
  for (const auto& op : ops) size += op_overhead + 1 + op.key.kind.size() + op.key.name.size() + op.value.size();
  return size;
}

status journal::append(const std::string& table, const std::vector<op_ref>& ops) {
  bytes record;
  record.reserve(record_size(table, ops));
  record.append(magic, sizeof magic);
  put_uint(record, 0, 4);  // the payload size, below
  put_uint(record, generation_, 8);
  put_uint(record, nonce_, 8);
  put_uint(record, table.size(), 1);
  record += table;
  put_uint(record, ops.size(), 4);
  for (const auto& op : ops) {
    auto key = op.key.encode();
    put_uint(record, static_cast<std::uint64_t>(op.what), 1);
    put_uint(record, key.size(), 2);
    record += key;
    put_uint(record, op.seq, 8);
    put_uint(record, op.value.size(), 4);
    record.append(op.value.data(), op.value.size());
  }
  auto payload_size = record.size() - header_size;
  for (std::size_t i = 0; i < 4; ++i) record[4 + i] = static_cast<char>(payload_size >> (8 * i));
  put_uint(record, XXH3_64bits(record.data() + checked_offset, record.size() - checked_offset), 8);

  const auto at = static_cast<off_t>(end_);
  auto written = ::pwrite(fd_, record.data(), record.size(), at);
  int err = 0;
  if (written < 0)
    err = errno;
  else if (written != static_cast<ssize_t>(record.size()))
    err = ENOSPC;  // a short write: the disk is full
  else if (::fdatasync(fd_) != 0)
    err = errno;
  if (err == 0) {
    end_ += record.size();
    return {};
  }
  // Whatever reached the disk must not replay later: the write was refused.
  char zeros[sizeof magic] = {};
  if (::pwrite(fd_, zeros, sizeof zeros, at) == static_cast<ssize_t>(sizeof zeros)) (void)::fdatasync(fd_);
  if (err == ENOSPC) return error(errc::disk_full, "cannot append to " + path_ + ": " + std::strerror(err));
  return io_error("cannot append to " + path_, err);
}

}  // namespace grove::storage
