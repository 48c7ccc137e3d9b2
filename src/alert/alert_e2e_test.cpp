// End to end: AlertSink built from YAML, delivering to real receivers on loopback — an HTTP server
// (testing/http_receiver.py), an SMTP server (aiosmtpd, testing/smtp_receiver.py) and syslog
// sockets opened by the test. Receivers are started per test and killed by PID.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <regex>

#include "alert/alert_sink.hpp"
#include "alert/test_support.hpp"
#include "core/unique_fd.hpp"

namespace picket::alert {
namespace {

using namespace std::chrono_literals;
using testing::Child;
using testing::make_alert;
using testing::make_decision;
using testing::TempDir;
using testing::wait_for;

std::unique_ptr<AlertSink> sink_from(const std::string& yaml) {
  auto l = testing::load_yaml(yaml);
  if (!l.config) {
    ADD_FAILURE() << l.errors;
    return nullptr;
  }
  auto s = make_alert_sink(*l.config);
  if (!s) {
    ADD_FAILURE() << s.error().message;
    return nullptr;
  }
  return std::move(*s);
}

std::vector<nlohmann::json> read_posts(const std::filesystem::path& file) {
  std::vector<nlohmann::json> out;
  std::istringstream in(testing::read_file(file));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

// ---------------------------------------------------------------- webhook

struct HttpReceiver {
  TempDir dir;
  std::filesystem::path out = dir.path() / "posts.jsonl";
  std::unique_ptr<Child> child;
  int port = 0;
  explicit HttpReceiver(const std::string& mode) {
    child = std::make_unique<Child>(
        std::vector<std::string>{"python3", testing::helper_script("http_receiver.py"), out.string(), mode});
    port = child->read_port();
  }
  std::string url(std::string_view path = "/hook") const { return fmt::format("http://127.0.0.1:{}{}", port, path); }
};

TEST(AlertE2E, WebhookPostsTheEveJson) {
  HttpReceiver rx("ok");
  ASSERT_GT(rx.port, 0) << "http_receiver.py did not start";
  auto sink = sink_from(fmt::format(R"(alerts: {{webhook: {{enabled: true, url: "{}", include_decisions: true,
      headers: ["X-Picket-Test: yes"], retry_delay: 50ms}}}})",
                                    rx.url("/hook/secret-token")));
  ASSERT_TRUE(sink);
  output::Event alert = make_alert("port_scan", "198.18.0.1", 2);
  output::Event low = make_alert("port_scan", "198.18.0.2", 3);  // below the default min_severity (medium)
  output::Event decision = make_decision("port_scan", "198.18.0.1");
  sink->emit(alert);
  sink->emit(low);
  sink->emit(decision);
  sink->stop(core::Duration::seconds(5));
  auto posts = read_posts(rx.out);
  ASSERT_EQ(posts.size(), 2u);
  EXPECT_EQ(posts[0]["path"], "/hook/secret-token");
  EXPECT_EQ(posts[0]["body"], output::to_json_line(alert));
  EXPECT_EQ(posts[1]["body"], output::to_json_line(decision));
  EXPECT_EQ(posts[0]["headers"]["content-type"], "application/json");
  EXPECT_EQ(posts[0]["headers"]["x-picket-test"], "yes");
  auto st = sink->stats_json();
  EXPECT_EQ(st["webhook"]["sent"], 2);
  EXPECT_EQ(st["webhook"]["failed"], 0);
  // The status output never shows the URL's path (Slack keeps its token there).
  EXPECT_EQ(st["webhook"]["target"], fmt::format("http://127.0.0.1:{}", rx.port));
}

TEST(AlertE2E, WebhookSlackPayload) {
  HttpReceiver rx("ok");
  ASSERT_GT(rx.port, 0);
  auto sink = sink_from(fmt::format(R"(alerts: {{webhook: {{enabled: true, url: "{}", format: slack, max_per_minute: 1,
      digest_window: 1s}}}})",
                                    rx.url()));
  ASSERT_TRUE(sink);
  sink->emit(make_alert("syn_flood", "198.19.0.10", 1, "SYN flood <!channel>"));
  sink->emit(make_alert("syn_flood", "198.19.0.11", 1));
  sink->emit(make_alert("port_scan", "198.19.0.12", 2));
  ASSERT_TRUE(wait_for([&] { return sink->stats()[0].digests == 1; }));
  sink->stop(core::Duration::seconds(5));
  auto posts = read_posts(rx.out);
  ASSERT_EQ(posts.size(), 2u);
  for (const auto& p : posts) {
    auto body = nlohmann::json::parse(p["body"].get<std::string>());
    ASSERT_TRUE(body["text"].is_string()) << body;
    ASSERT_TRUE(body["blocks"].is_array()) << body;
    EXPECT_EQ(body["blocks"][0]["text"]["type"], "mrkdwn");
  }
  auto first = nlohmann::json::parse(posts[0]["body"].get<std::string>());
  EXPECT_NE(first["text"].get<std::string>().find("SYN flood &lt;!channel&gt;"), std::string::npos) << first;
  auto digest = nlohmann::json::parse(posts[1]["body"].get<std::string>());
  EXPECT_NE(digest["text"].get<std::string>().find("2 alerts in the last 1s"), std::string::npos) << digest;
}

