#include "detect/distributed_scan/decoy_tracker.hpp"

#include <algorithm>

namespace picket::detect::distributed_scan {

namespace {
uint16_t kind_bit(ProbeKind k) noexcept {
  return static_cast<uint16_t>(1u << static_cast<unsigned>(k));
}
}  // namespace

void DecoyTracker::on_probe(const DecoySettings& s, const core::IpAddress& src, uint32_t service, ProbeKind kind,
                            int64_t now_ns) noexcept {
  Slot* match = nullptr;
  for (auto& slot : slots_) {
    if (!slot.used) continue;
    if (now_ns - slot.start_ns > s.window.ns) {
      close(s, slot);
    } else if (slot.service == service) {
      match = &slot;
    }
  }
  if (match != nullptr) {
    const size_t stored = std::min<size_t>(match->n, kMembers);
    for (size_t i = 0; i < stored; ++i) {
      if (match->members[i] == src) return;  // a retransmission, not another source
    }
    if (match->n < kMembers) match->members[match->n] = src;
    if (match->n < UINT8_MAX) ++match->n;
    match->kinds |= kind_bit(kind);
    return;
  }
  Slot* slot = nullptr;
  for (auto& sl : slots_) {
    if (!sl.used) {
      slot = &sl;
      break;
    }
  }
  if (slot == nullptr) {
    // All in use: the oldest closes early. A decoy group's probes arrive within microseconds, so
    // it is complete long before its slot is needed.
    slot = &*std::min_element(slots_.begin(), slots_.end(),
                              [](const Slot& a, const Slot& b) { return a.start_ns < b.start_ns; });
    close(s, *slot);
  }
  *slot = Slot{};
  slot->used = true;
  slot->start_ns = now_ns;
  slot->service = service;
  slot->n = 1;
  slot->members[0] = src;
  slot->kinds = kind_bit(kind);
}

void DecoyTracker::flush(const DecoySettings& s, int64_t now_ns, core::Duration idle) noexcept {
  for (auto& slot : slots_) {
    if (slot.used && now_ns - slot.start_ns > s.window.ns) close(s, slot);
  }
  for (auto& g : groups_) {
    if (g.in_use() && now_ns - g.last_ns > idle.ns) g = Group{};
  }
}

void DecoyTracker::close(const DecoySettings& s, Slot& slot) noexcept {
  slot.used = false;
  if (slot.n < s.min_sources) return;
  const size_t stored = std::min<size_t>(slot.n, kMembers);
  uint64_t sig = 0;
  for (size_t i = 0; i < stored; ++i) sig ^= state::mix64(slot.members[i].hash());

  Group* g = nullptr;
  for (auto& gr : groups_) {
    if (gr.in_use() && gr.signature == sig) {
      g = &gr;
      break;
    }
  }
  if (g == nullptr) {
    // A free group, else the weakest one that has not qualified (fewest ports, then the oldest):
    // groups that already make a decoy scan are never pushed out by passing bursts.
    Group* spare = nullptr;
    Group* weakest = nullptr;
    for (auto& gr : groups_) {
      if (!gr.in_use()) {
        if (spare == nullptr) spare = &gr;
      } else if (!qualifies(s, gr)) {
        if (weakest == nullptr || gr.port_count() < weakest->port_count() ||
            (gr.port_count() == weakest->port_count() && gr.last_ns < weakest->last_ns)) {
          weakest = &gr;
        }
      }
    }
    g = spare != nullptr ? spare : weakest;
    if (g == nullptr) return;  // every group is a live decoy scan: this burst goes unrecorded
    *g = Group{};
    g->signature = sig;
    g->members_n = static_cast<uint8_t>(stored);
    std::copy_n(slot.members.begin(), stored, g->members.begin());
    g->first_ns = slot.start_ns;
  }
  g->ports.add(slot.service);
  g->kinds |= slot.kinds;
  g->sources_per_port = std::max(g->sources_per_port, slot.n);
  g->last_ns = std::max(g->last_ns, slot.start_ns);
  const auto port = static_cast<uint16_t>(slot.service & 0xFFFF);
  const auto end = g->sample_ports.begin() + g->sample_n;
  if (g->sample_n < kSamplePorts && std::find(g->sample_ports.begin(), end, port) == end) {
    g->sample_ports[g->sample_n++] = port;
  }
}

}  // namespace picket::detect::distributed_scan
