#include "alert/destination.hpp"

#include <algorithm>
#include <exception>
#include <optional>

namespace picket::alert {

nlohmann::json DestinationStats::to_json() const {
  return nlohmann::json{{"target", target},
                        {"accepted", accepted},
                        {"sent", sent},
                        {"digests", digests},
                        {"failed", failed},
                        {"retries", retries},
                        {"rate_limited", rate_limited},
                        {"dropped_queue_full", dropped_queue_full},
                        {"dropped_at_stop", dropped_at_stop},
                        {"queued", queued},
                        {"last_error", last_error}};
}

Destination::Destination(std::string name, const Limits& limits, std::unique_ptr<Transport> transport)
    : name_(std::move(name)),
      limits_(limits),
      transport_(std::move(transport)),
      target_(transport_->describe()),
      limiter_(limits.max_per_minute),
      digest_(limits.digest_window),
      worker_([this] { run(); }) {}

Destination::~Destination() {
  request_stop();
  finish(Clock::now());
}

core::Timestamp Destination::steady_now() noexcept {
  return core::Timestamp{std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count()};
}

bool Destination::wants(const output::Event& e) const noexcept {
  switch (e.type) {
    case output::EventType::alert:
      return (e.alert ? e.alert->severity : 3) <= limits_.min_severity;
    case output::EventType::decision:
      return limits_.include_decisions;
    default:
      return false;
  }
}

void Destination::offer(const output::Event& e) noexcept {
  if (!wants(e)) return;
  try {
    std::lock_guard lock(mu_);
    if (stopping_) {
      dropped_at_stop_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (queue_.size() >= limits_.queue) {
      dropped_queue_full_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    queue_.push_back(e);
  } catch (const std::exception&) {  // allocation failure while copying: lose this one, counted
    dropped_queue_full_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  accepted_.fetch_add(1, std::memory_order_relaxed);
  cv_.notify_one();
}

void Destination::request_stop() noexcept {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
}

void Destination::finish(Clock::time_point deadline) noexcept {
  if (joined_) return;
  {
    std::unique_lock lock(mu_);
    stopping_ = true;
    cv_.notify_all();
    if (!done_cv_.wait_until(lock, deadline, [&] { return done_; })) {
      abort_.store(true);
      cv_.notify_all();
    }
  }
  if (worker_.joinable()) worker_.join();
  joined_ = true;
}

void Destination::set_error(std::string text) {
  std::lock_guard lock(mu_);
  last_error_ = std::move(text);
}

bool Destination::deliver_with_retries(const std::string& payload) {
  core::Duration delay = limits_.retry_delay;
  for (uint32_t attempt = 0;; ++attempt) {
    auto r = transport_->deliver(payload, abort_);
    if (r) return true;
    set_error(r.error().message);
    if (attempt >= limits_.retries || abort_.load()) return false;
    retries_.fetch_add(1, std::memory_order_relaxed);
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, std::chrono::nanoseconds(delay.ns), [&] { return abort_.load(); })) return false;
    delay = std::min(delay * 2, core::Duration::seconds(60));
  }
}

void Destination::process(const output::Event& e) {
  core::Timestamp now = steady_now();
  if (!limiter_.try_acquire(now)) {
    digest_.add(e, now);
    rate_limited_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (deliver_with_retries(transport_->render(e)))
    sent_.fetch_add(1, std::memory_order_relaxed);
  else
    failed_.fetch_add(1, std::memory_order_relaxed);
}

void Destination::send_digest() {
  auto wall = std::chrono::system_clock::now().time_since_epoch();
  Digest g = digest_.take(core::Timestamp{std::chrono::duration_cast<std::chrono::nanoseconds>(wall).count()});
  if (deliver_with_retries(transport_->render(g))) {
    sent_.fetch_add(1, std::memory_order_relaxed);
    digests_.fetch_add(1, std::memory_order_relaxed);
  } else {
    failed_.fetch_add(1, std::memory_order_relaxed);
  }
}

void Destination::run() noexcept {
  for (;;) {
    std::optional<output::Event> next;
    bool stopping = false;
    {
      std::unique_lock lock(mu_);
      auto ready = [&] { return !queue_.empty() || stopping_ || abort_.load(); };
      if (digest_.empty()) {
        cv_.wait(lock, ready);
      } else {
        auto due =
            Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(digest_.due().ns)));
        cv_.wait_until(lock, due, ready);
      }
      if (abort_.load()) break;
      stopping = stopping_;
      if (!queue_.empty()) {
        next.emplace(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    try {
      if (next) process(*next);
      if (!digest_.empty() && (steady_now() >= digest_.due() || (stopping && !next))) send_digest();
    } catch (const std::exception& ex) {  // rendering or allocation: count, keep the thread alive
      failed_.fetch_add(1, std::memory_order_relaxed);
      set_error(ex.what());
    }
    if (stopping && !next && digest_.empty()) break;
  }
  std::lock_guard lock(mu_);
  // Aborted: what is still queued or summed up will not be sent.
  uint64_t left = queue_.size();
  queue_.clear();
  if (!digest_.empty()) {
    Digest g = digest_.take(core::Timestamp{});
    left += g.events();
  }
  dropped_at_stop_.fetch_add(left, std::memory_order_relaxed);
  done_ = true;
  done_cv_.notify_all();
}

DestinationStats Destination::stats() const {
  DestinationStats s;
  s.name = name_;
  s.target = target_;
  s.accepted = accepted_.load(std::memory_order_relaxed);
  s.sent = sent_.load(std::memory_order_relaxed);
  s.digests = digests_.load(std::memory_order_relaxed);
  s.failed = failed_.load(std::memory_order_relaxed);
  s.retries = retries_.load(std::memory_order_relaxed);
  s.rate_limited = rate_limited_.load(std::memory_order_relaxed);
  s.dropped_queue_full = dropped_queue_full_.load(std::memory_order_relaxed);
  s.dropped_at_stop = dropped_at_stop_.load(std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  s.queued = queue_.size();
  s.last_error = last_error_;
  return s;
}

}  // namespace picket::alert
