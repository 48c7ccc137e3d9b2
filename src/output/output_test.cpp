#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "output/event.hpp"
#include "output/sinks.hpp"

namespace picket::output {
namespace {

using Json = nlohmann::ordered_json;
namespace fs = std::filesystem;

const core::Timestamp kTs = core::Timestamp::from_parts(1'700'000'000, 123'456'789);
constexpr const char* kTsText = "2023-11-14T22:13:20.123456+0000";

core::IpAddress ip(const char* text) { return *core::IpAddress::parse(text); }

Event port_scan_alert() {
  Event e;
  e.type = EventType::alert;
  e.ts = kTs;
  e.src_ip = ip("198.18.0.1");
  e.src_port = 40000;
  e.dest_ip = ip("198.51.100.7");
  e.dest_port = 22;
  e.proto = 6;
  e.alert = AlertInfo{"picket: TCP port scan from a single source", "Network Scan", 2, 1001, "allowed"};
  e.picket = Json{{"detector", "port_scan"}, {"distinct_ports", 120}, {"window", "10s"}};
  return e;
}

Event block_decision() {
  Event e;
  e.type = EventType::decision;
  e.ts = kTs;
  e.src_ip = ip("198.18.0.1");
  e.body = Json{{"action", "block"}, {"target", "198.18.0.1"}, {"duration", "10m"}};
  e.picket = Json{{"detector", "syn_flood"}};
  return e;
}

Event icmpv6_anomaly() {
  Event e;
  e.type = EventType::anomaly;
  e.ts = kTs;
  e.src_ip = ip("2001:db8::1");
  e.dest_ip = ip("2001:db8::2");
  e.proto = 58;
  e.body = Json{{"type", "decode"}, {"event", "icmpv6_truncated"}, {"layer", "icmpv6"}};
  e.picket = Json{{"count", 3}};
  return e;
}

Event stats_snapshot() {
  Event e;
  e.type = EventType::stats;
  e.ts = kTs;
  e.body = Json{{"packets", 1000},
                {"bytes", 64000},
                {"anomalies", Json{{"ipv4_truncated", 2}}},
                {"findings", 1},
                {"decisions", 0}};
  return e;
}

Event ipv6_udp_alert() {
  Event e;
  e.type = EventType::alert;
  e.ts = kTs;
  e.src_ip = ip("2001:db8::1");
  e.src_port = 443;
  e.dest_ip = ip("2001:db8:0:0::2");
  e.dest_port = 51000;
  e.proto = 17;
  e.alert = AlertInfo{"picket: UDP flood", "Denial of Service", 1, 0, ""};
  // Extra alert members are appended; a clash with an AlertInfo field is dropped.
  e.body = Json{{"gid", 1}, {"severity", 9}};
  e.picket = Json{{"detector", "udp_flood"}, {"pps", 1234.5}, {"ratio", 0.1}};
  return e;
}

struct RenderCase {
  const char* name;
  Event event;
  std::string json;
  std::string text;
};

std::vector<RenderCase> render_cases() {
  const std::string ts = kTsText;
  return {
      {"alert_v4_tcp", port_scan_alert(),
       "{\"timestamp\":\"" + ts +
           "\",\"event_type\":\"alert\",\"src_ip\":\"198.18.0.1\",\"src_port\":40000,"
           "\"dest_ip\":\"198.51.100.7\",\"dest_port\":22,\"proto\":\"TCP\","
           "\"alert\":{\"action\":\"allowed\",\"signature_id\":1001,"
           "\"signature\":\"picket: TCP port scan from a single source\","
           "\"category\":\"Network Scan\",\"severity\":2},"
           "\"picket\":{\"detector\":\"port_scan\",\"distinct_ports\":120,\"window\":\"10s\"}}",
       ts + " alert port_scan \"picket: TCP port scan from a single source\" "
            "198.18.0.1:40000 -> 198.51.100.7:22 TCP severity=2 action=allowed "
            "distinct_ports=120 window=10s"},
      {"decision", block_decision(),
       "{\"timestamp\":\"" + ts +
           "\",\"event_type\":\"decision\",\"src_ip\":\"198.18.0.1\","
           "\"decision\":{\"action\":\"block\",\"target\":\"198.18.0.1\",\"duration\":\"10m\"},"
           "\"picket\":{\"detector\":\"syn_flood\"}}",
       ts + " decision syn_flood 198.18.0.1 -> - action=block target=198.18.0.1 duration=10m"},
      {"anomaly_v6_icmp", icmpv6_anomaly(),
       "{\"timestamp\":\"" + ts +
           "\",\"event_type\":\"anomaly\",\"src_ip\":\"2001:db8::1\",\"dest_ip\":\"2001:db8::2\","
           "\"proto\":\"IPv6-ICMP\","
           "\"anomaly\":{\"type\":\"decode\",\"event\":\"icmpv6_truncated\",\"layer\":\"icmpv6\"},"
           "\"picket\":{\"count\":3}}",
       ts + " anomaly - 2001:db8::1 -> 2001:db8::2 IPv6-ICMP type=decode event=icmpv6_truncated "
            "layer=icmpv6 count=3"},
      {"stats", stats_snapshot(),
       "{\"timestamp\":\"" + ts +
           "\",\"event_type\":\"stats\",\"stats\":{\"packets\":1000,\"bytes\":64000,"
           "\"anomalies\":{\"ipv4_truncated\":2},\"findings\":1,\"decisions\":0}}",
       ts + " stats - packets=1000 bytes=64000 anomalies.ipv4_truncated=2 findings=1 decisions=0"},
      {"alert_v6_udp_extra_members", ipv6_udp_alert(),
       "{\"timestamp\":\"" + ts +
           "\",\"event_type\":\"alert\",\"src_ip\":\"2001:db8::1\",\"src_port\":443,"
           "\"dest_ip\":\"2001:db8::2\",\"dest_port\":51000,\"proto\":\"UDP\","
           "\"alert\":{\"signature\":\"picket: UDP flood\",\"category\":\"Denial of Service\","
           "\"severity\":1,\"gid\":1},"
           "\"picket\":{\"detector\":\"udp_flood\",\"pps\":1234.5,\"ratio\":0.1}}",
       ts + " alert udp_flood \"picket: UDP flood\" [2001:db8::1]:443 -> [2001:db8::2]:51000 UDP "
            "severity=1 gid=1 pps=1234.5 ratio=0.1"},
  };
}

TEST(Render, EveryEventTypeHasTheExactJsonLine) {
  for (const auto& c : render_cases()) {
    EXPECT_EQ(to_json_line(c.event), c.json) << c.name;
    // Valid JSON that round-trips, and one line.
    EXPECT_TRUE(Json::accept(to_json_line(c.event))) << c.name;
    EXPECT_EQ(to_json_line(c.event).find('\n'), std::string::npos) << c.name;
  }
}

TEST(Render, EveryEventTypeHasTheExactTextLine) {
  for (const auto& c : render_cases()) {
    EXPECT_EQ(to_text_line(c.event), c.text) << c.name;
  }
}

TEST(Render, OmittedFieldsAreAbsent) {
  struct Case {
    const char* name;
    Event event;
    std::vector<const char*> present;
    std::vector<const char*> absent;
  };
  Event bare;  // stats, nothing set
  bare.ts = kTs;
  Event icmp = icmpv6_anomaly();
  icmp.proto = 1;
  Event one_port = port_scan_alert();
  one_port.src_port.reset();
  one_port.alert->action.clear();
  one_port.alert->signature_id = 0;
  Event null_picket = block_decision();
  null_picket.picket = nullptr;
  null_picket.body = nullptr;
  const Case cases[] = {
      {"bare stats", bare, {"timestamp", "event_type"},
       {"src_ip", "src_port", "dest_ip", "dest_port", "proto", "alert", "stats", "picket"}},
      {"icmp", icmp, {"src_ip", "dest_ip", "proto", "anomaly", "picket"},
       {"src_port", "dest_port", "alert"}},
      {"dest port only", one_port, {"dest_port", "alert"}, {"src_port"}},
      {"null body and picket", null_picket, {"src_ip"}, {"decision", "picket", "dest_ip", "proto"}},
  };
  for (const auto& c : cases) {
    const Json j = Json::parse(to_json_line(c.event));
    for (const char* k : c.present) EXPECT_TRUE(j.contains(k)) << c.name << ": " << k;
    for (const char* k : c.absent) EXPECT_FALSE(j.contains(k)) << c.name << ": " << k;
  }
  // Empty action / zero signature_id are omitted inside the alert object too.
  const Json j = Json::parse(to_json_line(one_port));
  EXPECT_FALSE(j["alert"].contains("action"));
  EXPECT_FALSE(j["alert"].contains("signature_id"));
  EXPECT_EQ(j["alert"]["severity"], 2);
  EXPECT_EQ(to_json_line(bare),
            std::string("{\"timestamp\":\"") + kTsText + "\",\"event_type\":\"stats\"}");
  EXPECT_EQ(to_text_line(bare), std::string(kTsText) + " stats -");
}

TEST(Render, AlertBodyWithoutAlertInfoAndNonObjectBodies) {
  Event e;
  e.type = EventType::alert;
  e.ts = kTs;
  e.body = "raw";
  EXPECT_EQ(to_json_line(e), std::string("{\"timestamp\":\"") + kTsText +
                                 "\",\"event_type\":\"alert\",\"alert\":{\"data\":\"raw\"}}");
  EXPECT_EQ(to_text_line(e), std::string(kTsText) + " alert - data=raw");
  e.type = EventType::stats;
  e.body = Json::array({1, 2});
  e.picket = 7;
  EXPECT_EQ(to_json_line(e), std::string("{\"timestamp\":\"") + kTsText +
                                 "\",\"event_type\":\"stats\",\"stats\":[1,2],\"picket\":7}");
  EXPECT_EQ(to_text_line(e), std::string(kTsText) + " stats - stats=[1,2] picket=7");
}

TEST(Render, ProtoNames) {
  const std::pair<uint8_t, const char*> cases[] = {
      {1, "ICMP"}, {6, "TCP"}, {17, "UDP"}, {58, "IPv6-ICMP"}, {47, "47"}, {132, "132"}, {255, "255"}};
  for (const auto& [num, name] : cases) {
    EXPECT_EQ(proto_name(num), name);
    Event e;
    e.proto = num;
    EXPECT_EQ(Json::parse(to_json_line(e))["proto"], name);
  }
}

TEST(Render, EventTypeNamesRoundTrip) {
  for (EventType t : {EventType::alert, EventType::decision, EventType::anomaly, EventType::stats}) {
    auto parsed = parse_event_type(event_type_name(t));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(*parsed, t);
  }
  for (const char* bad : {"", "Alert", "flow", "stats "}) EXPECT_FALSE(parse_event_type(bad)) << bad;
}

TEST(Render, TextValuesAreQuotedWhenAmbiguous) {
  Event e;
  e.ts = kTs;
  e.type = EventType::anomaly;
  e.src_ip = ip("198.18.0.9");
  e.src_port = 5;  // a port without the other side still renders
  e.picket = Json{{"detector", "weird detector"},
                  {"user", "bob smith"},
                  {"q", "a=b"},
                  {"empty", ""},
                  {"nl", "a\nb"},
                  {"list", Json::array({1, 2})},
                  {"flag", true},
                  {"none", nullptr},
                  {"nested", Json{{"deep", Json{{"x", 1}}}, {"e", Json::object()}}},
                  {"odd key", 1}};
  EXPECT_EQ(to_text_line(e),
            std::string(kTsText) +
                " anomaly \"weird detector\" 198.18.0.9:5 -> - user=\"bob smith\" q=\"a=b\" "
                "empty=\"\" nl=\"a\\nb\" list=[1,2] flag=true none=null nested.deep.x=1 nested.e={} "
                "\"odd key\"=1");
}

TEST(Render, InvalidUtf8IsReplacedNotThrown) {
  Event e = port_scan_alert();
  e.alert->signature = "bad \xff\xfe sig";
  e.picket = Json{{"detector", "dns"}, {"name", "\xc3\x28x"}, {"k\xff", "v"}, {"ok", "caf\xc3\xa9"}};
  std::string json;
  std::string text;
  ASSERT_NO_THROW(json = to_json_line(e));
  ASSERT_NO_THROW(text = to_text_line(e));
  EXPECT_NE(json.find("\"signature\":\"bad \\ufffd\\ufffd sig\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"name\":\"\\ufffd(x\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"k\\ufffd\":\"v\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"ok\":\"caf\\u00e9\""), std::string::npos) << json;
  for (unsigned char c : json + text) EXPECT_LT(c, 0x80) << "output must be ASCII";
  EXPECT_TRUE(Json::accept(json));
  EXPECT_NE(text.find("name=\"\\ufffd(x\""), std::string::npos) << text;
}

TEST(Render, SameEventsGiveIdenticalBytes) {
  for (const auto& c : render_cases()) {
    Event copy = c.event;
    EXPECT_EQ(to_json_line(copy), to_json_line(c.event));
    EXPECT_EQ(to_text_line(copy), to_text_line(c.event));
  }
}

// --- sinks -------------------------------------------------------------------------------

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "picket_output_XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const char* name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(JsonLinesSink, WritesOneLinePerEventAndBuffersUntilFlush) {
  TempDir dir;
  const auto path = dir.file("events.json");
  auto sink = JsonLinesSink::open(path);
  ASSERT_TRUE(sink) << sink.error().message;
  (*sink)->emit(port_scan_alert());
  (*sink)->emit(stats_snapshot());
  EXPECT_EQ(read_all(path), "");  // buffered
  (*sink)->flush();
  EXPECT_EQ(read_all(path), to_json_line(port_scan_alert()) + "\n" + to_json_line(stats_snapshot()) + "\n");
  EXPECT_EQ((*sink)->write_errors(), 0u);
}

TEST(JsonLinesSink, FlushEachAndDestructorFlush) {
  TempDir dir;
  const auto path = dir.file("events.json");
  {
    JsonLinesSink live(path, /*flush_each=*/true);
    live.emit(block_decision());
    EXPECT_EQ(read_all(path), to_json_line(block_decision()) + "\n");
  }
  {
    JsonLinesSink buffered(path);
    buffered.emit(icmpv6_anomaly());
  }  // destruction flushes, and the file was opened for append
  EXPECT_EQ(read_all(path), to_json_line(block_decision()) + "\n" + to_json_line(icmpv6_anomaly()) + "\n");
}

TEST(JsonLinesSink, ReopenAfterRenameWritesToANewFile) {
  TempDir dir;
  const auto path = dir.file("events.json");
  const auto rotated = dir.file("events.json.1");
  JsonLinesSink sink(path);
  sink.emit(port_scan_alert());
  sink.flush();
  fs::rename(path, rotated);
  sink.emit(block_decision());  // still buffered: reopen() must deliver it to the old file
  sink.reopen();
  sink.emit(stats_snapshot());
  sink.flush();
  EXPECT_EQ(read_all(rotated), to_json_line(port_scan_alert()) + "\n" + to_json_line(block_decision()) + "\n");
  EXPECT_EQ(read_all(path), to_json_line(stats_snapshot()) + "\n");
  EXPECT_EQ(sink.write_errors(), 0u);
}

TEST(JsonLinesSink, FailedReopenKeepsTheOldFile) {
  TempDir dir;
  const auto sub = dir.file("sub");
  fs::create_directory(sub);
  const auto path = sub + "/events.json";
  JsonLinesSink sink(path, true);
  sink.emit(port_scan_alert());
  fs::rename(path, dir.file("kept.json"));
  fs::remove(sub);  // the path cannot be created again
  sink.reopen();
  EXPECT_EQ(sink.write_errors(), 1u);
  EXPECT_NE(sink.last_error().find("cannot open events file " + path), std::string::npos);
  sink.emit(stats_snapshot());
  EXPECT_EQ(read_all(dir.file("kept.json")),
            to_json_line(port_scan_alert()) + "\n" + to_json_line(stats_snapshot()) + "\n");
  EXPECT_EQ(sink.dropped_events(), 0u);
}

TEST(JsonLinesSink, OpenErrorNamesThePathAndReason) {
  TempDir dir;
  const auto path = dir.file("missing/events.json");
  auto json = JsonLinesSink::open(path);
  ASSERT_FALSE(json);
  EXPECT_EQ(json.error().message, "cannot open events file " + path + ": No such file or directory");
  auto text = TextLogSink::open(path);
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().message, "cannot open events file " + path + ": No such file or directory");
  // A sink constructed directly survives and counts what it loses.
  JsonLinesSink sink(path);
  sink.emit(stats_snapshot());
  sink.emit(stats_snapshot());
  sink.flush();
  EXPECT_EQ(sink.dropped_events(), 2u);
  EXPECT_GE(sink.write_errors(), 2u);
}

TEST(JsonLinesSink, WriteErrorsAreCountedOnDevFull) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  JsonLinesSink each("/dev/full", true);
  each.emit(port_scan_alert());
  each.emit(port_scan_alert());
  EXPECT_EQ(each.write_errors(), 2u);
  EXPECT_EQ(each.dropped_events(), 2u);
  EXPECT_EQ(each.last_error(), "write to events file /dev/full failed: No space left on device");

