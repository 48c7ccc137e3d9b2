// AlertSink: the EventSink that tells people about attacks — webhook (JSON or Slack), email (SMTP)
// and syslog (RFC 5424) — configured under "alerts." (see settings.hpp and docs/alerts.md).
//
// Use (the daemon):
//   alert::declare_config(schema);                       // with the other declarations
//   auto sink = alert::make_alert_sink(cfg);             // start-up; errors name their keys
//   AlertSink* alerts = sink->get(); fanout.add(std::move(*sink));
//   ... alerts->stats_json() for `picket status` ...
//   alerts->stop();                                      // at shutdown, before the fanout dies
//
// Contract:
// - emit() never blocks on the network and never throws: per destination it filters, copies the
//   event into a bounded queue and returns (a full queue drops and counts). Thread-safe.
// - Each destination has its own worker thread, so a dead webhook does not delay syslog.
// - stop() drains every queue until the deadline (all destinations in parallel), aborts what is
//   still in flight, joins the threads; later emit() calls are counted as dropped_at_stop.
//   The destructor calls stop() with a zero deadline.
#pragma once

#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "alert/destination.hpp"
#include "alert/settings.hpp"
#include "config/config.hpp"
#include "core/result.hpp"
#include "core/time.hpp"
#include "output/event.hpp"

namespace picket::alert {

inline constexpr core::Duration kDefaultStopDeadline = core::Duration::seconds(5);

class AlertSink : public output::EventSink {
 public:
  explicit AlertSink(std::vector<std::unique_ptr<Destination>> destinations);
  ~AlertSink() override;

  void emit(const output::Event& event) override;

  void stop(core::Duration deadline = kDefaultStopDeadline);
  // No destination is enabled: emit() does nothing.
  bool empty() const noexcept { return destinations_.empty(); }
  std::vector<DestinationStats> stats() const;
  // {"webhook": {...DestinationStats...}, "email": {...}, "syslog": {...}} — enabled ones only.
  nlohmann::json stats_json() const;

 private:
  std::vector<std::unique_ptr<Destination>> destinations_;
  bool stopped_ = false;
};

// Builds every enabled destination from cfg (parse_settings: every error at once, one line each).
// With no destination enabled it returns an empty sink.
core::Result<std::unique_ptr<AlertSink>> make_alert_sink(const config::Config& cfg);
// The same from already-parsed settings (tests, `picket check-config`).
std::unique_ptr<AlertSink> make_alert_sink(const Settings& settings);

}  // namespace picket::alert
