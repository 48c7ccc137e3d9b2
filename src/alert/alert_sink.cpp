#include "alert/alert_sink.hpp"

#include <chrono>

namespace picket::alert {

AlertSink::AlertSink(std::vector<std::unique_ptr<Destination>> destinations) : destinations_(std::move(destinations)) {}

AlertSink::~AlertSink() {
  stop(core::Duration{});
}

void AlertSink::emit(const output::Event& event) {
  for (auto& d : destinations_) d->offer(event);
}

void AlertSink::stop(core::Duration deadline) {
  if (stopped_) return;
  stopped_ = true;
  // Every destination drains at the same time, so the total wait is one deadline, not one each.
  for (auto& d : destinations_) d->request_stop();
  auto until = std::chrono::steady_clock::now() + std::chrono::nanoseconds(std::max<int64_t>(deadline.ns, 0));
  for (auto& d : destinations_) d->finish(until);
}

std::vector<DestinationStats> AlertSink::stats() const {
  std::vector<DestinationStats> out;
  for (const auto& d : destinations_) out.push_back(d->stats());
  return out;
}

nlohmann::json AlertSink::stats_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& d : destinations_) j[d->name()] = d->stats().to_json();
  return j;
}

std::unique_ptr<AlertSink> make_alert_sink(const Settings& s) {
  Origin origin = local_origin();
  std::vector<std::unique_ptr<Destination>> dests;
  if (s.webhook)
    dests.push_back(
        std::make_unique<Destination>("webhook", s.webhook->limits, make_webhook_transport(*s.webhook, origin)));
  if (s.email)
    dests.push_back(std::make_unique<Destination>("email", s.email->limits, make_email_transport(*s.email, origin)));
  if (s.syslog)
    dests.push_back(
        std::make_unique<Destination>("syslog", s.syslog->limits, make_syslog_transport(*s.syslog, origin)));
  return std::make_unique<AlertSink>(std::move(dests));
}

core::Result<std::unique_ptr<AlertSink>> make_alert_sink(const config::Config& cfg) {
  auto settings = parse_settings(cfg);
  if (!settings) return settings.error();
  return make_alert_sink(*settings);
}

}  // namespace picket::alert
