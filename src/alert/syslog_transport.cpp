// Syslog transport: RFC 5424 lines to a local datagram socket, or to a collector over UDP (one
// datagram per message, RFC 5426) or TCP (octet-counting framing, RFC 6587).
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "alert/transport.hpp"
#include "core/unique_fd.hpp"

namespace picket::alert {
namespace {

// Longer messages are cut: collectors commonly accept 8 KiB and a datagram must fit in one send.
constexpr size_t kMaxMessage = 8192;

std::string errno_text(std::string_view what) {
  return fmt::format("{}: {}", what, std::strerror(errno));
}

using Clock = std::chrono::steady_clock;

// Waits for `events` on fd until the deadline, in slices so `abort` is seen within 100 ms.
core::Result<void> wait_fd(int fd, short events, Clock::time_point deadline, const std::atomic<bool>& abort) {
  for (;;) {
    if (abort.load(std::memory_order_relaxed)) return core::make_error("aborted at shutdown");
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return core::make_error("timed out");
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 100)));
    if (rc < 0 && errno != EINTR) return core::make_error(errno_text("poll"));
    if (rc > 0) return {};
  }
}

class SyslogTransport final : public Transport {
 public:
  SyslogTransport(const SyslogSettings& s, const Origin& origin) : s_(s), origin_(origin) {
    fmt_.facility = s.facility;
    fmt_.app_name = s.app_name;
  }

  std::string render(const output::Event& e) override { return cut(syslog_line(e, fmt_, origin_)); }
  std::string render(const Digest& g) override { return cut(syslog_line(g, fmt_, origin_)); }

  core::Result<void> deliver(const std::string& payload, const std::atomic<bool>& abort) override {
    auto deadline = Clock::now() + std::chrono::nanoseconds(s_.limits.timeout.ns);
    switch (s_.target.kind) {
      case SyslogTransportKind::unix_datagram:
        return send_unix(payload, deadline, abort);
      case SyslogTransportKind::udp:
        return send_udp(payload, deadline, abort);
      case SyslogTransportKind::tcp:
        return send_tcp(payload, deadline, abort);
    }
    return core::make_error("unknown syslog transport");
  }

  std::string describe() const override {
    switch (s_.target.kind) {
      case SyslogTransportKind::unix_datagram:
        return "unix:" + s_.target.path;
      case SyslogTransportKind::udp:
        return fmt::format("udp:{}:{}", s_.target.host, s_.target.port);
      case SyslogTransportKind::tcp:
        return fmt::format("tcp:{}:{}", s_.target.host, s_.target.port);
    }
    return "?";
  }

 private:
  static std::string cut(std::string line) {
    if (line.size() > kMaxMessage) line.resize(kMaxMessage);
    return line;
  }

  // Not connected: each send names the path, so a restarted syslog daemon (new socket) is found.
  core::Result<void> send_unix(const std::string& payload, Clock::time_point deadline, const std::atomic<bool>& abort) {
    if (!fd_.valid()) {
      fd_ = core::UniqueFd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
      if (!fd_.valid()) return core::make_error(errno_text("socket"));
    }
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, s_.target.path.data(), std::min(s_.target.path.size(), sizeof(addr.sun_path) - 1));
    for (;;) {
      ssize_t n = ::sendto(fd_.get(), payload.data(), payload.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr),
                           sizeof(addr));
      if (n >= 0) return {};
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return core::make_error(errno_text("send to " + s_.target.path));
      if (auto w = wait_fd(fd_.get(), POLLOUT, deadline, abort); !w) return w;
    }
  }

  core::Result<void> resolve_and_connect(int type, Clock::time_point deadline, const std::atomic<bool>& abort) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = type;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* res = nullptr;
    std::string port = std::to_string(s_.target.port);
    int rc = ::getaddrinfo(s_.target.host.c_str(), port.c_str(), &hints, &res);
    if (rc != 0) return core::make_error(fmt::format("cannot resolve {}: {}", s_.target.host, gai_strerror(rc)));
    std::string last = "no address";
    for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
      core::UniqueFd fd(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol));
      if (!fd.valid()) {
        last = errno_text("socket");
        continue;
      }
      if (::connect(fd.get(), a->ai_addr, a->ai_addrlen) != 0) {
        if (errno != EINPROGRESS) {
          last = errno_text("connect");
          continue;
        }
        if (auto w = wait_fd(fd.get(), POLLOUT, deadline, abort); !w) {
          last = "connect: " + w.error().message;
          continue;
        }
        int err = 0;
        socklen_t len = sizeof(err);
        ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          last = fmt::format("connect: {}", std::strerror(err));
          continue;
        }
      }
      ::freeaddrinfo(res);
      fd_ = std::move(fd);
      return {};
    }
    ::freeaddrinfo(res);
    return core::make_error(fmt::format("{} ({})", last, describe()));
  }

  core::Result<void> send_all(std::string_view data, Clock::time_point deadline, const std::atomic<bool>& abort) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
      if (n >= 0) {
        data.remove_prefix(static_cast<size_t>(n));
        continue;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return core::make_error(errno_text("send to " + describe()));
      if (auto w = wait_fd(fd_.get(), POLLOUT, deadline, abort); !w) return w;
    }
    return {};
  }

  // Connected, so an ICMP port unreachable from a previous datagram surfaces as ECONNREFUSED.
  core::Result<void> send_udp(const std::string& payload, Clock::time_point deadline, const std::atomic<bool>& abort) {
    if (!fd_.valid()) {
      if (auto r = resolve_and_connect(SOCK_DGRAM, deadline, abort); !r) return r;
    }
    auto r = send_all(payload, deadline, abort);
    if (!r) fd_.reset();  // re-resolve on the next attempt
    return r;
  }

  core::Result<void> send_tcp(const std::string& payload, Clock::time_point deadline, const std::atomic<bool>& abort) {
    if (fd_.valid() && peer_closed()) fd_.reset();
    if (!fd_.valid()) {
      if (auto r = resolve_and_connect(SOCK_STREAM, deadline, abort); !r) return r;
    }
    std::string framed = fmt::format("{} ", payload.size()) + payload;  // RFC 6587 octet counting
    auto r = send_all(framed, deadline, abort);
    // A partly written frame would corrupt the stream: start over on a new connection.
    if (!r) fd_.reset();
    return r;
  }

  bool peer_closed() {
    char b;
    ssize_t n = ::recv(fd_.get(), &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }

  SyslogSettings s_;
  Origin origin_;
  SyslogFormat fmt_;
  core::UniqueFd fd_;
};

}  // namespace

std::unique_ptr<Transport> make_syslog_transport(const SyslogSettings& s, const Origin& origin) {
  return std::make_unique<SyslogTransport>(s, origin);
}

}  // namespace picket::alert
