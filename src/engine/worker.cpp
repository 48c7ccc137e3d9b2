#include "engine/worker.hpp"

#include "engine/lookahead.hpp"
#include "engine/registry.hpp"

namespace picket::engine {

Worker::Worker(const config::Config& cfg)
    : detectors_(make_source_detectors(cfg)),
      flows_(detect::FlowSettings::from_config(cfg), [this](const detect::FlowNotice& n) {
        for (detect::Detector* d : notice_detectors_) d->on_flow_notice(n, buffer_);
      }) {
  static_assert(static_cast<size_t>(detect::FlowEvent::expired) < 8, "route_of keeps 3 bits of the flow event");
  static_assert(detect::interest::kActorReset >> 5 == 0x08 && detect::interest::kLargeFromActor >> 5 == 0x10);
  for (const auto& d : detectors_) {
    const detect::Interest want = d->interest();
    if ((want.packets & detect::interest::kLargeFromActor) != 0 && want.large_frame < large_frame_)
      large_frame_ = want.large_frame;
  }
  for (size_t r = 0; r < kRoutes; ++r) {
    // The interest bits every packet of route r carries.
    const uint32_t bits = detect::interest::flow(static_cast<detect::FlowEvent>(r & 7)) | (static_cast<uint32_t>(r & 0x18) << 5);
    for (const auto& d : detectors_) {
      if ((d->interest().packets & bits) != 0) routes_[r].push_back(d.get());
    }
  }
  for (const auto& d : detectors_) {
    if (d->interest().notices) notice_detectors_.push_back(d.get());
    if (d->interest().prefetch) prefetchers_.push_back(d.get());
  }
}

void Worker::on_packet(detect::PacketContext& ctx) noexcept {
  flows_.on_packet(ctx);
  const auto& route = routes_[route_of(detect::packet_interest(ctx, large_frame_), ctx.flow)];
  for (detect::Detector* d : route) d->on_packet(ctx, buffer_);
}

void Worker::on_tick(core::Timestamp now) noexcept {
  flows_.on_tick(now);
  for (auto& d : detectors_) d->on_tick(now, buffer_);
}

NamedStats Worker::detector_stats() const {
  NamedStats out;
  for (const auto& d : detectors_) out.emplace_back(d->name(), d->stats());
  return out;
}

WorkerThread::WorkerThread(const config::Config& cfg) : worker_(cfg) {
  filling_.reserve(kBatch);
  thread_ = std::thread([this] { run(); });
}

WorkerThread::~WorkerThread() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_work_.notify_all();
  thread_.join();
}

void WorkerThread::submit(bool tick, int64_t epoch, core::Timestamp now, bool with_stats) {
  Job job;
  job.tick = tick;
  job.epoch = epoch;
  job.now = now;
  job.with_stats = with_stats;
  std::unique_lock lock(mu_);
  cv_space_.wait(lock, [&] { return queue_.size() < kMaxQueued; });
  job.items = std::move(filling_);
  if (!spare_.empty()) {
    filling_ = std::move(spare_.back());
    spare_.pop_back();
  } else {
    filling_ = {};
    filling_.reserve(kBatch);
  }
  queue_.push_back(std::move(job));
  lock.unlock();
  cv_work_.notify_one();
}

void WorkerThread::run() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_work_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    cv_space_.notify_one();
    constexpr size_t kAhead = 8;  // prefetch hints this many packets ahead
    const auto& items = job.items;
    visit_with_lookahead(
        items.size(), kAhead, [&](size_t j) { worker_.prefetch(items[j].meta, items[j].side); },
        [&](size_t i) {
          detect::PacketContext ctx;
          ctx.meta = &items[i].meta;
          ctx.actor = detect::actor_of(items[i].meta, items[i].side);
          ctx.from_actor = detect::from_actor(items[i].meta, items[i].side);
          worker_.on_packet(ctx);
        });
    EpochResult result;
    if (job.tick) {
      worker_.on_tick(job.now);
      result.epoch = job.epoch;
      result.findings = worker_.take_findings();
      if (job.with_stats) {
        result.stats = worker_.detector_stats();
        result.flow_stats = worker_.flow_stats();
      }
    }
    job.items.clear();
    {
      std::lock_guard lock(mu_);
      if (spare_.size() < 4) spare_.push_back(std::move(job.items));
      if (job.tick) done_.push_back(std::move(result));
    }
    if (job.tick) cv_done_.notify_all();
  }
}

bool WorkerThread::epoch_ready(int64_t epoch) {
  std::lock_guard lock(mu_);
  return !done_.empty() && done_.front().epoch <= epoch;
}

EpochResult WorkerThread::wait_epoch(int64_t epoch) {
  std::unique_lock lock(mu_);
  cv_done_.wait(lock, [&] { return !done_.empty() && done_.front().epoch <= epoch; });
  EpochResult r = std::move(done_.front());
  done_.pop_front();
  return r;
}

}  // namespace picket::engine
