#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "control/client.hpp"
#include "control/protocol.hpp"
#include "control/server.hpp"
#include "core/unique_fd.hpp"

namespace picket::control {
namespace {

using namespace std::chrono_literals;

TEST(Protocol, AcceptsWellFormedRequests) {
  for (const char* line : {R"({"v":1,"cmd":"status"})", R"({"v":1,"cmd":"bans"})",
                           R"({"v":1,"cmd":"ban","target":"198.18.0.5","duration":"10m","reason":"manual"})",
                           R"({"v":1,"cmd":"ban","target":"2001:db8::/64"})", R"({"v":1,"cmd":"unban","all":true})",
                           R"({"v":1,"cmd":"unban","target":"198.18.1.0/24"})", R"({"v":1,"cmd":"reload"})",
                           R"({"v":1,"cmd":"events","types":["alert","decision"]})", R"({"v":1,"cmd":"top"})"}) {
    EXPECT_TRUE(static_cast<bool>(parse_request(line))) << line;
  }
}

TEST(Protocol, RejectsMalformedRequestsWithAReason) {
  struct Case {
    const char* line;
    const char* error;
  };
  const Case cases[] = {
      {"not json", "not JSON"},
      {"[1,2]", "not a JSON object"},
      {R"({"cmd":"status"})", "protocol version"},
      {R"({"v":2,"cmd":"status"})", "unsupported protocol version 2"},
      {R"({"v":1})", "no \"cmd\""},
      {R"({"v":1,"cmd":"explode"})", "unknown command"},
      {R"({"v":1,"cmd":"ban"})", "\"target\""},
      {R"({"v":1,"cmd":"ban","target":"1.2.3.4; rm -rf /"})", "not an address"},
      {R"({"v":1,"cmd":"ban","target":"198.18.0.5","duration":"forever-ish"})", "not a duration"},
      {R"({"v":1,"cmd":"ban","target":"198.18.0.5","duration":5})", "must be a string"},
      {R"({"v":1,"cmd":"unban"})", "\"target\""},
      {R"({"v":1,"cmd":"unban","all":"yes"})", "\"all\""},
      {R"({"v":1,"cmd":"events","types":["alert","gossip"]})", "unknown event type"},
      {R"({"v":1,"cmd":"events","types":"alert"})", "must be a list"},
  };
  for (const auto& c : cases) {
    auto r = parse_request(c.line);
    ASSERT_FALSE(static_cast<bool>(r)) << c.line;
    EXPECT_NE(r.error().message.find(c.error), std::string::npos) << c.line << " -> " << r.error().message;
  }
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("picket-ctl-" + std::to_string(getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "picket.sock").string();
    auto s = ControlServer::open({path_, 0660, "", 4});
    ASSERT_TRUE(static_cast<bool>(s)) << s.error().message;
    server_ = std::move(s.value());
    // The daemon's loop, in miniature.
    daemon_ = std::thread([this] {
      while (!stop_.load()) {
        server_->serve_pending([this](const Json& req) -> core::Result<Json> {
          ++handled_;
          if (req["cmd"] == "ban" && req["target"] == "198.18.0.1") return core::make_error("198.18.0.1 is allowlisted");
          return Json{{"echo", req["cmd"]}};
        });
        std::this_thread::sleep_for(5ms);
      }
    });
  }
  void TearDown() override {
    stop_.store(true);
    if (daemon_.joinable()) daemon_.join();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  // A raw connection, for what the client library would never send.
  core::UniqueFd raw_connect() {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path_.data(), path_.size());
    core::UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    EXPECT_EQ(connect(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)), 0);
    timeval tv{2, 0};
    setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
  }
  static std::string read_all_line(int fd) {
    std::string out;
    char c;
    while (recv(fd, &c, 1, 0) == 1 && c != '\n') out.push_back(c);
    return out;
  }

