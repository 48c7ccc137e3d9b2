// Real TCP traffic for the demo: the victim's small web server, the client's page loads, the
// attacker's connection flood, and the connect probes of the final proof. All of it is bounded:
// every wait has a time limit, every table a size limit.
//
// Functions named `*_here` work in the calling thread's network namespace; run them on a thread
// that entered one (in_netns, enter_netns).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/ip_address.hpp"
#include "core/result.hpp"
#include "core/unique_fd.hpp"
#include "demo/process.hpp"

namespace picket::demo {

// Connects from `src` (bound; port chosen by the kernel) to dst:port within `limit`.
core::Result<core::UniqueFd> tcp_connect_here(const core::IpAddress& src, const core::IpAddress& dst, uint16_t port,
                                              milliseconds limit);

// One HTTP/1.1 GET of "/" with "Connection: close": the status code (200, ...) or an Error
// (no connection, no answer, not HTTP) within `limit` overall.
core::Result<int> http_get_here(const core::IpAddress& src, const core::IpAddress& dst, uint16_t port,
                                milliseconds limit);

// The status code of an HTTP response's first line ("HTTP/1.1 200 OK" -> 200), or -1.
int parse_http_status(std::string_view response) noexcept;

// A tiny web server on a thread: answers every complete request with a small page and closes;
// a connection that never finishes its request is held open (up to `kMaxConnections`, idle ones
// closed after a minute) — just like a real server holding a slow client.
class HttpServer {
 public:
  static constexpr size_t kMaxConnections = 4096;
  // Listens on 0.0.0.0:port inside `netns`.
  static core::Result<std::unique_ptr<HttpServer>> start(const std::string& netns, uint16_t port);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint64_t served() const noexcept { return served_.load(); }
  uint64_t accepted() const noexcept { return accepted_.load(); }
  size_t held() const noexcept { return held_.load(); }

 private:
  HttpServer(core::UniqueFd listen_fd, core::UniqueFd wake_read, core::UniqueFd wake_write);
  void loop();

  core::UniqueFd listen_;
  core::UniqueFd wake_read_, wake_write_;
  std::atomic<uint64_t> served_{0}, accepted_{0};
  std::atomic<size_t> held_{0};
  std::thread thread_;
};

// The client's browsing: one page load every `period` from `src` until stopped. Counts outcomes.
class Browser {
 public:
  Browser(std::string netns, core::IpAddress src, core::IpAddress dst, uint16_t port, milliseconds period);
  ~Browser();  // stops and joins
  Browser(const Browser&) = delete;
  Browser& operator=(const Browser&) = delete;

  void stop();
  uint64_t ok() const noexcept { return ok_.load(); }
  uint64_t failed() const noexcept { return failed_.load(); }
  // The netns could not be joined (the thread then did nothing).
  const std::string& error() const noexcept { return error_; }

 private:
  void loop();
  std::string netns_;
  core::IpAddress src_, dst_;
  uint16_t port_;
  milliseconds period_;
  StopFlag stop_{false};
  std::atomic<uint64_t> ok_{0}, failed_{0};
  std::string error_;
  std::thread thread_;
};

// The connection flood: every source opens `per_source` real connections (handshake completes),
// sends the start of a request and then holds them. The sockets stay open until destruction.
class ConnFlood {
 public:
  // Opens them inside `netns`, waiting at most `limit` for the handshakes. Returns the flood even
  // when some connections failed (held() says how many stand).
  static core::Result<std::unique_ptr<ConnFlood>> open(const std::string& netns,
                                                      const std::vector<core::IpAddress>& sources,
                                                      const core::IpAddress& dst, uint16_t port, int per_source,
                                                      milliseconds limit);
  size_t held() const noexcept { return fds_.size(); }
  size_t attempted() const noexcept { return attempted_; }

 private:
  std::vector<core::UniqueFd> fds_;
  size_t attempted_ = 0;
};

}  // namespace picket::demo
