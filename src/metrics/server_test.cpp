// MetricsServer over real loopback sockets (127.0.0.1 only).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "core/unique_fd.hpp"
#include "metrics/exposition_checker.hpp"
#include "metrics/server.hpp"

namespace picket::metrics {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Json = nlohmann::ordered_json;

core::UniqueFd connect_to(uint16_t port) {
  core::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0) return core::UniqueFd();
  return fd;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Reads until the server closes (or `limit` passes); "" when nothing came.
std::string read_all(int fd, std::chrono::milliseconds limit = 3000ms) {
  std::string out;
  const auto end = Clock::now() + limit;
  char buf[65536];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) break;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

struct Reply {
  int code = 0;
  std::string head;
  std::string body;
};

Reply parse_reply(const std::string& raw) {
  Reply r;
  const size_t end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || end == std::string::npos) return r;
  r.code = std::stoi(raw.substr(9, 3));
  r.head = raw.substr(0, end);
  r.body = raw.substr(end + 4);
  return r;
}

Reply round_trip(uint16_t port, std::string_view request) {
  auto fd = connect_to(port);
  if (!fd.valid() || !send_all(fd.get(), request)) return {};
  return parse_reply(read_all(fd.get()));
}

Reply get(uint16_t port, const std::string& path) {
  return round_trip(port, "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nUser-Agent: test\r\n\r\n");
}

Snapshot snapshot(bool healthy) {
  Snapshot s;
  s.status = {{"version", "0.1.0"},
              {"mode", "ips"},
              {"uptime", 12.5},
              {"healthy", healthy},
              {"problems", healthy ? Json::array() : Json::array({"capture: eth0: interface went away"})},
              {"capture", {{"method", "afpacket"}, {"kernel_drops", 0}}}};
  s.interfaces = interfaces_json({{"eth0", 10}}, {{"eth0", 1000}});
  s.latency = latency_json({0.01, 0.1}, {1, 2, 2}, 0.05, 2);
  return s;
}

core::Result<std::unique_ptr<MetricsServer>> open_test(ServerLimits limits = {}) {
  return MetricsServer::open("127.0.0.1", 0, limits);
}

TEST(ServerTest, ServesMetricsAndHealth) {
  auto srv = open_test();
  ASSERT_TRUE(srv.ok()) << srv.error().message;
  const uint16_t port = (*srv)->port();
  ASSERT_NE(port, 0);

  // Nothing published yet.
  EXPECT_EQ(get(port, "/metrics").code, 503);
  EXPECT_EQ(get(port, "/healthz").code, 503);

  (*srv)->publish(snapshot(true));
  const Reply m = get(port, "/metrics");
  ASSERT_EQ(m.code, 200) << m.head;
  EXPECT_NE(m.head.find("Content-Type: text/plain; version=0.0.4; charset=utf-8"), std::string::npos) << m.head;
  EXPECT_NE(m.head.find("Content-Length: " + std::to_string(m.body.size())), std::string::npos) << m.head;
  EXPECT_NE(m.head.find("Connection: close"), std::string::npos);
  const auto ex = testing::parse_exposition(m.body);
  ASSERT_EQ(ex.error, "") << m.body;
  EXPECT_EQ(ex.value("picket_capture_bytes_total", {{"interface", "eth0"}}), 1000.0);
  EXPECT_EQ(ex.value("picket_detection_latency_seconds_count"), 2.0);
  EXPECT_EQ(m.body, render_prometheus(snapshot(true)));

  const Reply h = get(port, "/healthz");
  EXPECT_EQ(h.code, 200);
  EXPECT_EQ(h.body, "ok\n");

  // A later publish replaces the snapshot.
  (*srv)->publish(snapshot(false));
  const Reply u = get(port, "/healthz");
  EXPECT_EQ(u.code, 503);
  EXPECT_EQ(u.body, "capture: eth0: interface went away\n");
  EXPECT_EQ(testing::parse_exposition(get(port, "/metrics").body).value("picket_healthy"), 0.0);
}

