#include "sys/tcp.hpp"

#include <fmt/format.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>

namespace picket::sys {

socklen_t fill_sockaddr(const core::IpAddress& a, uint16_t port, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof ss);
  if (a.is_v4()) {
    auto* s = reinterpret_cast<sockaddr_in*>(&ss);
    s->sin_family = AF_INET;
    s->sin_port = htons(port);
    std::memcpy(&s->sin_addr, a.bytes().data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* s = reinterpret_cast<sockaddr_in6*>(&ss);
  s->sin6_family = AF_INET6;
  s->sin6_port = htons(port);
  std::memcpy(&s->sin6_addr, a.bytes().data(), 16);
  return sizeof(sockaddr_in6);
}

core::Result<core::UniqueFd> start_connect(const core::IpAddress& src, const core::IpAddress& dst, uint16_t port) {
  core::UniqueFd fd(socket(src.is_v4() ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return core::make_error(fmt::format("socket: {}", std::strerror(errno)));
  sockaddr_storage ss;
  socklen_t len = fill_sockaddr(src, 0, ss);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) < 0) {
    return core::make_error(fmt::format("bind {}: {}", src.to_string(), std::strerror(errno)));
  }
  len = fill_sockaddr(dst, port, ss);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) < 0 && errno != EINPROGRESS) {
    return core::make_error(fmt::format("connect {}: {}", dst.to_string(), std::strerror(errno)));
  }
  return fd;
}

int socket_error(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return errno;
  return err;
}

}  // namespace picket::sys