  JsonLinesSink buffered("/dev/full");
  for (int i = 0; i < 3; ++i) buffered.emit(stats_snapshot());
  EXPECT_EQ(buffered.write_errors(), 0u);
  buffered.flush();
  EXPECT_EQ(buffered.write_errors(), 1u);
  EXPECT_EQ(buffered.dropped_events(), 3u);
  buffered.flush();  // the failed buffer was dropped, not retried forever
  EXPECT_EQ(buffered.write_errors(), 1u);
}

TEST(JsonLinesSink, ClosedPipeIsCountedNotFatal) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const std::string path = "/dev/fd/" + std::to_string(fds[1]);
  {
    TextLogSink sink(path, true);  // opened while the reader is alive, so open() does not block
    ::close(fds[0]);
    sink.emit(block_decision());  // SIGPIPE would kill the test binary here
    EXPECT_EQ(sink.write_errors(), 1u);
    EXPECT_EQ(sink.dropped_events(), 1u);
    EXPECT_NE(sink.last_error().find("Broken pipe"), std::string::npos) << sink.last_error();
  }
  ::close(fds[1]);
  sigset_t pending;
  sigemptyset(&pending);
  sigpending(&pending);
  EXPECT_EQ(sigismember(&pending, SIGPIPE), 0) << "SIGPIPE left pending";
}

