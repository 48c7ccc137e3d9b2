#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "app/commands.hpp"
#include "capture/packet_source.hpp"
#include "detect/blocklist/blocklists.hpp"
#include "enforce/dry_run/dry_run_enforcer.hpp"
#include "engine/engine.hpp"
#include "policy/policy.hpp"
#include "policy/responder.hpp"
#include "output/sinks.hpp"

namespace picket::app {
namespace {

// A one-line progress bar on stderr, redrawn in place at most ten times a second.
class ProgressBar {
 public:
  void update(double fraction) {
    if (fraction < 0) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    constexpr int kWidth = 40;
    const int filled = static_cast<int>(fraction * kWidth);
    fmt::print(stderr, "\r[{:=<{}}{: <{}}] {:5.1f}%", "", filled, "", kWidth - filled, fraction * 100);
    shown_ = true;
  }
  void clear() {
    if (shown_) fmt::print(stderr, "\r{: <60}\r", "");
  }

 private:
  std::chrono::steady_clock::time_point last_{};
  bool shown_ = false;
};

std::string with_commas(uint64_t n) {
  const std::string digits = std::to_string(n);
  std::string out;
  out.reserve(digits.size() + digits.size() / 3);
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

}  // namespace

int cmd_replay(const ReplayOptions& opts) {
  auto cfg = load_config_or_report(opts.config_path);
  if (!cfg) return kExitBadInput;

  // Blocklist files are read once here (the workers share them); bad lines are skipped, reported.
  const auto lists = detect::blocklist::load_lists(*cfg);
  if (lists) {
    for (const auto& p : lists->problems()) fmt::print(stderr, "picket: warning: {}\n", p.to_string());
  }

  auto source = capture::open_capture_file(opts.file, opts.filter);
  if (!source) {
    fmt::print(stderr, "picket: {}\n", source.error().message);
    return kExitBadInput;
  }

  output::FanoutSink sinks;
  const std::string& configured = cfg->string("output.events_file");
  const std::string events_path = !opts.events_path.empty() ? opts.events_path
                                  : !configured.empty()      ? configured
                                                             : std::string("-");
  auto events = output::JsonLinesSink::open(events_path);
  if (!events) {
    fmt::print(stderr, "picket: {}\n", events.error().message);
    return kExitFailure;
  }
  sinks.add(std::move(events.value()));
  const std::string log_path = opts.log_path.empty() ? cfg->string("output.log_file") : opts.log_path;
  if (!log_path.empty()) {
    auto log = output::TextLogSink::open(log_path);
    if (!log) {
      fmt::print(stderr, "picket: {}\n", log.error().message);
      return kExitFailure;
    }
    sinks.add(std::move(log.value()));
  }

  auto settings = engine::EngineSettings::from_config(*cfg);
  if (opts.workers != 0) settings.workers = opts.workers;
  engine::Engine eng(*cfg, settings, (*source)->link_type(), sinks);
  // Policy runs as in the daemon, against a dry-run enforcer: the decisions show what picket
  // would have blocked, in packet time.
  policy::MemoryHistory history;
  policy::Policy pol(policy::PolicySettings::from_config(*cfg), history);
  enforce::DryRunEnforcer dry_run;
  policy::PolicyResponder responder(pol, &dry_run);
  eng.set_responder(&responder);
  ProgressBar bar;
  const bool show_progress = opts.progress && isatty(STDERR_FILENO) == 1;
  const auto start = std::chrono::steady_clock::now();
  auto result = engine::run(**source, eng, show_progress ? std::function<void(double)>([&](double f) { bar.update(f); })
                                                          : std::function<void(double)>());
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  sinks.flush();
  bar.clear();

  const auto& t = result.totals;
  const double pps = elapsed > 0 ? static_cast<double>(t.packets) / elapsed : 0;
  fmt::print(stderr, "picket: {}: {} packets, {} anomalies, {} findings, {} decisions in {:.3f} s ({:.2f} Mpps)\n",
             opts.file, with_commas(t.packets), with_commas(t.anomalies), with_commas(t.findings),
             with_commas(t.decisions), elapsed, pps / 1e6);
  if (result.source_error) {
    fmt::print(stderr, "picket: {}\n", result.source_error->message);
    return kExitBadInput;
  }
  return kExitOk;
}

}  // namespace picket::app
