// Small TCP client helpers (the demo's traffic, the kernel tests' probes).
#pragma once

#include <sys/socket.h>

#include <cstdint>

#include "core/ip_address.hpp"
#include "core/result.hpp"
#include "core/unique_fd.hpp"

namespace picket::sys {

// Fills `ss` with a's address and port; returns the length to pass to bind/connect.
socklen_t fill_sockaddr(const core::IpAddress& a, uint16_t port, sockaddr_storage& ss);
// A non-blocking TCP socket bound to src (port chosen by the kernel), connect() under way
// towards dst:port. Poll it for POLLOUT, then socket_error() says how it went.
core::Result<core::UniqueFd> start_connect(const core::IpAddress& src, const core::IpAddress& dst, uint16_t port);
// SO_ERROR of `fd` (0: connected), or errno when it cannot be read.
int socket_error(int fd);

}  // namespace picket::sys