TEST(ServerTest, RejectsWhatItDoesNotServe) {
  ServerLimits limits;
  limits.max_request_bytes = 1024;
  auto srv = open_test(limits);
  ASSERT_TRUE(srv.ok()) << srv.error().message;
  (*srv)->publish(snapshot(true));
  const uint16_t port = (*srv)->port();
  struct Case {
    std::string name;
    std::string request;
    int code;
  };
  const std::vector<Case> cases = {
      {"query string ignored", "GET /metrics?name[]=x HTTP/1.1\r\n\r\n", 200},
      {"HTTP/1.0", "GET /healthz HTTP/1.0\r\n\r\n", 200},
      {"unknown path", "GET /admin HTTP/1.1\r\nHost: x\r\n\r\n", 404},
      {"root", "GET / HTTP/1.1\r\n\r\n", 404},
      {"prefix of a path", "GET /metricsx HTTP/1.1\r\n\r\n", 404},
      {"POST", "POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", 405},
      {"HEAD", "HEAD /metrics HTTP/1.1\r\n\r\n", 405},
      {"DELETE", "DELETE /healthz HTTP/1.1\r\n\r\n", 405},
      {"garbage", "hello there\r\n\r\n", 400},
      {"binary", std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 15), 400},
      {"lower-case version", "GET /metrics http/1.1\r\n\r\n", 400},
      {"two spaces", "GET  /metrics HTTP/1.1\r\n\r\n", 400},
      {"absolute target", "GET http://x/metrics HTTP/1.1\r\n\r\n", 400},
      {"header without colon", "GET /metrics HTTP/1.1\r\nHost x\r\n\r\n", 400},
      {"header with space before colon", "GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n", 400},
      {"bare LF in header", "GET /metrics HTTP/1.1\r\nA: b\nc: d\r\n\r\n", 400},
      {"HTTP/2.0", "GET /metrics HTTP/2.0\r\n\r\n", 505},
      {"oversized head", "GET /metrics HTTP/1.1\r\nX: " + std::string(4000, 'a') + "\r\n\r\n", 431},
      {"oversized, no end", std::string(5000, 'G'), 431},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const Reply r = round_trip(port, c.request);
    EXPECT_EQ(r.code, c.code) << r.head;
    if (c.code == 405) {
      EXPECT_NE(r.head.find("Allow: GET"), std::string::npos);
    }
  }
  const auto st = (*srv)->stats();
  EXPECT_EQ(st.requests, cases.size());
  EXPECT_EQ(st.bad_requests, 14u);  // 405 x3, 400 x8, 505, 431 x2
  // Still serving.
  EXPECT_EQ(get(port, "/metrics").code, 200);
}

TEST(ServerTest, SilentClientTimesOutWhileOthersAreServed) {
  ServerLimits limits;
  limits.timeout = 1500ms;
  auto srv = open_test(limits);
  ASSERT_TRUE(srv.ok()) << srv.error().message;
  (*srv)->publish(snapshot(true));
  const uint16_t port = (*srv)->port();

  auto silent = connect_to(port);
  ASSERT_TRUE(silent.valid());
  auto half = connect_to(port);  // sends part of a request, then stops
  ASSERT_TRUE(half.valid());
  ASSERT_TRUE(send_all(half.get(), "GET /metr"));

  const auto t0 = Clock::now();
  EXPECT_EQ(get(port, "/healthz").code, 200);
  EXPECT_LT(Clock::now() - t0, 1000ms) << "a silent client held up another";

  // Both are closed at their deadline with nothing written.
  EXPECT_EQ(read_all(silent.get(), 3000ms), "");
  EXPECT_EQ(read_all(half.get(), 3000ms), "");
  EXPECT_GE(Clock::now() - t0, 1400ms);
  EXPECT_EQ((*srv)->stats().timeouts, 2u);
  EXPECT_EQ(get(port, "/metrics").code, 200);
}

