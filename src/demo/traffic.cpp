#include "demo/traffic.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "sys/tcp.hpp"

namespace picket::demo {

namespace {

using Clock = std::chrono::steady_clock;

std::string errno_text() { return std::strerror(errno); }

int64_t ms_left(Clock::time_point deadline) {
  return std::max<int64_t>(0, std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count());
}

using sys::socket_error;
using sys::start_connect;

const std::string_view kPage =
    "<html><body><h1>victim.example</h1><p>An ordinary web page, served inside the demo.</p></body></html>\n";

}  // namespace

core::Result<core::UniqueFd> tcp_connect_here(const core::IpAddress& src, const core::IpAddress& dst, uint16_t port,
                                              milliseconds limit) {
  auto fd = start_connect(src, dst, port);
  if (!fd) return fd;
  pollfd p{fd->get(), POLLOUT, 0};
  const auto deadline = Clock::now() + limit;
  for (;;) {
    int r = poll(&p, 1, static_cast<int>(ms_left(deadline)));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return core::make_error(fmt::format("no answer within {} ms", limit.count()));
    break;
  }
  if (int err = socket_error(fd->get()); err != 0) return core::make_error(std::strerror(err));
  return fd;
}

int parse_http_status(std::string_view r) noexcept {
  if (r.substr(0, 5) != "HTTP/") return -1;
  size_t sp = r.find(' ');
  if (sp == std::string_view::npos || sp + 4 > r.size()) return -1;
  int code = 0;
  for (size_t i = sp + 1; i < sp + 4; ++i) {
    if (r[i] < '0' || r[i] > '9') return -1;
    code = code * 10 + (r[i] - '0');
  }
  if (sp + 4 < r.size() && r[sp + 4] != ' ' && r[sp + 4] != '\r') return -1;
  return code;
}

core::Result<int> http_get_here(const core::IpAddress& src, const core::IpAddress& dst, uint16_t port,
                                milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  auto fd = tcp_connect_here(src, dst, port, limit);
  if (!fd) return fd.error();
  std::string req = fmt::format("GET / HTTP/1.1\r\nHost: {}\r\nUser-Agent: picket-demo\r\nConnection: close\r\n\r\n",
                                dst.to_string());
  if (send(fd->get(), req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    return core::make_error("send: " + errno_text());
  }
  std::string resp;
  char buf[2048];
  while (resp.size() < 65536) {
    pollfd p{fd->get(), POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(ms_left(deadline)));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return core::make_error("no response in time");
    ssize_t n = recv(fd->get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return core::make_error("recv: " + errno_text());
    if (n == 0) break;
    resp.append(buf, static_cast<size_t>(n));
  }
  int code = parse_http_status(resp);
  if (code < 0) return core::make_error("not an HTTP response");
  return code;
}

// ---- HttpServer -----------------------------------------------------------------------------------

core::Result<std::unique_ptr<HttpServer>> HttpServer::start(const std::string& netns, uint16_t port) {
  auto fd = in_netns(netns, [&]() -> core::Result<core::UniqueFd> {
    core::UniqueFd s(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!s.valid()) return core::make_error("socket: " + errno_text());
    int one = 1;
    setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_ANY);
    if (bind(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
      return core::make_error(fmt::format("bind port {}: {}", port, errno_text()));
    }
    if (listen(s.get(), 1024) < 0) return core::make_error("listen: " + errno_text());
    return s;
  });
  if (!fd) return fd.error();
  int p[2];
  if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) return core::make_error("pipe: " + errno_text());
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(fd).value(), core::UniqueFd(p[0]), core::UniqueFd(p[1])));
}

HttpServer::HttpServer(core::UniqueFd listen_fd, core::UniqueFd wake_read, core::UniqueFd wake_write)
    : listen_(std::move(listen_fd)), wake_read_(std::move(wake_read)), wake_write_(std::move(wake_write)) {
  thread_ = std::thread([this] { loop(); });
}

HttpServer::~HttpServer() {
  char c = 'x';
  (void)!write(wake_write_.get(), &c, 1);
  if (thread_.joinable()) thread_.join();
}