TEST(JsonLinesSink, DashWritesToStdout) {
  TempDir dir;
  const auto path = dir.file("stdout.txt");
  std::fflush(stdout);
  const int saved = ::dup(1);
  ASSERT_GE(saved, 0);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  ::dup2(fd, 1);
  ::close(fd);
  {
    auto sink = JsonLinesSink::open("-");
    ASSERT_TRUE(sink);
    (*sink)->emit(stats_snapshot());
    (*sink)->reopen();  // flushes; must not close stdout
    (*sink)->emit(block_decision());
  }
  const bool stdout_still_open = ::fcntl(1, F_GETFD) != -1;
  ::dup2(saved, 1);
  ::close(saved);
  EXPECT_TRUE(stdout_still_open);
  EXPECT_EQ(read_all(path), to_json_line(stats_snapshot()) + "\n" + to_json_line(block_decision()) + "\n");
}

TEST(TextLogSink, WritesTextLines) {
  TempDir dir;
  const auto path = dir.file("picket.log");
  auto sink = TextLogSink::open(path);
  ASSERT_TRUE(sink) << sink.error().message;
  for (const auto& c : render_cases()) (*sink)->emit(c.event);
  (*sink)->flush();
  std::string expected;
  for (const auto& c : render_cases()) expected += c.text + "\n";
  EXPECT_EQ(read_all(path), expected);
}

