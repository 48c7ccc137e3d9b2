// MetricsServer: one poll() thread, non-blocking sockets, a deadline per client.
#include "metrics/server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <list>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/ip_address.hpp"
#include "core/unique_fd.hpp"

namespace picket::metrics {

namespace {

using Clock = std::chrono::steady_clock;

// After the response, unread request bytes (a body, the tail of an oversized head) are read and
// thrown away for this long before closing: closing with unread data makes the kernel send a
// reset, and the client may then lose the response it has not read yet.
constexpr std::chrono::milliseconds kLinger{500};
// With no free descriptor the listener stays readable; wait this long before accepting again.
constexpr std::chrono::milliseconds kAcceptPause{100};

struct Response {
  int code = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

std::string_view reason_phrase(int code) {
  switch (code) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Error";
  }
}

std::string serialize(const Response& r) {
  std::string out = fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n", r.code,
                                reason_phrase(r.code), r.content_type, r.body.size());
  if (r.code == 405) out += "Allow: GET\r\n";
  out += "Cache-Control: no-store\r\nConnection: close\r\n\r\n";
  out += r.body;
  return out;
}

Response text(int code, std::string body) {
  return Response{code, "text/plain; charset=utf-8", std::move(body)};
}

// RFC 9110 token characters (method names, header field names).
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

// The route of a complete request head (without its final blank line), and whether it was bad.
Response route(std::string_view head, const std::shared_ptr<const Snapshot>& snap, bool& bad) {
  bad = true;
  const size_t eol = head.find("\r\n");
  const std::string_view line = head.substr(0, eol);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return text(400, "bad request line\n");
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method) || method.size() > 16) return text(400, "bad method\n");
  if (target.empty() || target[0] != '/' ||
      !std::all_of(target.begin(), target.end(), [](char c) { return c > 0x20 && c < 0x7f; })) {
    return text(400, "bad request target\n");
  }
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      !std::isdigit(static_cast<unsigned char>(version[5])) || !std::isdigit(static_cast<unsigned char>(version[7]))) {
    return text(400, "bad HTTP version\n");
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return text(505, "only HTTP/1.0 and HTTP/1.1\n");
  // Header lines: "name: value", no bare CR or LF, no obsolete line folding.
  if (eol != std::string_view::npos) {
    std::string_view rest = head.substr(eol + 2);
    while (!rest.empty()) {
      const size_t e = rest.find("\r\n");
      const std::string_view h = rest.substr(0, e);
      const size_t colon = h.find(':');
      if (colon == std::string_view::npos || !is_token(h.substr(0, colon)) ||
          h.find_first_of("\r\n") != std::string_view::npos) {
        return text(400, "bad header line\n");
      }
      rest = e == std::string_view::npos ? std::string_view() : rest.substr(e + 2);
    }
  }
  if (method != "GET") return text(405, "only GET\n");
  bad = false;
  const std::string_view path = target.substr(0, target.find('?'));
  if (path != "/metrics" && path != "/healthz") return text(404, "not found: try /metrics or /healthz\n");
  if (!snap) return text(503, "no snapshot yet: picket is starting\n");
  if (path == "/healthz") {
    HealthReply h = health_reply(*snap);
    return text(h.code, std::move(h.body));
  }
  return Response{200, kPrometheusContentType, render_prometheus(*snap)};
}

enum class Phase { reading, writing, lingering };

struct Client {
  core::UniqueFd fd;
  Phase phase = Phase::reading;
  std::string in;
  std::string out;
  size_t sent = 0;
  Clock::time_point deadline;
};

std::string errno_text(int err) {
  return std::strerror(err);
}

}  // namespace

struct MetricsServer::Impl {
  ServerLimits limits;
  core::UniqueFd listener;
  core::UniqueFd wake;  // eventfd: the destructor's stop signal
  uint16_t port = 0;
  std::thread thread;

  mutable std::mutex mu;  // guards snapshot and stats
  std::shared_ptr<const Snapshot> snapshot;
  ServerStats stats;

