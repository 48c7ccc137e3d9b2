// Destination: one alert destination's filter, bounded queue, worker thread, rate limit, digest and
// retries around a Transport.
//
// Contract:
// - offer() runs on the packet path: it filters, copies the event into the queue under a short lock
//   and returns. It never waits for the network, never throws; a full queue drops the event and
//   counts it (dropped_queue_full).
// - The worker sends the first limits.max_per_minute events of any 60 s one by one; later ones go
//   into a digest (rate_limited) that is sent digest_window after its first event — at most one
//   digest per window, whatever max_per_minute says.
// - A failed delivery is retried limits.retries times, waiting retry_delay, then twice as long each
//   time (at most 60 s); then the message counts as failed and last_error keeps the reason.
// - request_stop() + finish(deadline): the worker drains the queue and sends the pending digest at
//   once; at the deadline the transfer in progress is aborted, whatever is left is counted
//   (dropped_at_stop) and the thread is joined. finish() returns by deadline + about one second.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "alert/digest.hpp"
#include "alert/settings.hpp"
#include "alert/transport.hpp"
#include "output/event.hpp"

namespace picket::alert {

struct DestinationStats {
  std::string name;                 // "webhook", "email", "syslog"
  std::string target;               // Transport::describe(): no secrets
  uint64_t accepted = 0;            // events that passed the filter and were queued
  uint64_t sent = 0;                // messages delivered (single events and digests)
  uint64_t digests = 0;             // of which digests
  uint64_t failed = 0;              // messages given up after every retry
  uint64_t retries = 0;             // attempts after a failure
  uint64_t rate_limited = 0;        // events summed into a digest instead of sent alone
  uint64_t dropped_queue_full = 0;  // events refused because the queue was full
  uint64_t dropped_at_stop = 0;     // events still waiting when shutdown's deadline passed
  uint64_t queued = 0;              // waiting now
  std::string last_error;           // "" when none yet

  nlohmann::json to_json() const;
};

class Destination {
 public:
  // Starts the worker thread.
  Destination(std::string name, const Limits& limits, std::unique_ptr<Transport> transport);
  ~Destination();  // finish(now) if still running
  Destination(const Destination&) = delete;
  Destination& operator=(const Destination&) = delete;

  // Alerts with severity <= min_severity (no alert object counts as low), decisions if included.
  bool wants(const output::Event& event) const noexcept;
  void offer(const output::Event& event) noexcept;

  void request_stop() noexcept;
  void finish(std::chrono::steady_clock::time_point deadline) noexcept;

  DestinationStats stats() const;
  const std::string& name() const noexcept { return name_; }

 private:
  using Clock = std::chrono::steady_clock;
  void run() noexcept;
  void process(const output::Event& event);
  void send_digest();
  // Renders nothing: delivers `payload` with retries; true when delivered.
  bool deliver_with_retries(const std::string& payload);
  void set_error(std::string text);
  static core::Timestamp steady_now() noexcept;

  const std::string name_;
  const Limits limits_;
  std::unique_ptr<Transport> transport_;
  const std::string target_;

  mutable std::mutex mu_;
  std::condition_variable cv_;       // work arrived, stop requested, abort
  std::condition_variable done_cv_;  // the worker has exited its loop
  std::deque<output::Event> queue_;  // guarded by mu_
  bool stopping_ = false;            // guarded by mu_
  bool done_ = false;                // guarded by mu_
  bool joined_ = false;              // touched only by finish()'s caller
  std::atomic<bool> abort_{false};
  std::string last_error_;  // guarded by mu_

  // Worker-only state.
  RateLimiter limiter_;
  DigestBuilder digest_;

  std::atomic<uint64_t> accepted_{0}, sent_{0}, digests_{0}, failed_{0}, retries_{0}, rate_limited_{0},
      dropped_queue_full_{0}, dropped_at_stop_{0};

  std::thread worker_;  // last: starts after everything above is built
};

}  // namespace picket::alert
