#include "control/client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace picket::control {

namespace {
constexpr size_t kMaxReplyBytes = size_t{256} << 20;
}

core::Result<ControlClient> ControlClient::connect(const std::string& path, std::chrono::milliseconds timeout) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(sa.sun_path)) return core::make_error("bad control socket path: " + path);
  std::memcpy(sa.sun_path, path.data(), path.size());
  core::UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return core::make_error(std::string("socket: ") + std::strerror(errno));
  timeval tv{};
  tv.tv_sec = timeout.count() / 1000;
  tv.tv_usec = (timeout.count() % 1000) * 1000;
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) != 0) {
    return core::make_error("cannot reach picket at " + path + ": " + std::strerror(errno) +
                            " (is `picket run` running? --socket names another path)");
  }
  return ControlClient(std::move(fd), path);
}

core::Result<std::string> ControlClient::read_line(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    if (buffer_.size() > kMaxReplyBytes) return core::make_error("reply from picket too long");
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return core::make_error("no reply from picket within " + std::to_string(timeout.count()) + " ms");
    pollfd p{fd_.get(), POLLIN, 0};
    const int r = poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 200)));
    if (r < 0 && errno != EINTR) return core::make_error(std::string("poll: ") + std::strerror(errno));
    if (r <= 0) continue;
    char buf[65536];
    const ssize_t n = recv(fd_.get(), buf, sizeof(buf), 0);
    if (n == 0) return core::make_error("picket closed the connection");
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return core::make_error(std::string("read: ") + std::strerror(errno));
    }
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

core::Result<Json> ControlClient::request(const Json& req, std::chrono::milliseconds timeout) {
  const std::string line = req.dump() + "\n";
  size_t sent = 0;
  while (sent < line.size()) {
    const ssize_t n = send(fd_.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return core::make_error(std::string("send to picket: ") + std::strerror(errno));
    }
    sent += static_cast<size_t>(n);
  }
  auto reply = read_line(timeout);
  if (!reply) return reply.error();
  Json j = Json::parse(*reply, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("ok")) return core::make_error("malformed reply from picket");
  return j;
}

core::Result<void> ControlClient::follow(const std::function<void(const std::string&)>& on_line,
                                         const std::function<bool()>& keep_going) {
  while (keep_going()) {
    auto line = read_line(std::chrono::milliseconds(200));
    if (!line) {
      if (line.error().message.rfind("no reply", 0) == 0) continue;  // quiet: keep waiting
      return line.error();
    }
    on_line(*line);
  }
  return {};
}

}  // namespace picket::control