TEST(AlertE2E, WebhookRetriesAfterServerErrors) {
  HttpReceiver rx("fail:2");
  ASSERT_GT(rx.port, 0);
  auto sink = sink_from(
      fmt::format(R"(alerts: {{webhook: {{enabled: true, url: "{}", retries: 3, retry_delay: 50ms}}}})", rx.url()));
  ASSERT_TRUE(sink);
  output::Event alert = make_alert("port_scan", "198.18.0.1", 1);
  sink->emit(alert);
  ASSERT_TRUE(wait_for([&] { return sink->stats()[0].sent == 1; }));
  sink->stop(core::Duration::seconds(5));
  auto posts = read_posts(rx.out);
  ASSERT_EQ(posts.size(), 3u);
  EXPECT_EQ(posts[0]["status"], 500);
  EXPECT_EQ(posts[1]["status"], 500);
  EXPECT_EQ(posts[2]["status"], 200);
  for (const auto& p : posts) EXPECT_EQ(p["body"], output::to_json_line(alert));
  DestinationStats st = sink->stats()[0];
  EXPECT_EQ(st.retries, 2u);
  EXPECT_EQ(st.failed, 0u);
  EXPECT_EQ(st.last_error, "HTTP 500: try again later");
}

TEST(AlertE2E, WebhookThatNeverAnswersDoesNotBlockEmit) {
  HttpReceiver rx("hang");
  ASSERT_GT(rx.port, 0);
  auto sink = sink_from(fmt::format(R"(alerts: {{webhook: {{enabled: true, url: "{}", timeout: 300ms, retries: 0,
      queue: 100}}}})",
                                    rx.url()));
  ASSERT_TRUE(sink);
  // The worker is stuck in a transfer: every emit only enqueues or drops.
  for (int i = 0; i < 10'000; ++i) sink->emit(make_alert("syn_flood", "198.19.0.10", 1));
  DestinationStats st = sink->stats()[0];
  EXPECT_GE(st.dropped_queue_full, 10'000u - 101u);
  EXPECT_EQ(st.accepted + st.dropped_queue_full, 10'000u);
  ASSERT_TRUE(wait_for([&] { return sink->stats()[0].failed >= 1; }));
  EXPECT_NE(sink->stats()[0].last_error.find("Timeout"), std::string::npos) << sink->stats()[0].last_error;
  sink->stop(core::Duration::millis(200));  // returns: what is left is counted, not waited for
  st = sink->stats()[0];
  EXPECT_EQ(st.sent, 0u);
  EXPECT_EQ(st.sent + st.failed + st.rate_limited + st.dropped_at_stop, st.accepted) << st.to_json();
}

TEST(AlertE2E, WebhookConnectionRefusedIsCounted) {
  // A port nothing listens on: bind one, close it.
  int port = 0;
  {
    core::UniqueFd fd(::socket(AF_INET, SOCK_STREAM, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    ASSERT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  auto sink = sink_from(fmt::format(
      R"(alerts: {{webhook: {{enabled: true, url: "http://127.0.0.1:{}/", retries: 1, retry_delay: 10ms}}}})", port));
  ASSERT_TRUE(sink);
  sink->emit(make_alert("port_scan", "198.18.0.1", 1));
  ASSERT_TRUE(wait_for([&] { return sink->stats()[0].failed == 1; }));
  EXPECT_EQ(sink->stats()[0].retries, 1u);
  EXPECT_NE(sink->stats()[0].last_error.find("onnect"), std::string::npos) << sink->stats()[0].last_error;
}

// ---------------------------------------------------------------- email

struct SmtpReceiver {
  TempDir dir;
  std::unique_ptr<Child> child;
  int port = 0;
  std::string skip_reason;
  explicit SmtpReceiver(std::vector<std::string> extra = {}) {
    std::string py = testing::python_with("aiosmtpd");
    if (py.empty()) {
      skip_reason = "python3 with aiosmtpd not found (Debian package python3-aiosmtpd; scripts/install-deps.sh)";
      return;
    }
    std::vector<std::string> argv = {py, testing::helper_script("smtp_receiver.py"), dir.path().string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    child = std::make_unique<Child>(argv);
    port = child->read_port();
  }
  std::vector<std::filesystem::path> mails() const {
    std::vector<std::filesystem::path> out;
    for (const auto& e : std::filesystem::directory_iterator(dir.path()))
      if (e.path().extension() == ".eml") out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
  }
};

std::string header_of(const std::string& mail, const std::string& name) {
  std::regex re("(^|\r?\n)" + name + ": ([^\r\n]*)");
  std::smatch m;
  return std::regex_search(mail, m, re) ? m[2].str() : "<missing>";
}

#define START_SMTP(rx, ...)                                    \
  SmtpReceiver rx{__VA_ARGS__};                                \
  if (!rx.skip_reason.empty()) GTEST_SKIP() << rx.skip_reason; \
  ASSERT_GT(rx.port, 0) << "smtp_receiver.py did not start"

TEST(AlertE2E, EmailArrivesWithSubjectAndBody) {
  START_SMTP(rx);
  auto sink =
      sink_from(fmt::format(R"(alerts: {{email: {{enabled: true, url: "smtp://127.0.0.1:{}", from: picket@example.org,
      to: [ops@example.org, sec@example.org], retry_delay: 50ms}}}})",
                            rx.port));
  ASSERT_TRUE(sink);
  output::Event alert = make_alert("syn_flood", "198.19.0.10", 1, "SYN flood\r\nBcc: victim@example.org");
  alert.picket["evidence"]["line"] = ".\r\n.leading dot";  // a lone "." line must not end the DATA early
  sink->emit(alert);
  sink->emit(make_alert("port_scan", "198.18.0.1", 2));  // below email's default min_severity (high)
  sink->stop(core::Duration::seconds(10));
  auto mails = rx.mails();
  ASSERT_EQ(mails.size(), 1u) << sink->stats_json();
  std::string mail = testing::read_file(mails[0]);
  EXPECT_EQ(header_of(mail, "Subject"),
            "[picket] high: syn_flood from 198.19.0.10 - SYN flood  Bcc: victim@example.org");
  EXPECT_EQ(header_of(mail, "To"), "ops@example.org, sec@example.org");
  EXPECT_NE(header_of(mail, "From").find("<picket@example.org>"), std::string::npos);
  EXPECT_NE(header_of(mail, "Message-ID"), "<missing>");
  EXPECT_NE(header_of(mail, "Date"), "<missing>");
  EXPECT_EQ(header_of(mail, "Bcc"), "<missing>");
  EXPECT_NE(mail.find("Severity:    1 (high)"), std::string::npos) << mail;
  EXPECT_NE(mail.find("\"detector\": \"syn_flood\""), std::string::npos) << mail;
  EXPECT_NE(mail.find(output::to_text_line(alert)), std::string::npos) << mail;
  auto env = nlohmann::json::parse(testing::read_file(mails[0].parent_path() / (mails[0].stem().string() + ".json")));
  EXPECT_EQ(env["mail_from"], "picket@example.org");
  EXPECT_EQ(env["rcpt_tos"], nlohmann::json::array({"ops@example.org", "sec@example.org"}));
  EXPECT_EQ(env["helo"], local_origin().hostname);  // not libcurl's default "localhost"
  EXPECT_EQ(sink->stats()[0].sent, 1u);
}

TEST(AlertE2E, EmailWaveBecomesFewDigestMails) {
  START_SMTP(rx);
  auto sink =
      sink_from(fmt::format(R"(alerts: {{email: {{enabled: true, url: "smtp://127.0.0.1:{}", from: picket@example.org,
      to: [ops@example.org], max_per_minute: 5, digest_window: 1s, queue: 1000}}}})",
                            rx.port));
  ASSERT_TRUE(sink);
  for (int i = 0; i < 400; ++i) sink->emit(make_alert("port_scan", "10.1.0." + std::to_string(i % 20 + 1), 1));
  for (int i = 0; i < 100; ++i) sink->emit(make_alert("syn_flood", "10.2.0.1", 1));
  ASSERT_TRUE(wait_for([&] { return sink->stats()[0].digests >= 1; }, 15s)) << sink->stats_json();
  sink->stop(core::Duration::seconds(10));
  DestinationStats st = sink->stats()[0];
  EXPECT_EQ(st.accepted, 500u);
  EXPECT_EQ(st.failed, 0u) << st.last_error;
  auto mails = rx.mails();
  EXPECT_EQ(mails.size(), st.sent);
  EXPECT_LE(mails.size(), 7u);  // 5 single mails + the digest (+1 if the wave straddled a window)
  uint64_t summed = 0;
  bool found = false;
  for (const auto& m : mails) {
    std::string mail = testing::read_file(m);
    std::string subject = header_of(mail, "Subject");
    if (!subject.starts_with("[picket] digest: ")) continue;
    found = true;
    summed += std::stoull(subject.substr(17));
    EXPECT_NE(mail.find("port_scan"), std::string::npos);
    EXPECT_NE(mail.find("Top sources:"), std::string::npos);
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(summed, 495u);  // every rate-limited alert is in a digest
}

