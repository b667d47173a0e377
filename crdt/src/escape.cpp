#include "grove/crdt/escape.hpp"

#include <algorithm>

namespace grove {

namespace {

// Length of the valid UTF-8 sequence starting at bytes[i], or 0 if none starts there.
std::size_t utf8_sequence_length(std::string_view bytes, std::size_t i) noexcept {
  auto at = [&](std::size_t k) { return static_cast<unsigned char>(bytes[k]); };
  auto lead = at(i);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xbf;  // allowed range of the second byte
  if (lead >= 0xc2 && lead <= 0xdf)
    length = 2;
  else if (lead == 0xe0)
    length = 3, low = 0xa0;  // no overlong 3-byte forms
  else if (lead >= 0xe1 && lead <= 0xec)
    length = 3;
  else if (lead == 0xed)
    length = 3, high = 0x9f;  // no surrogates
  else if (lead >= 0xee && lead <= 0xef)
    length = 3;
  else if (lead == 0xf0)
    length = 4, low = 0x90;  // no overlong 4-byte forms
  else if (lead >= 0xf1 && lead <= 0xf3)
    length = 4;
  else if (lead == 0xf4)
    length = 4, high = 0x8f;  // nothing above U+10FFFF
  else
    return 0;
  if (i + length > bytes.size()) return 0;
  if (at(i + 1) < low || at(i + 1) > high) return 0;
  for (std::size_t k = 2; k < length; ++k)
    if (at(i + k) < 0x80 || at(i + k) > 0xbf) return 0;
  return length;
}

bool is_control(std::string_view bytes, std::size_t i, std::size_t length) {
  auto lead = static_cast<unsigned char>(bytes[i]);
  if (length == 1) return lead < 0x20 || lead == 0x7f;
  return length == 2 && lead == 0xc2 && static_cast<unsigned char>(bytes[i + 1]) < 0xa0;  // C1
}

void append_hex_escape(std::string& out, unsigned char byte) {
  static constexpr char digits[] = "0123456789abcdef";
  out += "\\x";
  out += digits[byte >> 4];
  out += digits[byte & 0xf];
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool is_valid_utf8(std::string_view bytes) noexcept {
  for (std::size_t i = 0; i < bytes.size();) {
    auto length = utf8_sequence_length(bytes, i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

std::string escape_bytes(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (std::size_t i = 0; i < bytes.size();) {
    auto length = utf8_sequence_length(bytes, i);
    if (length == 0 || is_control(bytes, i, length)) {
      for (std::size_t k = 0; k < std::max<std::size_t>(length, 1); ++k)
        append_hex_escape(out, static_cast<unsigned char>(bytes[i + k]));
      i += std::max<std::size_t>(length, 1);
    } else if (bytes[i] == '\\') {
      out += "\\\\";
      ++i;
    } else {
      out.append(bytes.substr(i, length));
      i += length;
    }
  }
  return out;
}

expected<std::string> unescape_bytes(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '\\') {
      out += '\\';
      ++i;
      continue;
    }
    int high = i + 3 < text.size() && text[i + 1] == 'x' ? hex_value(text[i + 2]) : -1;
    int low = high >= 0 ? hex_value(text[i + 3]) : -1;
    if (low < 0)
      return error(errc::invalid_argument, "a backslash must start \\\\ or \\xHH (at byte " + std::to_string(i) + ")");
    out += static_cast<char>(high * 16 + low);
    i += 3;
  }
  return out;
}

std::string quote_input(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) return "'" + escape_bytes(text) + "'";
  return "'" + escape_bytes(text.substr(0, limit)) + "'... (" + std::to_string(text.size()) + " bytes)";
}

}  // namespace grove