  // Thread-owned.
  std::list<Client> clients;
  Clock::time_point accept_paused_until{};

  void run();
  void accept_all(Clock::time_point now);
  void on_readable(Client& c, Clock::time_point now);
  void on_writable(Client& c, Clock::time_point now);
  void respond(Client& c, const Response& r, bool bad, Clock::time_point now);
  void count(uint64_t ServerStats::*field) {
    std::lock_guard lock(mu);
    ++(stats.*field);
  }
};

void MetricsServer::Impl::run() {
  std::vector<pollfd> pfds;
  std::vector<Client*> order;
  for (;;) {
    const auto now = Clock::now();
    pfds.clear();
    order.clear();
    pfds.push_back({wake.get(), POLLIN, 0});
    const bool accepting = now >= accept_paused_until;
    pfds.push_back({listener.get(), static_cast<short>(accepting ? POLLIN : 0), 0});
    auto next = now + std::chrono::seconds(1);
    if (!accepting) next = std::min(next, accept_paused_until);
    for (auto& c : clients) {
      pfds.push_back({c.fd.get(), static_cast<short>(c.phase == Phase::writing ? POLLOUT : POLLIN), 0});
      order.push_back(&c);
      next = std::min(next, c.deadline);
    }
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count();
    const int rc = ::poll(pfds.data(), pfds.size(), static_cast<int>(std::max<int64_t>(wait, 0) + 1));
    if (rc < 0 && errno != EINTR) return;  // EFAULT/EINVAL/ENOMEM: nothing sensible left to do
    if (pfds[0].revents & POLLIN) return;
    const auto t = Clock::now();
    for (size_t i = 0; i < order.size(); ++i) {
      Client& c = *order[i];
      const short ev = pfds[i + 2].revents;
      try {
        if (c.phase == Phase::writing && (ev & (POLLOUT | POLLERR | POLLHUP)))
          on_writable(c, t);
        else if (c.phase != Phase::writing && (ev & (POLLIN | POLLERR | POLLHUP)))
          on_readable(c, t);
      } catch (const std::exception&) {
        c.fd.reset();  // out of memory while rendering or buffering: drop this client, keep serving
      }
    }
    if (accepting && (pfds[1].revents & POLLIN)) {
      try {
        accept_all(t);
      } catch (const std::exception&) {
        accept_paused_until = t + kAcceptPause;  // out of memory: try again shortly
      }
    }
    // Deadlines: a client that has not finished its exchange in time is closed.
    for (auto it = clients.begin(); it != clients.end();) {
      if (it->fd.valid() && t >= it->deadline) {
        if (it->phase != Phase::lingering) count(&ServerStats::timeouts);
        it->fd.reset();
      }
      it = it->fd.valid() ? std::next(it) : clients.erase(it);
    }
  }
}

void MetricsServer::Impl::accept_all(Clock::time_point now) {
  for (;;) {
    const int fd = ::accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        accept_paused_until = now + kAcceptPause;
      }
      return;  // EAGAIN, or an error that the next round may not have
    }
    core::UniqueFd owned(fd);
    if (clients.size() >= limits.max_clients) {
      static constexpr std::string_view kBusy =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\nConnection: close\r\n\r\nbusy\n";
      [[maybe_unused]] ssize_t n = ::send(fd, kBusy.data(), kBusy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      ::shutdown(fd, SHUT_WR);
      // Read what already arrived, so closing does not reset the connection over the answer.
      char sink[4096];
      for (int i = 0; i < 16 && ::recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0; ++i) {
      }
      count(&ServerStats::refused);
      continue;
    }
    Client c;
    c.fd = std::move(owned);
    c.deadline = now + limits.timeout;
    clients.push_back(std::move(c));
  }
}