TEST(AlertE2E, EmailAuthentication) {
  START_SMTP(rx, std::vector<std::string>{"--auth", "picket:s3cret"});
  TempDir pw;
  std::ofstream(pw.path() / "pw") << "s3cret\n";
  auto good =
      sink_from(fmt::format(R"(alerts: {{email: {{enabled: true, url: "smtp://127.0.0.1:{}", from: a@example.org,
      to: [b@example.org], username: picket, password_file: {}}}}})",
                            rx.port, (pw.path() / "pw").string()));
  ASSERT_TRUE(good);
  good->emit(make_alert("syn_flood", "198.19.0.10", 1));
  good->stop(core::Duration::seconds(10));
  ASSERT_EQ(rx.mails().size(), 1u) << good->stats_json();
  auto env = nlohmann::json::parse(testing::read_file(rx.dir.path() / "0001.json"));
  EXPECT_EQ(env["authenticated"], true);

  auto bad = sink_from(fmt::format(R"(alerts: {{email: {{enabled: true, url: "smtp://127.0.0.1:{}", from: a@example.org,
      to: [b@example.org], username: picket, password: wrong, retries: 0}}}})",
                                   rx.port));
  ASSERT_TRUE(bad);
  bad->emit(make_alert("syn_flood", "198.19.0.10", 1));
  bad->stop(core::Duration::seconds(10));
  EXPECT_EQ(bad->stats()[0].failed, 1u);
  EXPECT_NE(bad->stats()[0].last_error.find("Login denied"), std::string::npos) << bad->stats()[0].last_error;
  EXPECT_EQ(rx.mails().size(), 1u);
}

