#include "detect/flow/flow_tracker.hpp"

#include <algorithm>

namespace picket::detect {

using core::Duration;
using core::tcp_flag::kAck;
using core::tcp_flag::kFin;
using core::tcp_flag::kRst;
using core::tcp_flag::kSyn;

void declare_flow_config(config::Schema& schema) {
  config::SchemaSection s(schema, "flow");
  s.integer("capacity", 262'144, 1024, 64'000'000,
            "Flows tracked per worker (first contacts and connections); about 100 bytes each. "
            "Established connections are spared when it is full")
      .paranoid(int64_t{1'048'576});
  s.duration("probe_timeout", Duration::seconds(5), Duration::millis(100), Duration::seconds(600),
             "A first contact with no answer after this long counts as failed (unanswered)");
  s.duration("idle_timeout", Duration::seconds(300), Duration::seconds(1), Duration::seconds(86400),
             "A flow with no packet for this long is forgotten (an established one counts as ended)");
}

FlowSettings FlowSettings::from_config(const config::Config& cfg) {
  FlowSettings s;
  s.capacity = static_cast<uint32_t>(cfg.integer("flow.capacity"));
  s.probe_timeout = cfg.duration("flow.probe_timeout");
  s.idle_timeout = cfg.duration("flow.idle_timeout");
  return s;
}

FlowTracker::FlowTracker(const FlowSettings& settings, NoticeFn on_notice)
    : settings_(settings), on_notice_(std::move(on_notice)), table_(settings.capacity) {
  pending_.resize(settings.capacity);
  table_.set_on_evict([this](const FlowKey& key, Flow& f) {
    if (f.state == FlowState::established) {
      ++counters_.established_evicted;
      notice(FlowEvent::expired, key, f, now_);
    }
  });
}

void FlowTracker::notice(FlowEvent ev, const FlowKey& key, const Flow& f, core::Timestamp ts) {
  if (!on_notice_) return;
  FlowNotice n;
  n.event = ev;
  n.ts = ts;
  n.actor = key.actor;
  n.peer = key.peer;
  n.actor_port = key.actor_port;
  n.peer_port = key.peer_port;
  n.proto = key.proto;
  n.probe = f.probe;
  on_notice_(n);
}

void FlowTracker::on_packet(PacketContext& ctx) noexcept {
  const core::PacketMeta& m = *ctx.meta;
  ctx.flow = FlowEvent::none;
  ctx.probe = ProbeKind::none;
  if (m.ts > now_) now_ = m.ts;
  if (!m.has(core::meta_flag::kHasIp) || m.has(core::meta_flag::kLaterFragment)) return;
  if (m.has(core::meta_flag::kHasInner)) {
    on_icmp_error(ctx);
    return;
  }
  const FlowKey::Words w = key_words(m, ctx.from_actor);
  const FlowKey key = FlowKey::from_words(w);
  // One lookup (and one copy of the table code) for both directions.
  const uint64_t h = FlowKeyHash::of_words(w);
  Flow* f = table_.find(key, h, m.ts);
  if (ctx.from_actor) {
    on_from_actor(ctx, key, h, f);
  } else {
    on_to_actor(ctx, key, h, f);
  }
}

inline void FlowTracker::on_from_actor(PacketContext& ctx, const FlowKey& key, uint64_t h, Flow* f) noexcept {
  const core::PacketMeta& m = *ctx.meta;
  if (f != nullptr) {
    if (f->state == FlowState::peer_opened || !m.is_tcp()) return;
    const uint8_t fl = m.tcp_flags;
    const bool syn = (fl & kSyn) && !(fl & kAck);
    if (syn && (f->state == FlowState::closed || f->state == FlowState::refused)) {
      // The same ports used again for a new connection: a new first contact (below).
      table_.erase(key);
    } else {
      if (f->state == FlowState::established) {
        if (fl & (kFin | kRst)) {
          f->state = FlowState::closed;
          ctx.flow = FlowEvent::closed;
        }
        return;
      }
      // The handshake's third step: a plain ACK on a flow the actor opened with a SYN, after the
      // peer's SYN-ACK (acknowledging it when we saw it).
      const bool plain_ack = (fl & kAck) && !(fl & (kSyn | kRst | kFin));
      if (plain_ack && f->probe == ProbeKind::syn && f->synack_seen &&
          (f->state == FlowState::answered || f->state == FlowState::probing) && m.tcp_ack == f->synack_seq + 1) {
        f->state = FlowState::established;
        ctx.flow = FlowEvent::established;
        ++counters_.established;
      }
      return;
    }
  }
  const ProbeKind kind = classify_probe(m);
  // ICMP other than echo and TCP answers (SYN-ACK, RST) start nothing.
  if (kind == ProbeKind::none) return;
  const uint32_t slot = table_.insert_absent_slot(key, h, m.ts);
  f = &table_.value_at(slot);
  f->state = FlowState::probing;
  f->probe = kind;
  f->started_ns = m.ts.ns;
  ctx.flow = FlowEvent::probe;
  ctx.probe = kind;
  ++counters_.probes;
  if (pending_.empty()) return;
  if (pending_size_ == pending_.size()) {  // full: the oldest waiter loses its timeout
    pending_head_ = (pending_head_ + 1) % pending_.size();
    --pending_size_;
    ++counters_.pending_dropped;
  }
  pending_[(pending_head_ + pending_size_) % pending_.size()] = {slot, m.ts.ns};
  ++pending_size_;
}

inline void FlowTracker::on_to_actor(PacketContext& ctx, const FlowKey& key, uint64_t h, Flow* f) noexcept {
  const core::PacketMeta& m = *ctx.meta;
  if (f == nullptr) {
    // The peer opens a flow towards the actor: remember it, so the actor's answers are answers.
    const ProbeKind kind = classify_probe(m);
    if (kind == ProbeKind::none) return;
    f = table_.insert_absent(key, h, m.ts);
    f->state = FlowState::peer_opened;
    f->probe = kind;
    f->started_ns = m.ts.ns;
    return;
  }
  if (f->state == FlowState::peer_opened) return;
  const bool waiting = f->state == FlowState::probing || f->state == FlowState::unanswered;
  if (m.is_tcp()) {
    const uint8_t fl = m.tcp_flags;
    if (f->state == FlowState::established) {
      if (fl & (kFin | kRst)) {
        f->state = FlowState::closed;
        ctx.flow = FlowEvent::closed;
      }
      return;
    }
    if ((fl & kSyn) && (fl & kAck)) {
      f->synack_seen = true;
      f->synack_seq = m.tcp_seq;
    }
    if (!waiting) return;
    if (fl & kRst) {
      f->state = FlowState::refused;
      ctx.flow = FlowEvent::reply_failure;
    } else {
      f->state = FlowState::answered;
      ctx.flow = FlowEvent::reply_success;
    }
    return;
  }
  if (waiting) {
    f->state = FlowState::answered;
    ctx.flow = FlowEvent::reply_success;
  }
}

void FlowTracker::on_icmp_error(PacketContext& ctx) noexcept {
  const core::PacketMeta& m = *ctx.meta;
  // Only "unreachable" refuses a first contact (port, protocol, host, admin-prohibited).
  const bool unreachable = m.ip_proto == 1 ? m.icmp_type == 3 : m.icmp_type == 1;
  if (!unreachable || m.inner_src != ctx.actor) return;
  FlowKey key;
  key.actor = m.inner_src;
  key.peer = m.inner_dst;
  key.proto = m.inner_proto;
  if (m.has(core::meta_flag::kInnerPorts)) {
    key.actor_port = m.inner_src_port;
    key.peer_port = m.inner_dst_port;
  }
  Flow* f = table_.find(key, m.ts);
  if (f == nullptr) return;
  if (f->state == FlowState::probing || f->state == FlowState::unanswered) {
    f->state = FlowState::refused;
    ctx.flow = FlowEvent::reply_failure;
    ctx.probe = f->probe;
  }
}

void FlowTracker::on_tick(core::Timestamp now) noexcept {
  if (now > now_) now_ = now;
  const int64_t cutoff = now.ns - settings_.probe_timeout.ns;
  // The records due are the oldest ones; each reads a slot at random (a probe's flow from
  // probe_timeout ago): the slots a few records on are fetched while this one is checked.
  constexpr size_t kAhead = 8;
  auto record = [this](size_t k) -> const Pending& { return pending_[(pending_head_ + k) % pending_.size()]; };
  for (size_t k = 0; k < std::min(pending_size_, kAhead) && record(k).started_ns <= cutoff; ++k) table_.prefetch_slot(record(k).slot);
  while (pending_size_ > 0) {
    const Pending p = pending_[pending_head_];
    if (p.started_ns > cutoff) break;
    if (pending_size_ > kAhead && record(kAhead).started_ns <= cutoff) table_.prefetch_slot(record(kAhead).slot);
    pending_head_ = (pending_head_ + 1) % pending_.size();
    --pending_size_;
    // The slot may hold another flow by now; one still probing since the same instant gets its
    // notice here rather than at its own entry (same tick, same notice).
    auto [key, f] = table_.at_slot(p.slot);
    if (f != nullptr && f->state == FlowState::probing && f->started_ns == p.started_ns) {
      f->state = FlowState::unanswered;
      notice(FlowEvent::probe_unanswered, *key, *f, now);
    }
  }
  table_.expire_idle(now - settings_.idle_timeout, [&](const FlowKey& key, Flow& f) {
    if (f.state == FlowState::established) notice(FlowEvent::expired, key, f, now);
  });
}

FlowStats FlowTracker::stats() const noexcept {
  FlowStats s = counters_;
  s.flows = table_.size();
  s.capacity = table_.capacity();
  s.evictions = table_.stats().evictions;
  s.memory_bytes = table_.memory_bytes() + pending_.size() * sizeof(Pending);
  return s;
}

}  // namespace picket::detect