TEST(FanoutSink, ForwardsToOwnedAndBorrowedSinksInOrder) {
  MemorySink borrowed;
  auto owned = std::make_unique<MemorySink>();
  MemorySink* owned_view = owned.get();
  FanoutSink fan;
  fan.add(borrowed);
  fan.add(std::move(owned));
  fan.add(std::unique_ptr<EventSink>{});  // ignored
  EXPECT_EQ(fan.size(), 2u);
  fan.emit(port_scan_alert());
  fan.emit(stats_snapshot());
  fan.flush();
  fan.reopen();
  fan.reopen();
  for (const MemorySink* m : {&borrowed, owned_view}) {
    ASSERT_EQ(m->events().size(), 2u);
    EXPECT_EQ(to_json_line(m->events()[0]), to_json_line(port_scan_alert()));
    EXPECT_EQ(m->events()[1].type, EventType::stats);
    EXPECT_EQ(m->flushes(), 1u);
    EXPECT_EQ(m->reopens(), 2u);
  }
  borrowed.clear();
  EXPECT_TRUE(borrowed.events().empty());
}

TEST(FanoutSink, RemoveHandsBackOwnedSinksAndStopsForwarding) {
  MemorySink borrowed;
  auto owned = std::make_unique<MemorySink>();
  MemorySink* owned_view = owned.get();
  FanoutSink fan;
  fan.add(borrowed);
  fan.add(std::move(owned));
  auto back = fan.remove(owned_view);
  ASSERT_EQ(back.get(), owned_view) << "the owned sink comes back to the caller";
  EXPECT_EQ(fan.size(), 1u);
  EXPECT_EQ(fan.remove(&borrowed), nullptr) << "borrowed: removed, nothing to hand back";
  EXPECT_EQ(fan.size(), 0u);
  EXPECT_EQ(fan.remove(owned_view), nullptr) << "not there any more";
  fan.emit(port_scan_alert());
  EXPECT_TRUE(owned_view->events().empty());
  EXPECT_TRUE(borrowed.events().empty());
}

}  // namespace
}  // namespace picket::output
