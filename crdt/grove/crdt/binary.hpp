// The payload layer of the codec: a byte writer and a bounds-checked byte reader, plus the
// encoding of element types (`value_codec<T>`). Payloads are deterministic: integers are LEB128
// varints (signed ones zigzag), strings are length-prefixed, containers are written in order.
//
// The reader never trusts a count: `read_count` refuses a count larger than the bytes left could
// hold, so a corrupt count cannot turn into a huge allocation.
//
// Payload format versions (the envelope's version byte, codec.hpp): encode writes
// `codec_version`; decode reads every version from `oldest_codec_version` on, and a type whose
// layout changed asks its reader which version it is reading.
//   1  the first format.
//   2  gcounter (and so pncounter) carries the counts an observed reset took away (`clear()`, as
//      ormap's erase does); lww_register has a cleared state.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>

namespace grove {

/// Encoded bytes. std::string is used as a byte container (cheap append, string_view, SSO).
using bytes = std::string;
using bytes_view = std::string_view;

namespace crdt {

/// The payload format encode writes, and the oldest one decode still reads.
inline constexpr std::uint8_t codec_version = 2;
inline constexpr std::uint8_t oldest_codec_version = 1;

/// Appends to a byte string. Writes go through a raw cursor into spare capacity (grown by
/// doubling), and the string is trimmed to what was written when the writer is destroyed or
/// `flush()`ed: read `out` only after that.
class byte_writer {
public:
  explicit byte_writer(bytes& out) : out_(out), used_(out.size()) {}
  ~byte_writer() { flush(); }
  byte_writer(const byte_writer&) = delete;
  byte_writer& operator=(const byte_writer&) = delete;

  void u8(std::uint8_t x) {
    reserve(1);
    out_[used_++] = static_cast<char>(x);
  }

  void varint(std::uint64_t x) {
    reserve(10);
    char* p = &out_[used_];
    char* start = p;
    while (x >= 0x80) {
      *p++ = static_cast<char>((x & 0x7f) | 0x80);
      x >>= 7;
    }
    *p++ = static_cast<char>(x);
    used_ += static_cast<std::size_t>(p - start);
  }

  void svarint(std::int64_t x) { varint((static_cast<std::uint64_t>(x) << 1) ^ static_cast<std::uint64_t>(x >> 63)); }

  void fixed32(std::uint32_t x) {
    reserve(4);
    for (int i = 0; i < 4; ++i) out_[used_++] = static_cast<char>(x >> (8 * i));
  }

  void fixed64(std::uint64_t x) {
    reserve(8);
    for (int i = 0; i < 8; ++i) out_[used_++] = static_cast<char>(x >> (8 * i));
  }

  void raw(bytes_view x) {
    reserve(x.size());
    if (!x.empty()) std::memcpy(&out_[used_], x.data(), x.size());
    used_ += x.size();
  }

  /// Length-prefixed byte string.
  void str(bytes_view x) {
    varint(x.size());
    raw(x);
  }

  /// Trims the string to the bytes written so far.
  void flush() { out_.resize(used_); }

private:
  void reserve(std::size_t n) {
    if (out_.size() - used_ >= n) return;
    out_.resize(std::max(out_.size() * 2, used_ + n + 64));
  }

  bytes& out_;
  std::size_t used_;
};

/// Reads from a byte view. After the first failure every read fails and `failure()` says why.
class byte_reader {
public:
  /// Reads a payload written in format `version` (see codec_version).
  explicit byte_reader(bytes_view in, std::uint8_t version = codec_version)
      : pos_(in.data()), end_(in.data() + in.size()), version_(version) {}

  /// The payload format being read.
  std::uint8_t version() const { return version_; }

  std::size_t remaining() const { return static_cast<std::size_t>(end_ - pos_); }
  bool at_end() const { return pos_ == end_; }
  bool ok() const { return failure_.empty(); }
  const std::string& failure() const { return failure_; }

  /// Marks the reader failed; returns false so callers can `return r.fail("...")`.
  bool fail(std::string why) {
    if (failure_.empty()) failure_ = std::move(why);
    pos_ = end_;
    return false;
  }

  bool u8(std::uint8_t& x) {
    if (pos_ == end_) return fail("unexpected end of payload");
    x = static_cast<std::uint8_t>(*pos_++);
    return true;
  }

