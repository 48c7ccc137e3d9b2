// ControlServer: the daemon's unix socket (default /run/picket/picket.sock) speaking protocol.hpp.
//
// Threading: one server thread owns the sockets (accept, read, write). Requests are queued for
// the daemon's own thread, which runs them in serve_pending() (the enforcer and the store belong
// to that thread) and queues the replies; `wake` (set_wake) is called when a request arrives so
// the daemon's loop does not sleep on it. `events` subscriptions are served entirely by the
// server thread from event_sink(), which the daemon adds to its outputs.
//
// Bounded everywhere: at most max_clients connections (more are told "busy" and closed), a
// request line of at most kMaxRequestBytes (longer: an error reply, then the connection is
// closed), at most kMaxQueued requests waiting for the daemon, an outgoing buffer per client of
// kMaxOutBytes (a subscriber that does not keep up loses events, counted and announced to it).
// A malformed request gets an error reply, never a crash.
//
// The socket is created with `mode` (0660) and, when `group` is set, that group. A live socket
// at the path (another picket) is an error; a stale one is replaced. The destructor stops the
// thread and removes the socket file.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "output/event.hpp"

namespace picket::control {

struct ServerOptions {
  std::string path;
  mode_t mode = 0660;
  std::string group;  // empty: the daemon's own group
  size_t max_clients = 32;
};

struct ServerStats {
  uint64_t connections = 0;
  uint64_t requests = 0;
  uint64_t bad_requests = 0;
  uint64_t refused_busy = 0;
  uint64_t events_sent = 0;
  uint64_t events_dropped = 0;  // subscribers too slow
};

class ControlServer {
 public:
  static constexpr size_t kMaxRequestBytes = 64 * 1024;
  static constexpr size_t kMaxQueued = 256;
  static constexpr size_t kMaxOutBytes = 4 * 1024 * 1024;

  // Runs one request on the daemon's thread; returns the reply's "result" or throws nothing:
  // errors are returned as core::Error and become {"ok":false,"error":...}.
  using Handler = std::function<core::Result<nlohmann::ordered_json>(const nlohmann::ordered_json& request)>;

  static core::Result<std::unique_ptr<ControlServer>> open(const ServerOptions& options);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  void set_wake(std::function<void()> wake);
  // Runs every queued request through `handler` and hands the replies to the server thread.
  // Returns how many ran.
  size_t serve_pending(const Handler& handler);
  // Events for `events` subscribers (thread-safe, never blocks).
  output::EventSink& event_sink();

  ServerStats stats() const;
  const std::string& path() const noexcept;

  struct Impl;

 private:
  explicit ControlServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace picket::control
