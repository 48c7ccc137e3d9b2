// MetricsServer: a small, strict HTTP/1.1 server for Prometheus scrapes and health checks.
//
//   GET /metrics  -> 200, text format 0.0.4 (render_prometheus of the latest Snapshot)
//   GET /healthz  -> 200 "ok\n", or 503 with the problems one per line (health_reply)
//   other paths   -> 404; other methods -> 405 (Allow: GET); a malformed request line -> 400;
//   a request head over max_request_bytes -> 431; an HTTP version other than 1.0/1.1 -> 505.
//   Before the first publish() both paths answer 503 "no snapshot yet".
// A query string is ignored (/metrics?x=1 is /metrics). Every response closes the connection
// (Connection: close); the request body, if any, is not read.
//
// Threading: one thread owns every socket (poll over the listener, the clients and an eventfd
// for shutdown). publish() may be called from any thread; the HTTP thread renders the snapshot
// that was latest when the request arrived. A slow client cannot hold up others: sockets are
// non-blocking, each client has a deadline (`timeout`) for its whole exchange, and at most
// `max_clients` are open (more are closed at once, counted as refused).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/result.hpp"
#include "metrics/metrics.hpp"

namespace picket::metrics {

struct ServerLimits {
  std::chrono::milliseconds timeout{5000};  // whole exchange: request in, response out
  size_t max_request_bytes = 8192;          // request line + headers
  size_t max_clients = 16;
};

struct ServerStats {
  uint64_t requests = 0;      // answered with any status
  uint64_t bad_requests = 0;  // 400, 405, 431, 505
  uint64_t timeouts = 0;      // clients closed at their deadline
  uint64_t refused = 0;       // over max_clients
};

class MetricsServer {
 public:
  // Binds `listen` (an IP address literal) : `port` (0 = any free port, for tests) and starts the
  // thread. Errors: "metrics: not an IP address: X", "metrics: cannot listen on 127.0.0.1:9477:
  // Address already in use".
  static core::Result<std::unique_ptr<MetricsServer>> open(const std::string& listen, uint16_t port,
                                                           ServerLimits limits = {});
  ~MetricsServer();  // stops the thread, closes every socket
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  void publish(Snapshot s);  // thread-safe; replaces the snapshot the HTTP thread serves
  uint16_t port() const;     // the bound port (useful with port 0)
  ServerStats stats() const;

  struct Impl;

 private:
  explicit MetricsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace picket::metrics
