// ControlClient: the `picket status|bans|ban|unban|reload|events|top` side of the control socket.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "control/protocol.hpp"
#include "core/result.hpp"
#include "core/unique_fd.hpp"

namespace picket::control {

class ControlClient {
 public:
  // Error "cannot reach picket at PATH: <why> (is `picket run` running?)".
  static core::Result<ControlClient> connect(const std::string& path,
                                             std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Sends one request and waits for its reply line (the whole reply object: check "ok").
  core::Result<Json> request(const Json& req, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // After an `events` request: calls on_line for each event line until the daemon closes the
  // connection, `keep_going` returns false (checked at least every 200 ms), or a read fails.
  core::Result<void> follow(const std::function<void(const std::string&)>& on_line,
                            const std::function<bool()>& keep_going);

 private:
  explicit ControlClient(core::UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  core::Result<std::string> read_line(std::chrono::milliseconds timeout);
  core::UniqueFd fd_;
  std::string path_;
  std::string buffer_;
};

}  // namespace picket::control