void MetricsServer::Impl::on_readable(Client& c, Clock::time_point now) {
  char buf[4096];
  // Bounded per wake-up, so a client that keeps sending cannot keep the thread to itself.
  for (int round = 0; round < 16; ++round) {
    const ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {  // end of stream or a reset: nothing to answer
      c.fd.reset();
      return;
    }
    if (c.phase == Phase::lingering) continue;  // unread request bytes: thrown away
    // Search only the new bytes (and the three before them) for the end of the head.
    const size_t from = c.in.size() >= 3 ? c.in.size() - 3 : 0;
    c.in.append(buf, static_cast<size_t>(n));
    const size_t end = c.in.find("\r\n\r\n", from);
    if (end != std::string::npos && end + 4 <= limits.max_request_bytes) {
      std::shared_ptr<const Snapshot> snap;
      {
        std::lock_guard lock(mu);
        snap = snapshot;
      }
      bool bad = false;
      const Response r = route(std::string_view(c.in).substr(0, end), snap, bad);
      respond(c, r, bad, now);
      return;
    }
    if (c.in.size() >= limits.max_request_bytes) {
      respond(c, text(431, "request head too large\n"), true, now);
      return;
    }
  }
}

void MetricsServer::Impl::respond(Client& c, const Response& r, bool bad, Clock::time_point now) {
  {
    std::lock_guard lock(mu);
    ++stats.requests;
    if (bad) ++stats.bad_requests;
  }
  c.in.clear();
  c.in.shrink_to_fit();
  c.out = serialize(r);
  c.sent = 0;
  c.phase = Phase::writing;
  on_writable(c, now);
}

void MetricsServer::Impl::on_writable(Client& c, Clock::time_point now) {
  while (c.sent < c.out.size()) {
    const ssize_t n = ::send(c.fd.get(), c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      c.fd.reset();
      return;
    }
    c.sent += static_cast<size_t>(n);
  }
  // All sent: half-close, then read what the client still sends until it closes (see kLinger).
  c.out.clear();
  c.out.shrink_to_fit();
  ::shutdown(c.fd.get(), SHUT_WR);
  c.phase = Phase::lingering;
  c.deadline = now + kLinger;
}

core::Result<std::unique_ptr<MetricsServer>> MetricsServer::open(const std::string& listen, uint16_t port,
                                                                 ServerLimits limits) {
  const auto addr = core::IpAddress::parse(listen);
  if (!addr) return core::make_error("metrics: not an IP address: \"" + listen + "\"");
  const std::string where = addr->is_v6() ? fmt::format("[{}]:{}", listen, port) : fmt::format("{}:{}", listen, port);
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (addr->is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, addr->bytes().data(), 4);
    len = sizeof(sockaddr_in);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    std::memcpy(&sin6->sin6_addr, addr->bytes().data(), 16);
    len = sizeof(sockaddr_in6);
  }
  core::UniqueFd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return core::make_error("metrics: socket: " + errno_text(errno));
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // restart while old sockets are in TIME_WAIT
  if (addr->is_v6()) ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd.get(), 64) != 0) {
    return core::make_error("metrics: cannot listen on " + where + ": " + errno_text(errno));
  }
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &blen) != 0) {
    return core::make_error("metrics: getsockname: " + errno_text(errno));
  }
  core::UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake.valid()) return core::make_error("metrics: eventfd: " + errno_text(errno));

  auto impl = std::make_unique<Impl>();
  impl->limits = limits;
  impl->limits.max_request_bytes = std::max<size_t>(limits.max_request_bytes, 64);
  impl->limits.max_clients = std::max<size_t>(limits.max_clients, 1);
  impl->listener = std::move(fd);
  impl->wake = std::move(wake);
  impl->port = ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                                : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
}

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

MetricsServer::~MetricsServer() {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(impl_->wake.get(), &one, sizeof one);
  if (impl_->thread.joinable()) impl_->thread.join();
}

void MetricsServer::publish(Snapshot s) {
  auto next = std::make_shared<const Snapshot>(std::move(s));
  std::lock_guard lock(impl_->mu);
  impl_->snapshot.swap(next);  // the old one is freed outside the lock, when `next` goes
}

uint16_t MetricsServer::port() const {
  return impl_->port;
}

ServerStats MetricsServer::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

}  // namespace picket::metrics