void HttpServer::loop() {
  struct Conn {
    core::UniqueFd fd;
    std::string request;
    Clock::time_point last;
  };
  std::vector<Conn> conns;
  std::vector<pollfd> pfds;
  const std::string response = fmt::format(
      "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}", kPage.size(),
      kPage);
  for (;;) {
    pfds.clear();
    pfds.push_back({wake_read_.get(), POLLIN, 0});
    pfds.push_back({listen_.get(), static_cast<short>(conns.size() < kMaxConnections ? POLLIN : 0), 0});
    for (const auto& c : conns) pfds.push_back({c.fd.get(), POLLIN, 0});
    int r = poll(pfds.data(), pfds.size(), 1000);
    if (r < 0 && errno != EINTR) return;
    if (pfds[0].revents != 0) return;
    const auto now = Clock::now();
    // Read and answer first (indices of pfds match conns before new ones are added).
    for (size_t i = 0; i < conns.size(); ++i) {
      Conn& c = conns[i];
      if ((pfds[i + 2].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      char buf[2048];
      ssize_t n = recv(c.fd.get(), buf, sizeof buf, MSG_DONTWAIT);
      if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        c.fd.reset();  // peer closed or reset
        continue;
      }
      c.last = now;
      c.request.append(buf, static_cast<size_t>(n));
      if (c.request.find("\r\n\r\n") != std::string::npos) {
        (void)!send(c.fd.get(), response.data(), response.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        ++served_;
        c.fd.reset();
      } else if (c.request.size() > 8192) {
        c.fd.reset();  // not a request we will ever answer
      }
    }
    for (auto& c : conns) {
      if (c.fd.valid() && now - c.last > std::chrono::seconds(60)) c.fd.reset();
    }
    std::erase_if(conns, [](const Conn& c) { return !c.fd.valid(); });
    if ((pfds[1].revents & POLLIN) != 0) {
      for (int k = 0; k < 256 && conns.size() < kMaxConnections; ++k) {
        int fd = accept4(listen_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;
        ++accepted_;
        conns.push_back({core::UniqueFd(fd), {}, now});
      }
    }
    held_ = conns.size();
  }
}

// ---- Browser ----------------------------------------------------------------------------------

Browser::Browser(std::string netns, core::IpAddress src, core::IpAddress dst, uint16_t port, milliseconds period)
    : netns_(std::move(netns)), src_(src), dst_(dst), port_(port), period_(period) {
  thread_ = std::thread([this] { loop(); });
}

Browser::~Browser() { stop(); }

void Browser::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void Browser::loop() {
  if (auto r = enter_netns(netns_); !r) {
    error_ = r.error().message;
    return;
  }
  while (!stop_.load()) {
    auto r = http_get_here(src_, dst_, port_, milliseconds(2000));
    if (r && *r == 200) {
      ++ok_;
    } else {
      ++failed_;
    }
    sleep_unless_stopped(period_, stop_);
  }
}

// ---- ConnFlood ----------------------------------------------------------------------------------

core::Result<std::unique_ptr<ConnFlood>> ConnFlood::open(const std::string& netns,
                                                        const std::vector<core::IpAddress>& sources,
                                                        const core::IpAddress& dst, uint16_t port, int per_source,
                                                        milliseconds limit) {
  auto flood = std::make_unique<ConnFlood>();
  auto opened = in_netns(netns, [&]() -> core::Result<void> {
    std::vector<core::UniqueFd> pending;
    for (const auto& src : sources) {
      for (int i = 0; i < per_source; ++i) {
        auto fd = start_connect(src, dst, port);
        if (!fd) return fd.error();
        pending.push_back(std::move(fd).value());
      }
    }
    flood->attempted_ = pending.size();
    const auto deadline = Clock::now() + limit;
    // The start of a request and no end: the server waits for the rest, the connection stays.
    const std::string partial = fmt::format("GET / HTTP/1.1\r\nHost: {}\r\n", dst.to_string());
    while (!pending.empty() && ms_left(deadline) > 0) {
      std::vector<pollfd> pfds;
      for (const auto& fd : pending) pfds.push_back({fd.get(), POLLOUT, 0});
      int ready = poll(pfds.data(), pfds.size(), static_cast<int>(ms_left(deadline)));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) break;
      std::vector<core::UniqueFd> still;
      for (size_t i = 0; i < pending.size(); ++i) {
        if (pfds[i].revents == 0) {
          still.push_back(std::move(pending[i]));
        } else if (socket_error(pending[i].get()) == 0) {
          (void)!send(pending[i].get(), partial.data(), partial.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
          flood->fds_.push_back(std::move(pending[i]));
        }
      }
      pending = std::move(still);
    }
    return {};
  });
  if (!opened) return opened.error();
  return flood;
}

}  // namespace picket::demo