TEST(ServerTest, RequestInPiecesAndClientsThatVanish) {
  auto srv = open_test();
  ASSERT_TRUE(srv.ok()) << srv.error().message;
  (*srv)->publish(snapshot(true));
  const uint16_t port = (*srv)->port();
  {
    auto fd = connect_to(port);
    ASSERT_TRUE(fd.valid());
    for (const char* part : {"GE", "T /hea", "lthz HTTP/1.1\r", "\n\r", "\n"}) {
      ASSERT_TRUE(send_all(fd.get(), part));
      std::this_thread::sleep_for(20ms);
    }
    EXPECT_EQ(parse_reply(read_all(fd.get())).code, 200);
  }
  for (int i = 0; i < 20; ++i) {  // connect and go; half a request and go
    auto fd = connect_to(port);
    ASSERT_TRUE(fd.valid());
    if (i % 2 == 1) {
      ASSERT_TRUE(send_all(fd.get(), "GET /metrics HTTP/1.1\r\n"));
    }
  }
  {
    // Asks, then closes without reading the reply.
    auto fd = connect_to(port);
    ASSERT_TRUE(send_all(fd.get(), "GET /metrics HTTP/1.1\r\n\r\n"));
  }
  // The burst may have filled max_clients for a moment (those are told busy); once the server has
  // seen the closes it serves again.
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(get(port, "/metrics").code, 200);
}

TEST(ServerTest, TooManyClientsAreTurnedAway) {
  ServerLimits limits;
  limits.max_clients = 2;
  limits.timeout = 1000ms;
  auto srv = open_test(limits);
  ASSERT_TRUE(srv.ok()) << srv.error().message;
  (*srv)->publish(snapshot(true));
  const uint16_t port = (*srv)->port();
  auto a = connect_to(port);
  auto b = connect_to(port);
  std::this_thread::sleep_for(100ms);  // let the server accept both
  const Reply r = get(port, "/metrics");
  EXPECT_EQ(r.code, 503);
  EXPECT_EQ(r.body, "busy\n");
  EXPECT_EQ((*srv)->stats().refused, 1u);
  a.reset();
  b.reset();
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(get(port, "/metrics").code, 200);
}

TEST(ServerTest, OpenErrorsAndShutdownWithOpenClients) {
  auto bad = MetricsServer::open("localhost", 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "metrics: not an IP address: \"localhost\"");

  auto first = open_test();
  ASSERT_TRUE(first.ok());
  auto second = MetricsServer::open("127.0.0.1", (*first)->port());
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("metrics: cannot listen on 127.0.0.1:"), std::string::npos);
  EXPECT_NE(second.error().message.find("Address already in use"), std::string::npos);

  // The destructor returns promptly although a client is connected and silent.
  auto idle = connect_to((*first)->port());
  ASSERT_TRUE(idle.valid());
  const auto t0 = Clock::now();
  first->reset();
  EXPECT_LT(Clock::now() - t0, 1000ms);
  EXPECT_EQ(read_all(idle.get(), 1000ms), "");
}

TEST(ServerTest, PublishFromAnotherThreadWhileScraping) {
  auto srv = open_test();
  ASSERT_TRUE(srv.ok()) << srv.error().message;
  (*srv)->publish(snapshot(true));
  const uint16_t port = (*srv)->port();
  std::atomic<bool> done{false};
  std::thread publisher([&] {
    for (int i = 0; !done; ++i) (*srv)->publish(snapshot(i % 2 == 0));
  });
  for (int i = 0; i < 30; ++i) {
    const Reply r = get(port, "/metrics");
    ASSERT_EQ(r.code, 200);
    ASSERT_EQ(testing::parse_exposition(r.body).error, "");
  }
  done = true;
  publisher.join();
}

}  // namespace
}  // namespace picket::metrics
