// The simulator's event loop: components (benign traffic, one per attack) schedule events on one
// time-ordered heap; each event sends at most one frame at its own time, so frames come out in
// time order. An event is plain data (time, component, kind, argument): no closures, no
// allocation once the heap has grown to the number of events in flight.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "sim/address_plan.hpp"
#include "sim/emitter.hpp"
#include "sim/scenario.hpp"

namespace picket::sim {

inline constexpr int64_t kUs = 1'000;
inline constexpr int64_t kMs = 1'000'000;
inline constexpr int64_t kSec = 1'000'000'000;

struct Event {
  int64_t t;
  uint64_t order;  // insertion order: ties in time keep it, so the run is deterministic
  uint32_t component;
  uint32_t kind;
  uint64_t arg;
};

class Scheduler {
 public:
  void at(int64_t t, uint32_t component, uint32_t kind, uint64_t arg) {
    heap_.push_back(Event{t, order_++, component, kind, arg});
    std::push_heap(heap_.begin(), heap_.end(), later);
  }
  bool empty() const noexcept { return heap_.empty(); }
  Event pop() {
    std::pop_heap(heap_.begin(), heap_.end(), later);
    Event e = heap_.back();
    heap_.pop_back();
    return e;
  }

 private:
  static bool later(const Event& a, const Event& b) noexcept {
    return a.t != b.t ? a.t > b.t : a.order > b.order;
  }
  std::vector<Event> heap_;
  uint64_t order_ = 0;
};

// What every component is built from.
struct Setup {
  const AddressPlan& plan;
  uint64_t seed;
  uint64_t packets;  // frames in the whole capture
  int64_t span;      // planned capture length, ns (packets / rate)
};

class Context {
 public:
  Context(Scheduler& sched, Emitter& out, uint32_t self) noexcept : sched_(sched), out_(out), self_(self) {}
  void at(int64_t t, uint32_t kind, uint64_t arg = 0) { sched_.at(t, self_, kind, arg); }
  Emitter& out() noexcept { return out_; }

 private:
  Scheduler& sched_;
  Emitter& out_;
  uint32_t self_;
};

class Component {
 public:
  virtual ~Component() = default;
  // Schedules the first events.
  virtual void start(Context& ctx) = 0;
  // Handles one event scheduled by this component, at time `now`; sends at most one frame, at
  // `now`, and schedules later events at times >= now.
  virtual void fire(Context& ctx, int64_t now, uint32_t kind, uint64_t arg) = 0;
  // Frames this component expects to send over the whole run (attacks); benign traffic says 0 and
  // fills the rest of the capture.
  virtual uint64_t planned_packets() const noexcept = 0;
  // The finding a correct IDS should make of this component; none for benign traffic.
  virtual std::optional<Truth> truth() const { return std::nullopt; }
};

// Times inside the attack's window [from, to) of the capture, as fractions of the span.
struct Window {
  int64_t from = 0;
  int64_t to = 0;
  int64_t length() const noexcept { return to - from; }
  // The time of item i of n, spread evenly with a little jitter (u in [0,1)) that keeps order.
  int64_t spread(uint64_t i, uint64_t n, double u) const noexcept {
    const double step = static_cast<double>(length()) / static_cast<double>(n == 0 ? 1 : n);
    return from + static_cast<int64_t>((static_cast<double>(i) + 0.8 * u) * step);
  }
};

inline Window window_of(const Setup& s, double from, double to, int64_t max_length = 0) {
  Window w{static_cast<int64_t>(from * static_cast<double>(s.span)),
           static_cast<int64_t>(to * static_cast<double>(s.span))};
  if (max_length > 0 && w.length() > max_length) w.to = w.from + max_length;
  return w;
}

}  // namespace picket::sim
