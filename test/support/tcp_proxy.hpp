// A TCP proxy on 127.0.0.1 for partition tests (CAF 0.17 has no call to cut a connection): it
// forwards every connection made to port() to a target port, and can cut the link (close every
// forwarded connection, and close each new one as soon as it is accepted) until heal() is called.
// One thread with poll(); loopback only; stops with the object.
#pragma once

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace grove::testing {

class tcp_proxy {
public:
  explicit tcp_proxy(std::uint16_t target) : target_(target) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr = loopback(0);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener_, 64) != 0)
      throw std::runtime_error("tcp_proxy: cannot listen");
    socklen_t size = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &size);
    port_ = ntohs(addr.sin_port);
    if (::pipe2(wake_, O_CLOEXEC) != 0) throw std::runtime_error("tcp_proxy: no pipe");
    thread_ = std::thread([this] { run(); });
  }

  ~tcp_proxy() {
    stopping_ = true;
    wake();
    thread_.join();
    for (auto& [fd, peer] : peers_) ::close(fd);
    ::close(listener_);
    ::close(wake_[0]);
    ::close(wake_[1]);
  }

  tcp_proxy(const tcp_proxy&) = delete;
  tcp_proxy& operator=(const tcp_proxy&) = delete;

  std::uint16_t port() const { return port_; }

  /// Closes every forwarded connection and refuses new ones until heal().
  void cut() {
    cut_ = true;
    wake();
  }
  void heal() {
    cut_ = false;
    wake();
  }

private:
  static sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
  }

  void wake() {
    char c = 1;
    (void)::write(wake_[1], &c, 1);
  }

  void close_pair(int fd) {
    auto it = peers_.find(fd);
    if (it == peers_.end()) return;
    int other = it->second;
    peers_.erase(fd);
    peers_.erase(other);
    ::close(fd);
    ::close(other);
  }

  void accept_one() {
    int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) return;
    if (cut_) {
      ::close(client);
      return;
    }
    int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = loopback(target_);
    if (::connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(server);
      ::close(client);
      return;
    }
    peers_[client] = server;
    peers_[server] = client;
  }

  // Moves what `fd` has to its peer; false when the connection ended.
  bool forward(int fd) {
    char buffer[64 * 1024];
    auto n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) return false;
    for (ssize_t done = 0; done < n;) {
      // MSG_NOSIGNAL: a peer that closed must end the pair, not kill the test with SIGPIPE.
      auto w = ::send(peers_[fd], buffer + done, static_cast<std::size_t>(n - done), MSG_NOSIGNAL);
      if (w <= 0) return false;
      done += w;
    }
    return true;
  }

  void run() {
    while (!stopping_) {
      if (cut_)
        while (!peers_.empty()) close_pair(peers_.begin()->first);
      std::vector<pollfd> fds{{wake_[0], POLLIN, 0}, {listener_, POLLIN, 0}};
      for (auto& [fd, peer] : peers_) fds.push_back({fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) return;
      if (fds[0].revents) {
        char drain[64];
        (void)::read(wake_[0], drain, sizeof drain);
      }
      if (fds[1].revents) accept_one();
      for (std::size_t i = 2; i < fds.size(); ++i)
        if (fds[i].revents && peers_.count(fds[i].fd) && !forward(fds[i].fd)) close_pair(fds[i].fd);
    }
  }

  std::uint16_t target_;
  std::uint16_t port_ = 0;
  int listener_ = -1;
  int wake_[2] = {-1, -1};
  std::map<int, int> peers_;  // fd -> the fd it forwards to
  std::atomic<bool> cut_{false};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace grove::testing
