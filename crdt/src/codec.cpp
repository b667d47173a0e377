#include "grove/crdt/codec.hpp"
#include "grove/crdt/escape.hpp"

#include <cstring>
#include <stdexcept>

#define XXH_INLINE_ALL
#include <xxhash.h>
#include <zstd.h>

namespace grove::crdt {
namespace {

constexpr char magic[4] = {'G', 'R', 'O', 'V'};
constexpr std::uint8_t flag_zstd = 1;
constexpr std::uint8_t known_flags = flag_zstd;
constexpr std::size_t checksum_size = 8;
// magic, version, flags, name length, payload length.
constexpr std::size_t min_header = 4 + 1 + 1 + 1 + 8;

void put64(char* at, std::uint64_t x) {
  for (int i = 0; i < 8; ++i) at[i] = static_cast<char>(x >> (8 * i));
}

std::uint64_t get64(const char* at) {
  std::uint64_t x = 0;
  for (int i = 0; i < 8; ++i) x |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(at[i])) << (8 * i);
  return x;
}

std::uint64_t checksum(const char* data, std::size_t size) { return XXH3_64bits(data, size); }

struct parsed_envelope {
  envelope_info info;
  bytes_view payload;  // as stored
};

expected<parsed_envelope> parse(bytes_view in) {
  if (in.size() >= 4 && std::memcmp(in.data(), magic, 4) != 0)
    return error(errc::bad_magic, "not a Grove encoding (bad magic)");
  if (in.size() < min_header + checksum_size)
    return error(errc::truncated, "encoding of " + std::to_string(in.size()) + " bytes is shorter than its header");
  parsed_envelope out;
  out.info.version = static_cast<std::uint8_t>(in[4]);
  if (out.info.version < oldest_codec_version || out.info.version > codec_version)
    return error(errc::unsupported_version, "format version " + std::to_string(out.info.version)
                                              + " (this build reads versions " + std::to_string(oldest_codec_version)
                                              + " to " + std::to_string(codec_version) + ")");
  auto flags = static_cast<std::uint8_t>(in[5]);
  if ((flags & ~known_flags) != 0) return error(errc::malformed, "unknown flags " + std::to_string(flags));
  out.info.compressed = (flags & flag_zstd) != 0;
  std::size_t name_size = static_cast<std::uint8_t>(in[6]);
  std::size_t header = min_header + name_size + (out.info.compressed ? 8 : 0);
  if (in.size() < header + checksum_size) return error(errc::truncated, "encoding ends inside its header");
  out.info.type_name.assign(in.data() + 7, name_size);
  std::uint64_t stored = get64(in.data() + 7 + name_size);
  std::uint64_t available = in.size() - header - checksum_size;
  if (stored > available)
    return error(errc::truncated, "payload length " + std::to_string(stored) + " but only " + std::to_string(available)
                                    + " bytes follow");
  if (stored < available)
    return error(errc::malformed, std::to_string(available - stored) + " bytes after the checksum");
  std::size_t body = header + static_cast<std::size_t>(stored);
  if (get64(in.data() + body) != checksum(in.data(), body))
    return error(errc::checksum_mismatch,
                 "checksum mismatch: the encoded " + quote_input(out.info.type_name) + " value is damaged");
  out.info.stored_payload_size = static_cast<std::size_t>(stored);
  out.info.payload_size = out.info.stored_payload_size;
  if (out.info.compressed) out.info.payload_size = static_cast<std::size_t>(get64(in.data() + header - 8));
  out.payload = in.substr(header, static_cast<std::size_t>(stored));
  return out;
}

}  // namespace

namespace detail {

std::size_t begin_envelope(bytes& out, std::string_view type_name) {
  // Type names are fixed strings of the library's types; a longer one is a programming error.
  if (type_name.size() > 255) throw std::length_error("Grove type name longer than 255 bytes");
  out.clear();
  out.append(magic, 4);
  out.push_back(static_cast<char>(codec_version));
  out.push_back(0);  // flags, set by finish_envelope
  out.push_back(static_cast<char>(type_name.size()));
  out.append(type_name.data(), type_name.size());
  out.append(8, '\0');  // payload length, patched by finish_envelope
  return out.size();
}

void finish_envelope(bytes& out, std::size_t payload_at, const codec_options& opts) {
  const std::size_t length_at = payload_at - 8;
  std::size_t payload_size = out.size() - payload_at;
  if (opts.compress && payload_size > opts.compress_threshold) {
    bytes packed(ZSTD_compressBound(payload_size), '\0');
    std::size_t n =
      ZSTD_compress(packed.data(), packed.size(), out.data() + payload_at, payload_size, opts.compression_level);
    // Keep the plain payload when zstd fails or does not pay for the extra length field.
    if (!ZSTD_isError(n) && n + 8 < payload_size) {
      out[5] = static_cast<char>(flag_zstd);
      out.resize(payload_at + 8);
      put64(out.data() + payload_at, payload_size);  // decompressed length
      out.append(packed.data(), n);
      payload_size = n;
    }
  }
  put64(out.data() + length_at, payload_size);
  std::uint64_t sum = checksum(out.data(), out.size());
  out.append(8, '\0');
  put64(out.data() + out.size() - 8, sum);
}

expected<opened_payload> open_envelope(bytes_view in, std::string_view type_name, bytes& scratch,
                                       const codec_options& opts) {
  auto env = parse(in);
  if (!env) return env.error();
  if (env->info.type_name != type_name)
    return error(errc::type_mismatch,
                 "expected a " + std::string(type_name) + " but the value is a " + quote_input(env->info.type_name));
  if (!env->info.compressed) return opened_payload{env->payload, env->info.version};
  std::size_t size = env->info.payload_size;
  if (size > opts.max_decoded_size)
    return error(errc::too_large, "decompressed size " + std::to_string(size) + " exceeds the limit of "
                                    + std::to_string(opts.max_decoded_size) + " bytes");
  auto frame_size = ZSTD_getFrameContentSize(env->payload.data(), env->payload.size());
  if (frame_size != size) return error(errc::compression_failed, "compressed frame size does not match the envelope");
  scratch.resize(size);
  std::size_t n = ZSTD_decompress(scratch.data(), size, env->payload.data(), env->payload.size());
  if (ZSTD_isError(n) || n != size)
    return error(errc::compression_failed,
                 std::string("zstd: ") + (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short output"));
  return opened_payload{bytes_view(scratch), env->info.version};
}

}  // namespace detail

expected<envelope_info> read_envelope(bytes_view in) {
  auto env = parse(in);
  if (!env) return env.error();
  return env->info;
}

}  // namespace grove::crdt
