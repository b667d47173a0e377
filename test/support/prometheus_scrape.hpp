// Scraping a Prometheus endpoint in a test: GET over a plain TCP socket (HTTP/1.0, so the server
// closes the connection after the answer), and a parser of the text format's samples.
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace grove::testing {

/// One sample line: `name{label="value",...} number`.
struct prometheus_sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

/// The body of GET `path` from 127.0.0.1:`port`; throws when there is no HTTP 200 within 10 s.
inline std::string http_get(std::uint16_t port, const std::string& path = "/metrics") {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot connect to port " + std::to_string(port));
  }
  std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  (void)::write(fd, request.data(), request.size());
  std::string response;
  char chunk[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0) break;
    auto n = ::read(fd, chunk, sizeof chunk);
    if (n <= 0) break;
    response.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(fd);
  auto body = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.1 200", 0) != 0 && response.rfind("HTTP/1.0 200", 0) != 0)
    throw std::runtime_error("no HTTP 200: " + response.substr(0, 64));
  return body == std::string::npos ? std::string() : response.substr(body + 4);
}

/// The samples of a text-format exposition (comments skipped). Throws on a line it cannot read.
inline std::vector<prometheus_sample> parse_prometheus(const std::string& text) {
  std::vector<prometheus_sample> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    auto line = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    start = end == std::string::npos ? text.size() : end + 1;
    if (line.empty() || line[0] == '#') continue;
    prometheus_sample s;
    auto name_end = line.find_first_of("{ ");
    s.name = line.substr(0, name_end);
    auto rest = name_end;
    if (line[name_end] == '{') {
      auto close = line.find('}', name_end);
      if (close == std::string::npos) throw std::runtime_error("unclosed labels: " + line);
      auto labels = line.substr(name_end + 1, close - name_end - 1);
      for (std::size_t i = 0; i < labels.size();) {
        auto eq = labels.find("=\"", i);
        auto quote = labels.find('"', eq + 2);
        if (eq == std::string::npos || quote == std::string::npos) throw std::runtime_error("bad labels: " + line);
        s.labels[labels.substr(i, eq - i)] = labels.substr(eq + 2, quote - eq - 2);
        i = quote + 1;
        if (i < labels.size() && labels[i] == ',') ++i;
      }
      rest = close + 1;
    }
    auto value = line.substr(line.find_first_not_of(' ', rest));
    value = value.substr(0, value.find(' '));  // a timestamp may follow
    s.value = value == "+Inf" ? 1e308 : (value == "Nan" || value == "NaN") ? 0 : std::stod(value);
    out.push_back(std::move(s));
  }
  return out;
}

/// The value of the sample `name` with exactly `labels`, if there is one.
inline std::optional<double> sample_value(const std::vector<prometheus_sample>& samples, const std::string& name,
                                          const std::map<std::string, std::string>& labels = {}) {
  for (const auto& s : samples)
    if (s.name == name && s.labels == labels) return s.value;
  return std::nullopt;
}

}  // namespace grove::testing
