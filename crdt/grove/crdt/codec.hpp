// The codec: `encode(x)` and `decode<T>(bytes)`. Independent of CAF's serializer so that stored
// files and wire payloads stay the same when CAF changes.
//
// Envelope (all integers little-endian):
//   magic "GROV" | version u8 (codec_version, binary.hpp) | flags u8 (bit 0: zstd) | type-name length u8 | type name |
//   payload length u64 | [decompressed length u64, if compressed] | payload | xxh3-64 checksum u64
// The checksum covers every byte before it. The payload is the type's deterministic state
// encoding (equal states give equal bytes), compressed with zstd when it is larger than
// `compress_threshold`.
//
// Decode checks, in order: magic, version (oldest_codec_version..codec_version), flags, that the lengths match the
// input exactly, the checksum, the type name, then parses the payload. It never allocates more than the input (or, for
// compressed input, `max_decoded_size`) allows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "grove/crdt/binary.hpp"
#include "grove/crdt/causal_context.hpp"
#include "grove/crdt/crdt_traits.hpp"
#include "grove/crdt/error.hpp"

namespace grove::crdt {

struct codec_options {
  /// Compress payloads larger than `compress_threshold` bytes with zstd.
  bool compress = true;
  std::size_t compress_threshold = 64 * 1024;
  /// zstd level: 1 is the fastest standard level (measured in bench/codec_bench).
  int compression_level = 1;
  /// Largest payload decode accepts (guards decompression of hostile input).
  std::size_t max_decoded_size = std::size_t{1} << 30;
};

/// What the envelope says about an encoded value (for tools such as grove-inspect).
struct envelope_info {
  std::uint8_t version = 0;
  std::string type_name;
  bool compressed = false;
  std::size_t stored_payload_size = 0;  // as stored (compressed or not)
  std::size_t payload_size = 0;         // after decompression
};

namespace detail {

/// Starts an envelope in `out` (cleared) and returns the offset where the payload begins.
std::size_t begin_envelope(bytes& out, std::string_view type_name);
/// Finishes the envelope whose payload was written from `payload_at` to the end of `out`.
void finish_envelope(bytes& out, std::size_t payload_at, const codec_options& opts);
/// A verified payload and the format version it is written in.
struct opened_payload {
  bytes_view payload;
  std::uint8_t version = codec_version;
};
/// Verifies an envelope of type `type_name` and returns its payload (decompressed into
/// `scratch` when needed).
expected<opened_payload> open_envelope(bytes_view in, std::string_view type_name, bytes& scratch,
                                       const codec_options& opts);

}  // namespace detail

/// Reads and verifies the envelope (magic, version, lengths, checksum) without parsing the payload.
expected<envelope_info> read_envelope(bytes_view in);

/// Encodes `x` in the envelope.
template <class T>
bytes encode(const T& x, const codec_options& opts = {}) {
  static_assert(is_crdt_v<T>, "encode needs a Grove CRDT type");
  bytes out;
  auto payload_at = detail::begin_envelope(out, T::type_name());
  {
    byte_writer w(out);
    x.write_state(w);
  }
  detail::finish_envelope(out, payload_at, opts);
  return out;
}

/// Decodes a value of type T, owned by `owner` (merge it into a replica's state, or pass the
/// replica id here). Errors: truncated, bad_magic, unsupported_version, checksum_mismatch,
/// type_mismatch (naming both types), malformed, too_large, compression_failed.
template <class T>
expected<T> decode(bytes_view in, replica_id owner = {}, const codec_options& opts = {}) {
  static_assert(is_crdt_v<T>, "decode needs a Grove CRDT type");
  bytes scratch;
  auto payload = detail::open_envelope(in, T::type_name(), scratch, opts);
  if (!payload) return payload.error();
  T x(std::move(owner));
  byte_reader r(payload->payload, payload->version);
  if (!x.read_state(r)) return error(errc::malformed, T::type_name() + ": " + r.failure());
  if (!r.at_end()) return error(errc::malformed, T::type_name() + ": trailing bytes after the state");
  return x;
}

}  // namespace grove::crdt