TEST(AlertE2E, EmailStartTls) {
  if (std::system("openssl version >/dev/null 2>&1") != 0) GTEST_SKIP() << "openssl CLI not found";
  TempDir certs;
  std::string cert = (certs.path() / "cert.pem").string();
  std::string key = (certs.path() / "key.pem").string();
  std::string cmd = fmt::format(
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
      "-keyout {} -out {} >/dev/null 2>&1",
      key, cert);
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  START_SMTP(rx, std::vector<std::string>{"--tls", cert, key});
  auto sink =
      sink_from(fmt::format(R"(alerts: {{email: {{enabled: true, url: "smtp://127.0.0.1:{}", from: a@example.org,
      to: [b@example.org], tls: require, ca_file: {}}}}})",
                            rx.port, cert));
  ASSERT_TRUE(sink);
  sink->emit(make_alert("syn_flood", "198.19.0.10", 1));
  sink->stop(core::Duration::seconds(10));
  ASSERT_EQ(rx.mails().size(), 1u) << sink->stats_json();
  auto env = nlohmann::json::parse(testing::read_file(rx.dir.path() / "0001.json"));
  EXPECT_EQ(env["tls"], true);  // STARTTLS was offered and used

  // Without the CA the certificate does not verify: the mail is not sent in clear instead.
  auto unverified =
      sink_from(fmt::format(R"(alerts: {{email: {{enabled: true, url: "smtp://127.0.0.1:{}", from: a@example.org,
      to: [b@example.org], retries: 0}}}})",
                            rx.port));
  ASSERT_TRUE(unverified);
  unverified->emit(make_alert("syn_flood", "198.19.0.10", 1));
  unverified->stop(core::Duration::seconds(10));
  EXPECT_EQ(unverified->stats()[0].failed, 1u);
  EXPECT_EQ(rx.mails().size(), 1u);
}

// ---------------------------------------------------------------- syslog

const std::regex kRfc5424(
    R"(^<(\d{1,3})>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z \S+ (\S+) \d+ (\S+) \[picket@32473( [a-z_]+="[^"]*")+\] (.+)$)");

std::string recv_datagram(int fd, std::chrono::milliseconds limit = 5s) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return "";
  char buf[16384];
  ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

