#include "alert/destination.hpp"

#include <gtest/gtest.h>

#include "alert/alert_sink.hpp"
#include "alert/test_support.hpp"

namespace picket::alert {
namespace {

using core::Duration;
using testing::make_alert;
using testing::make_decision;
using testing::wait_for;

// Records payloads; fails the first `fail_first` attempts; can hang until aborted.
struct FakeState {
  std::mutex mu;
  std::vector<std::string> delivered;
  int attempts = 0;
  int fail_first = 0;
  bool hang = false;
};

class FakeTransport final : public Transport {
 public:
  explicit FakeTransport(std::shared_ptr<FakeState> s) : s_(std::move(s)) {}
  std::string render(const output::Event& e) override { return "event " + detector_of(e) + " " + e.src_ip.to_string(); }
  std::string render(const Digest& g) override { return "digest " + std::to_string(g.events()); }
  core::Result<void> deliver(const std::string& payload, const std::atomic<bool>& abort) override {
    bool hang;
    {
      std::lock_guard lock(s_->mu);
      ++s_->attempts;
      hang = s_->hang;
      if (!hang && s_->attempts <= s_->fail_first) return core::make_error("HTTP 500");
    }
    if (hang) {
      while (!abort.load()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      return core::make_error("aborted at shutdown");
    }
    std::lock_guard lock(s_->mu);
    s_->delivered.push_back(payload);
    return {};
  }
  std::string describe() const override { return "fake://sink"; }

 private:
  std::shared_ptr<FakeState> s_;
};

Limits fast_limits() {
  Limits l;
  l.min_severity = 2;
  l.max_per_minute = 100;
  l.digest_window = Duration::seconds(1);
  l.retries = 2;
  l.retry_delay = Duration::millis(10);
  l.queue = 100;
  return l;
}

std::unique_ptr<Destination> make(const Limits& l, std::shared_ptr<FakeState> s) {
  return std::make_unique<Destination>("fake", l, std::make_unique<FakeTransport>(std::move(s)));
}

TEST(Destination, FiltersBySeverityAndType) {
  auto s = std::make_shared<FakeState>();
  struct Case {
    int min_severity;
    bool decisions;
    std::vector<bool> wanted;  // sev1, sev2, sev3, decision, stats
  };
  const Case cases[] = {
      {1, false, {true, false, false, false, false}},
      {2, false, {true, true, false, false, false}},
      {3, true, {true, true, true, true, false}},
  };
  output::Event stats;
  stats.type = output::EventType::stats;
  for (const auto& c : cases) {
    Limits l = fast_limits();
    l.min_severity = c.min_severity;
    l.include_decisions = c.decisions;
    auto d = make(l, s);
    const output::Event events[] = {make_alert("a", "10.0.0.1", 1), make_alert("a", "10.0.0.1", 2),
                                    make_alert("a", "10.0.0.1", 3), make_decision("a", "10.0.0.1"), stats};
    for (size_t i = 0; i < 5; ++i) EXPECT_EQ(d->wants(events[i]), c.wanted[i]) << c.min_severity << " event " << i;
  }
}

TEST(Destination, RetriesThenDelivers) {
  auto s = std::make_shared<FakeState>();
  s->fail_first = 2;
  auto d = make(fast_limits(), s);
  d->offer(make_alert("port_scan", "10.0.0.1"));
  ASSERT_TRUE(wait_for([&] { return d->stats().sent == 1; }));
  DestinationStats st = d->stats();
  EXPECT_EQ(st.retries, 2u);
  EXPECT_EQ(st.failed, 0u);
  EXPECT_EQ(st.last_error, "HTTP 500");  // kept from the failed attempts
  std::lock_guard lock(s->mu);
  EXPECT_EQ(s->attempts, 3);
  EXPECT_EQ(s->delivered, std::vector<std::string>{"event port_scan 10.0.0.1"});
}

TEST(Destination, GivesUpAfterRetriesAndCountsFailed) {
  auto s = std::make_shared<FakeState>();
  s->fail_first = 1000;
  Limits l = fast_limits();
  l.retries = 3;
  auto d = make(l, s);
  d->offer(make_alert("port_scan", "10.0.0.1"));
  d->offer(make_alert("port_scan", "10.0.0.2"));
  ASSERT_TRUE(wait_for([&] { return d->stats().failed == 2; }));
  DestinationStats st = d->stats();
  EXPECT_EQ(st.sent, 0u);
  EXPECT_EQ(st.retries, 6u);
  std::lock_guard lock(s->mu);
  EXPECT_EQ(s->attempts, 8);
}

TEST(Destination, RateLimitTurnsAWaveIntoOneDigest) {
  auto s = std::make_shared<FakeState>();
  Limits l = fast_limits();
  l.max_per_minute = 5;
  l.queue = 1000;
  auto d = make(l, s);
  for (int i = 0; i < 500; ++i) d->offer(make_alert("syn_flood", "10.0.0." + std::to_string(i % 200 + 1)));
  // Five single messages at once, the other 495 in one digest after the 1 s window.
  ASSERT_TRUE(wait_for([&] { return d->stats().digests == 1; }, std::chrono::seconds(5)));
  DestinationStats st = d->stats();
  EXPECT_EQ(st.sent, 6u);
  EXPECT_EQ(st.rate_limited, 495u);
  EXPECT_EQ(st.accepted, 500u);
  std::lock_guard lock(s->mu);
  ASSERT_EQ(s->delivered.size(), 6u);
  EXPECT_EQ(s->delivered.back(), "digest 495");
}

TEST(Destination, FullQueueDropsAndStopAbortsAHungTransport) {
  auto s = std::make_shared<FakeState>();
  s->hang = true;
  Limits l = fast_limits();
  l.queue = 10;
  auto d = make(l, s);
  // The worker takes the first event and hangs in deliver(); 10 wait; the rest are dropped.
  for (int i = 0; i < 10'000; ++i) d->offer(make_alert("port_scan", "10.0.0.1"));
  DestinationStats st = d->stats();
  EXPECT_GE(st.dropped_queue_full, 10'000u - 11u);
  EXPECT_LE(st.queued, 10u);
  EXPECT_EQ(st.accepted + st.dropped_queue_full, 10'000u);
  d->request_stop();
  d->finish(std::chrono::steady_clock::now() + std::chrono::milliseconds(200));
  st = d->stats();
  EXPECT_EQ(st.sent, 0u);
  EXPECT_EQ(st.failed, 1u);  // the one in flight, aborted
  EXPECT_EQ(st.dropped_at_stop, st.accepted - 1);
  EXPECT_EQ(st.last_error, "aborted at shutdown");
  // After stop, offers are counted, not queued.
  d->offer(make_alert("port_scan", "10.0.0.1"));
  EXPECT_EQ(d->stats().dropped_at_stop, st.dropped_at_stop + 1);
}

TEST(Destination, StopDrainsQueueAndSendsPendingDigestAtOnce) {
  auto s = std::make_shared<FakeState>();
  Limits l = fast_limits();
  l.max_per_minute = 2;
  l.digest_window = Duration::seconds(3600);  // would never be due by itself within the test
  auto d = make(l, s);
  for (int i = 0; i < 7; ++i) d->offer(make_alert("port_scan", "10.0.0.1"));
  d->request_stop();
  d->finish(std::chrono::steady_clock::now() + std::chrono::seconds(5));
  DestinationStats st = d->stats();
  EXPECT_EQ(st.sent, 3u);
  EXPECT_EQ(st.digests, 1u);
  EXPECT_EQ(st.dropped_at_stop, 0u);
  std::lock_guard lock(s->mu);
  ASSERT_EQ(s->delivered.size(), 3u);
  EXPECT_EQ(s->delivered[2], "digest 5");
}

TEST(AlertSink, FansOutAndReportsStats) {
  auto a = std::make_shared<FakeState>();
  auto b = std::make_shared<FakeState>();
  Limits la = fast_limits();
  Limits lb = fast_limits();
  lb.min_severity = 1;
  std::vector<std::unique_ptr<Destination>> v;
  v.push_back(std::make_unique<Destination>("webhook", la, std::make_unique<FakeTransport>(a)));
  v.push_back(std::make_unique<Destination>("email", lb, std::make_unique<FakeTransport>(b)));
  AlertSink sink(std::move(v));
  EXPECT_FALSE(sink.empty());
  sink.emit(make_alert("port_scan", "10.0.0.1", 2));
  sink.emit(make_alert("syn_flood", "10.0.0.2", 1));
  sink.stop(Duration::seconds(5));
  auto j = sink.stats_json();
  EXPECT_EQ(j["webhook"]["sent"], 2);
  EXPECT_EQ(j["email"]["sent"], 1);
  EXPECT_EQ(j["email"]["target"], "fake://sink");
  EXPECT_EQ(j["email"]["last_error"], "");
  ASSERT_EQ(sink.stats().size(), 2u);
  EXPECT_EQ(sink.stats()[1].name, "email");
  sink.stop();  // a second stop is harmless
}

}  // namespace
}  // namespace picket::alert