  std::filesystem::path dir_;
  std::string path_;
  std::unique_ptr<ControlServer> server_;
  std::thread daemon_;
  std::atomic<bool> stop_{false};
  std::atomic<int> handled_{0};
};

TEST_F(ServerTest, SocketHasTheConfiguredMode) {
  struct stat st{};
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
}

TEST_F(ServerTest, RequestsRunOnTheDaemonThreadAndGetReplies) {
  auto c = ControlClient::connect(path_);
  ASSERT_TRUE(static_cast<bool>(c)) << c.error().message;
  auto r = c->request({{"v", 1}, {"cmd", "status"}});
  ASSERT_TRUE(static_cast<bool>(r)) << r.error().message;
  EXPECT_EQ((*r)["ok"], true);
  EXPECT_EQ((*r)["result"]["echo"], "status");
  // The handler's error becomes an error reply, and the connection stays usable.
  r = c->request({{"v", 1}, {"cmd", "ban"}, {"target", "198.18.0.1"}});
  ASSERT_TRUE(static_cast<bool>(r));
  EXPECT_EQ((*r)["ok"], false);
  EXPECT_EQ((*r)["error"], "198.18.0.1 is allowlisted");
  r = c->request({{"v", 1}, {"cmd", "bans"}});
  ASSERT_TRUE(static_cast<bool>(r));
  EXPECT_EQ((*r)["result"]["echo"], "bans");
  EXPECT_EQ(handled_.load(), 3);
}

TEST_F(ServerTest, MalformedRequestsGetErrorsNotCrashes) {
  auto fd = raw_connect();
  for (const std::string line : {"garbage\n", "{\"v\":1,\"cmd\":\"nope\"}\n", "\x01\x02\xff\n", "{\"v\":1\n"}) {
    ASSERT_EQ(send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL), static_cast<ssize_t>(line.size()));
    const std::string reply = read_all_line(fd.get());
    Json j = Json::parse(reply, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << reply;
    EXPECT_EQ(j["ok"], false) << reply;
  }
  EXPECT_EQ(handled_.load(), 0);
  EXPECT_GE(server_->stats().bad_requests, 4u);
  // Still serving.
  auto c = ControlClient::connect(path_);
  ASSERT_TRUE(static_cast<bool>(c));
  EXPECT_EQ((*c->request({{"v", 1}, {"cmd", "status"}}))["ok"], true);
}

TEST_F(ServerTest, OverlongRequestIsRefusedAndTheConnectionClosed) {
  auto fd = raw_connect();
  const std::string big(ControlServer::kMaxRequestBytes + 10, 'x');
  size_t sent = 0;
  while (sent < big.size()) {
    const ssize_t n = send(fd.get(), big.data() + sent, big.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  const std::string reply = read_all_line(fd.get());
  EXPECT_NE(reply.find("too long"), std::string::npos) << reply;
  char c;
  EXPECT_EQ(recv(fd.get(), &c, 1, 0), 0);  // closed
}

TEST_F(ServerTest, TooManyClientsAreToldBusy) {
  std::vector<core::UniqueFd> held;
  for (int i = 0; i < 4; ++i) held.push_back(raw_connect());
  std::this_thread::sleep_for(100ms);
  auto extra = raw_connect();
  const std::string reply = read_all_line(extra.get());
  EXPECT_NE(reply.find("busy"), std::string::npos) << reply;
  EXPECT_GE(server_->stats().refused_busy, 1u);
}

TEST_F(ServerTest, EventsAreStreamedToSubscribersWithTheirFilter) {
  auto all = ControlClient::connect(path_);
  auto alerts = ControlClient::connect(path_);
  ASSERT_TRUE(static_cast<bool>(all) && static_cast<bool>(alerts));
  auto r1 = all->request({{"v", 1}, {"cmd", "events"}});
  auto r2 = alerts->request({{"v", 1}, {"cmd", "events"}, {"types", {"alert"}}});
  ASSERT_TRUE(static_cast<bool>(r1) && static_cast<bool>(r2));
  EXPECT_EQ((*r1)["result"]["following"], true);

  output::Event stats;
  stats.type = output::EventType::stats;
  stats.body = Json{{"packets", 1}};
  output::Event alert;
  alert.type = output::EventType::alert;
  alert.alert = output::AlertInfo{"picket: test", "Network Scan", 2, 1, "blocked"};
  server_->event_sink().emit(stats);
  server_->event_sink().emit(alert);

  auto collect = [](ControlClient& c, size_t want) {
    std::vector<std::string> lines;
    const auto until = std::chrono::steady_clock::now() + 3s;
    (void)c.follow([&](const std::string& l) { lines.push_back(l); },
                   [&] { return lines.size() < want && std::chrono::steady_clock::now() < until; });
    return lines;
  };
  auto got_all = collect(*all, 2);
  auto got_alerts = collect(*alerts, 1);
  ASSERT_EQ(got_all.size(), 2u);
  EXPECT_NE(got_all[0].find("\"event_type\":\"stats\""), std::string::npos);
  EXPECT_NE(got_all[1].find("\"event_type\":\"alert\""), std::string::npos);
  ASSERT_EQ(got_alerts.size(), 1u);
  EXPECT_NE(got_alerts[0].find("\"event_type\":\"alert\""), std::string::npos);
}

TEST_F(ServerTest, ASlowSubscriberLosesEventsCountedNeverBlocksTheEmitter) {
  auto fd = raw_connect();
  const std::string req = "{\"v\":1,\"cmd\":\"events\"}\n";
  ASSERT_EQ(send(fd.get(), req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  (void)read_all_line(fd.get());  // the reply; then never read again
  output::Event ev;
  ev.type = output::EventType::anomaly;
  ev.body = Json{{"type", "decode"}, {"padding", std::string(1000, 'p')}};
  for (int i = 0; i < 20'000; ++i) server_->event_sink().emit(ev);  // 20 MB into a 4 MiB bound
  EXPECT_GT(server_->stats().events_dropped, 0u);
}

TEST(ServerOpen, RefusesASecondServerOnALiveSocketAndReplacesAStaleOne) {
  const auto dir = std::filesystem::temp_directory_path() / ("picket-ctl2-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "s.sock").string();
  {
    auto first = ControlServer::open({path, 0660, "", 4});
    ASSERT_TRUE(static_cast<bool>(first)) << first.error().message;
    auto second = ControlServer::open({path, 0660, "", 4});
    ASSERT_FALSE(static_cast<bool>(second));
    EXPECT_NE(second.error().message.find("another picket"), std::string::npos);
  }
  EXPECT_FALSE(std::filesystem::exists(path));  // removed on destruction
  // A stale socket file (its owner died without removing it) is replaced.
  {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path.data(), path.size());
    core::UniqueFd fd(socket(AF_UNIX, SOCK_STREAM, 0));
    ASSERT_EQ(bind(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)), 0);
  }
  auto again = ControlServer::open({path, 0660, "", 4});
  EXPECT_TRUE(static_cast<bool>(again)) << (again ? "" : again.error().message);
  again.value().reset();
  auto bad_group = ControlServer::open({path, 0660, "no-such-group-picket", 4});
  ASSERT_FALSE(static_cast<bool>(bad_group));
  EXPECT_NE(bad_group.error().message.find("no such group"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(ClientConnect, NoDaemonIsAClearError) {
  auto c = ControlClient::connect("/nonexistent-dir/picket.sock", 500ms);
  ASSERT_FALSE(static_cast<bool>(c));
  EXPECT_NE(c.error().message.find("cannot reach picket"), std::string::npos);
}

}  // namespace
}  // namespace picket::control