  bool varint(std::uint64_t& x) {
    x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ == end_) return fail("unexpected end of payload in a varint");
      auto byte = static_cast<std::uint8_t>(*pos_++);
      if (shift == 63 && byte > 1) return fail("varint overflows 64 bits");
      x |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        if (byte == 0 && shift > 0) return fail("varint is not in its shortest form");
        return true;
      }
    }
    return fail("varint longer than 10 bytes");
  }

  bool svarint(std::int64_t& x) {
    std::uint64_t u = 0;
    if (!varint(u)) return false;
    x = static_cast<std::int64_t>((u >> 1) ^ (~(u & 1) + 1));
    return true;
  }

  bool fixed32(std::uint32_t& x) {
    if (remaining() < 4) return fail("unexpected end of payload");
    x = 0;
    for (int i = 0; i < 4; ++i) x |= static_cast<std::uint32_t>(static_cast<std::uint8_t>(pos_[i])) << (8 * i);
    pos_ += 4;
    return true;
  }

  bool fixed64(std::uint64_t& x) {
    if (remaining() < 8) return fail("unexpected end of payload");
    x = 0;
    for (int i = 0; i < 8; ++i) x |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(pos_[i])) << (8 * i);
    pos_ += 8;
    return true;
  }

  bool raw(std::size_t n, bytes_view& x) {
    if (remaining() < n) return fail("unexpected end of payload");
    x = bytes_view(pos_, n);
    pos_ += n;
    return true;
  }

  bool str(std::string& x) {
    std::uint64_t n = 0;
    bytes_view v;
    if (!varint(n)) return false;
    if (n > remaining()) return fail("string length exceeds the payload");
    raw(static_cast<std::size_t>(n), v);
    x.assign(v.data(), v.size());
    return true;
  }

  /// A count of items that each take at least `min_item_bytes` bytes of what is left.
  bool count(std::uint64_t& n, std::size_t min_item_bytes = 1) {
    if (!varint(n)) return false;
    if (min_item_bytes > 0 && n > remaining() / min_item_bytes)
      return fail("item count " + std::to_string(n) + " exceeds what the payload can hold");
    return true;
  }

private:
  const char* pos_;
  const char* end_;
  std::uint8_t version_;
  std::string failure_;
};

/// How an element type is written inside a CRDT payload. Specialised for the supported element
/// types; CRDT types themselves are valid elements (for ormap values) through `crdt_traits`.
template <class T, class = void>
struct value_codec;

template <>
struct value_codec<std::string> {
  static std::string name() { return "string"; }
  static void write(byte_writer& w, const std::string& x) { w.str(x); }
  static bool read(byte_reader& r, std::string& x) { return r.str(x); }
};

template <>
struct value_codec<bool> {
  static std::string name() { return "bool"; }
  static void write(byte_writer& w, bool x) { w.u8(x ? 1 : 0); }
  static bool read(byte_reader& r, bool& x) {
    std::uint8_t b = 0;
    if (!r.u8(b)) return false;
    if (b > 1) return r.fail("bool byte is neither 0 nor 1");
    x = b == 1;
    return true;
  }
};

template <class T>
struct value_codec<T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>> {
  static std::string name() { return (std::is_signed_v<T> ? "i" : "u") + std::to_string(8 * sizeof(T)); }
  static void write(byte_writer& w, T x) {
    if constexpr (std::is_signed_v<T>)
      w.svarint(x);
    else
      w.varint(x);
  }
  static bool read(byte_reader& r, T& x) {
    if constexpr (std::is_signed_v<T>) {
      std::int64_t v = 0;
      if (!r.svarint(v)) return false;
      if constexpr (sizeof(T) < sizeof(std::int64_t)) {
        if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max())
          return r.fail("integer out of range for " + name());
      }
      x = static_cast<T>(v);
    } else {
      std::uint64_t v = 0;
      if (!r.varint(v)) return false;
      if constexpr (sizeof(T) < sizeof(std::uint64_t)) {
        if (v > std::numeric_limits<T>::max()) return r.fail("integer out of range for " + name());
      }
      x = static_cast<T>(v);
    }
    return true;
  }
};

template <>
struct value_codec<double> {
  static std::string name() { return "f64"; }
  static void write(byte_writer& w, double x) {
    std::uint64_t u;
    std::memcpy(&u, &x, sizeof u);
    w.fixed64(u);
  }
  static bool read(byte_reader& r, double& x) {
    std::uint64_t u = 0;
    if (!r.fixed64(u)) return false;
    std::memcpy(&x, &u, sizeof u);
    return true;
  }
};

}  // namespace crdt
}  // namespace grove
