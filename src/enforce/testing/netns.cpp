#include "enforce/testing/netns.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "sys/tcp.hpp"

namespace picket::enforce::testing {

namespace {

std::atomic<int> g_pair_counter{0};

std::string errno_text() { return std::strerror(errno); }

int64_t ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0).count();
}

using sys::fill_sockaddr;
using sys::start_connect;
bool connected(int fd) { return sys::socket_error(fd) == 0; }

}  // namespace

std::string kernel_test_skip_reason() {
  if (geteuid() != 0) return "needs root (network namespaces and nftables)";
  if (run_command({"ip", "-V"}).exit_code != 0) return "no `ip` command (iproute2)";
  if (run_command({"nft", "--version"}).exit_code != 0) return "no `nft` command (nftables)";
  return {};
}

core::Result<std::unique_ptr<NetnsPair>> NetnsPair::create() {
  int n = g_pair_counter++;
  std::string base = fmt::format("pk{}-{}", getpid(), n);
  std::unique_ptr<NetnsPair> pair(new NetnsPair(base + "h", base + "p"));
  const std::string& h = pair->host_;
  const std::string& p = pair->peer_;
  const std::vector<std::vector<std::string>> steps = {
      {"ip", "netns", "add", h},
      {"ip", "netns", "add", p},
      {"ip", "link", "add", "pk0", "netns", h, "type", "veth", "peer", "name", "pk1", "netns", p},
      {"ip", "-n", h, "link", "set", "lo", "up"},
      {"ip", "-n", p, "link", "set", "lo", "up"},
      {"ip", "-n", h, "addr", "add", "198.18.0.1/16", "dev", "pk0"},
      {"ip", "-n", h, "addr", "add", "2001:db8::1/64", "dev", "pk0", "nodad"},
      {"ip", "-n", p, "addr", "add", "198.18.0.2/16", "dev", "pk1"},
      {"ip", "-n", p, "addr", "add", "198.18.0.3/16", "dev", "pk1"},
      {"ip", "-n", p, "addr", "add", "198.18.1.2/16", "dev", "pk1"},
      {"ip", "-n", p, "addr", "add", "2001:db8::2/64", "dev", "pk1", "nodad"},
      {"ip", "-n", p, "addr", "add", "2001:db8::3/64", "dev", "pk1", "nodad"},
      {"ip", "-n", p, "addr", "add", "2001:db8::1:2/64", "dev", "pk1", "nodad"},
      {"ip", "-n", h, "link", "set", "pk0", "up"},
      {"ip", "-n", p, "link", "set", "pk1", "up"},
  };
  for (const auto& argv : steps) {
    CommandResult r = run_command(argv);
    if (r.exit_code != 0) {
      std::string cmd;
      for (const auto& a : argv) cmd += a + " ";
      return core::make_error(fmt::format("{}failed: {}", cmd, r.output));
    }
  }
  return pair;
}

NetnsPair::~NetnsPair() {
  // Deleting a namespace also deletes the veth pair in it.
  run_command({"ip", "netns", "del", host_});
  run_command({"ip", "netns", "del", peer_});
}

CommandResult NetnsPair::nft(std::vector<std::string> args, milliseconds limit) const {
  std::vector<std::string> argv = {"ip", "netns", "exec", host_, "nft"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, limit);
}

core::Result<core::UniqueFd> tcp_listen(const std::string& ns, const core::IpAddress& addr, uint16_t port) {
  return in_netns(ns, [&]() -> core::Result<core::UniqueFd> {
    core::UniqueFd fd(socket(addr.is_v4() ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return core::make_error("socket: " + errno_text());
    int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_storage ss;
    socklen_t len = fill_sockaddr(addr, port, ss);
    if (bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) < 0) {
      return core::make_error(fmt::format("bind {} port {}: {}", addr.to_string(), port, errno_text()));
    }
    if (listen(fd.get(), 512) < 0) return core::make_error("listen: " + errno_text());
    return fd;
  });
}

core::Result<core::UniqueFd> tcp_connect(const std::string& ns, const core::IpAddress& src,
                                         const core::IpAddress& dst, uint16_t port, milliseconds limit) {
  return in_netns(ns, [&]() -> core::Result<core::UniqueFd> {
    auto fd = start_connect(src, dst, port);
    if (!fd) return fd;
    pollfd p{fd->get(), POLLOUT, 0};
    int r = poll(&p, 1, static_cast<int>(limit.count()));
    if (r <= 0) return core::make_error(fmt::format("no connection within {} ms", limit.count()));
    if (!connected(fd->get())) return core::make_error("connect failed");
    return fd;
  });
}

core::Result<int> tcp_connect_burst(const std::string& ns, const core::IpAddress& src, const core::IpAddress& dst,
                                    uint16_t port, int count, milliseconds limit) {
  return in_netns(ns, [&]() -> core::Result<int> {
    std::vector<core::UniqueFd> fds;
    for (int i = 0; i < count; ++i) {
      auto fd = start_connect(src, dst, port);
      if (!fd) return fd.error();
      fds.push_back(std::move(fd).value());
    }
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<bool> done(fds.size(), false);
    int ok = 0;
    while (ms_since(t0) < limit.count()) {
      std::vector<pollfd> pfds;
      std::vector<size_t> idx;
      for (size_t i = 0; i < fds.size(); ++i) {
        if (!done[i]) {
          pfds.push_back({fds[i].get(), POLLOUT, 0});
          idx.push_back(i);
        }
      }
      if (pfds.empty()) break;
      int left = static_cast<int>(limit.count() - ms_since(t0));
      if (poll(pfds.data(), pfds.size(), std::max(left, 0)) <= 0) continue;
      for (size_t j = 0; j < pfds.size(); ++j) {
        if (pfds[j].revents == 0) continue;
        done[idx[j]] = true;
        if (connected(pfds[j].fd)) ++ok;
      }
    }
    return ok;
  });
}

core::Result<core::UniqueFd> tcp_accept(int listen_fd, milliseconds limit) {
  pollfd p{listen_fd, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(limit.count())) <= 0) return core::make_error("nothing to accept");
  core::UniqueFd fd(accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC));
  if (!fd.valid()) return core::make_error("accept: " + errno_text());
  return fd;
}

int drain_accept(int listen_fd) {
  int n = 0;
  for (int i = 0; i < 10000; ++i) {
    pollfd p{listen_fd, POLLIN, 0};
    if (poll(&p, 1, 0) <= 0) break;
    int fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) break;
    close(fd);
    ++n;
  }
  return n;
}

bool send_text(int fd, const std::string& text) {
  return send(fd, text.data(), text.size(), MSG_NOSIGNAL | MSG_DONTWAIT) == static_cast<ssize_t>(text.size());
}

std::string recv_text(int fd, milliseconds limit) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(limit.count())) <= 0) return {};
  char buf[256];
  ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

}  // namespace picket::enforce::testing