void check_syslog(const std::string& line, int pri, const output::Event& e) {
  std::smatch m;
  ASSERT_TRUE(std::regex_match(line, m, kRfc5424)) << line;
  EXPECT_EQ(std::stoi(m[1]), pri) << line;
  EXPECT_EQ(m[2], "picket");
  EXPECT_EQ(m[3].str(), std::string(output::event_type_name(e.type)));
  EXPECT_EQ(m[5], output::to_text_line(e));
  EXPECT_NE(line.find("src=\"" + e.src_ip.to_string() + "\""), std::string::npos);
}

TEST(AlertE2E, SyslogUdp) {
  core::UniqueFd fd(::socket(AF_INET, SOCK_DGRAM, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  ASSERT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
  auto sink = sink_from(fmt::format(R"(alerts: {{syslog: {{enabled: true, target: "udp:127.0.0.1:{}", facility: local0,
      include_decisions: true}}}})",
                                    ntohs(a.sin_port)));
  ASSERT_TRUE(sink);
  output::Event alert = make_alert("syn_flood", "198.19.0.10", 1);
  output::Event decision = make_decision("syn_flood", "198.19.0.10");
  sink->emit(alert);
  sink->emit(decision);
  check_syslog(recv_datagram(fd.get()), 16 * 8 + 2, alert);
  check_syslog(recv_datagram(fd.get()), 16 * 8 + 5, decision);
  sink->stop(core::Duration::seconds(5));
  EXPECT_EQ(sink->stats()[0].sent, 2u);
}

TEST(AlertE2E, SyslogUnixDatagram) {
  TempDir dir;
  std::string path = (dir.path() / "log").string();
  core::UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM, 0));
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof(a.sun_path), "%s", path.c_str());
  ASSERT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  auto sink =
      sink_from(fmt::format(R"(alerts: {{syslog: {{enabled: true, target: "unix:{}", min_severity: low}}}})", path));
  ASSERT_TRUE(sink);
  output::Event alert = make_alert("port_scan", "2001:db8::7", 3);
  sink->emit(alert);
  check_syslog(recv_datagram(fd.get()), 4 * 8 + 5, alert);  // default facility auth, low → notice
  sink->stop(core::Duration::seconds(5));

  // The socket gone (syslog daemon down): failures are counted with the system's reason.
  fd.reset();
  std::filesystem::remove(path);
  auto down = sink_from(
      fmt::format(R"(alerts: {{syslog: {{enabled: true, target: "unix:{}", retries: 1, retry_delay: 10ms}}}})", path));
  ASSERT_TRUE(down);
  down->emit(make_alert("port_scan", "10.0.0.1", 1));
  down->stop(core::Duration::seconds(5));
  EXPECT_EQ(down->stats()[0].failed, 1u);
  EXPECT_NE(down->stats()[0].last_error.find("No such file or directory"), std::string::npos)
      << down->stats()[0].last_error;
}

TEST(AlertE2E, SyslogTcpOctetCounting) {
  core::UniqueFd lfd(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  ASSERT_EQ(::bind(lfd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(::listen(lfd.get(), 4), 0);
  ::getsockname(lfd.get(), reinterpret_cast<sockaddr*>(&a), &len);
  auto sink =
      sink_from(fmt::format(R"(alerts: {{syslog: {{enabled: true, target: "tcp:127.0.0.1:{}"}}}})", ntohs(a.sin_port)));
  ASSERT_TRUE(sink);
  std::vector<output::Event> events = {make_alert("syn_flood", "198.19.0.10", 1),
                                       make_alert("port_scan", "198.19.0.11", 2)};
  for (const auto& e : events) sink->emit(e);
  ASSERT_TRUE(wait_for([&] { return sink->stats()[0].sent == 2; })) << sink->stats_json();
  sink.reset();  // stops and closes the connection, so the reader below sees the end of the stream
  pollfd p{lfd.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1);
  core::UniqueFd conn(::accept(lfd.get(), nullptr, nullptr));
  std::string stream;
  char buf[4096];
  for (ssize_t n; (n = ::recv(conn.get(), buf, sizeof(buf), 0)) > 0;) stream.append(buf, static_cast<size_t>(n));
  // Frames: "LEN SP MSG", back to back, no newline.
  const int pris[] = {4 * 8 + 2, 4 * 8 + 4};
  size_t pos = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    size_t sp = stream.find(' ', pos);
    ASSERT_NE(sp, std::string::npos) << stream;
    size_t n = std::stoul(stream.substr(pos, sp - pos));
    ASSERT_LE(sp + 1 + n, stream.size()) << stream;
    check_syslog(stream.substr(sp + 1, n), pris[i], events[i]);
    pos = sp + 1 + n;
  }
  EXPECT_EQ(pos, stream.size());
}

}  // namespace
}  // namespace picket::alert
