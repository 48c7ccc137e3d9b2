// Worker: one shard of per-source detection — a flow tracker and a fresh instance of every
// per-source detector. The engine feeds it every packet whose actor hashes to it, in order, and
// tick markers at the same points of packet time, so any number of workers finds the same things.
#pragma once

#include <array>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "core/packet_meta.hpp"
#include "decode/decoder.hpp"
#include "detect/attribution.hpp"
#include "detect/detector.hpp"
#include "detect/flow/flow_tracker.hpp"

namespace picket::engine {

// Collects findings (a FindingSink) until the engine takes them at the end of an epoch.
class FindingBuffer : public detect::FindingSink {
 public:
  void add(detect::Finding&& f) override { findings_.push_back(std::move(f)); }
  std::vector<detect::Finding> take() { return std::exchange(findings_, {}); }
  bool empty() const noexcept { return findings_.empty(); }

 private:
  std::vector<detect::Finding> findings_;
};

using NamedStats = std::vector<std::pair<std::string_view, detect::DetectorStats>>;

class Worker {
 public:
  explicit Worker(const config::Config& cfg);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // `ctx` has meta, actor and from_actor set; the worker fills in flow and probe (and the
  // detectors see it so).
  void on_packet(detect::PacketContext& ctx) noexcept;
  void on_tick(core::Timestamp now) noexcept;
  std::vector<detect::Finding> take_findings() { return buffer_.take(); }
  NamedStats detector_stats() const;
  detect::FlowStats flow_stats() const { return flows_.stats(); }
  const detect::FlowTracker& flows() const noexcept { return flows_; }
  // Prefetch hints for the packet some places ahead (see Engine::process_batch): its flow, and
  // when it opens a flow (a SYN, a UDP datagram), its source's entries in the tables keyed by it.
  // A queued packet some places ahead (worker threads): its flow and, for a first contact from
  // its actor, the actor's entries.
  void prefetch(const core::PacketMeta& m, detect::ActorSide side) const noexcept {
    const bool from_actor = detect::from_actor(m, side);
    flows_.prefetch(m, from_actor);
    if (from_actor && decode::may_open_flow(m.ip_proto, m.tcp_flags) && !prefetchers_.empty()) {
      const uint64_t h = detect::actor_of(m, side).hash();
      for (const detect::Detector* d : prefetchers_) d->prefetch_source(h);
    }
  }
  void prefetch(const decode::PeekedFlow& f) const noexcept {
    flows_.prefetch_v4(f.src, f.dst, f.src_port, f.dst_port, f.proto);
    if (f.opens_flow() && !prefetchers_.empty()) {
      const uint64_t h = core::IpAddress::hash_v4(f.src);
      for (const detect::Detector* d : prefetchers_) d->prefetch_source(h);
    }
  }

 private:
  // Packets are routed by their flow event (3 bits) and the kActorReset / kLargeFromActor bits:
  // routes_[i] lists, in registry order, the detectors whose Interest covers route i.
  static constexpr size_t kRoutes = 32;
  static size_t route_of(uint32_t interest_bits, detect::FlowEvent flow) noexcept {
    return static_cast<size_t>(flow) | ((interest_bits >> 5) & 0x18);
  }

  std::vector<std::unique_ptr<detect::Detector>> detectors_;
  std::array<std::vector<detect::Detector*>, kRoutes> routes_;
  std::vector<detect::Detector*> notice_detectors_;
  std::vector<const detect::Detector*> prefetchers_;  // Interest::prefetch
  uint32_t large_frame_ = UINT32_MAX;  // the smallest Interest::large_frame asked for
  FindingBuffer buffer_;
  detect::FlowTracker flows_;
};

// One packet handed to a worker thread. `side` says which address of `meta` is the actor (src or
// dst, never none): a byte instead of a copy of the address.
struct WorkItem {
  core::PacketMeta meta;
  detect::ActorSide side = detect::ActorSide::none;
};

// What a worker thread reports at the end of an epoch.
struct EpochResult {
  int64_t epoch = 0;
  std::vector<detect::Finding> findings;
  NamedStats stats;               // filled when the epoch ends on a stats boundary
  detect::FlowStats flow_stats;
};

// A Worker on its own thread, fed in batches through a bounded queue.
class WorkerThread {
 public:
  static constexpr size_t kBatch = 512;
  static constexpr size_t kMaxQueued = 64;

  explicit WorkerThread(const config::Config& cfg);
  ~WorkerThread();  // stops and joins

  // The batch being filled by the dispatcher; hand it over with submit().
  std::vector<WorkItem>& batch() noexcept { return filling_; }
  // Hands over the current batch; with `tick`, the worker runs on_tick(now) after it and reports
  // the epoch's findings (and stats when `with_stats`). Blocks while the queue is full.
  void submit(bool tick = false, int64_t epoch = 0, core::Timestamp now = {}, bool with_stats = false);
  // Waits for the report of `epoch` (which must have been submitted) and returns it.
  EpochResult wait_epoch(int64_t epoch);
  // True when the report of `epoch` is ready (wait_epoch would not block).
  bool epoch_ready(int64_t epoch);

 private:
  struct Job {
    std::vector<WorkItem> items;
    bool tick = false;
    bool with_stats = false;
    int64_t epoch = 0;
    core::Timestamp now;
  };
  void run();

  Worker worker_;
  std::vector<WorkItem> filling_;
  std::mutex mu_;
  std::condition_variable cv_work_;
  std::condition_variable cv_space_;
  std::condition_variable cv_done_;
  std::deque<Job> queue_;
  std::vector<std::vector<WorkItem>> spare_;
  std::deque<EpochResult> done_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace picket::engine
