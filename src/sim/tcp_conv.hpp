// TCP conversations with the victim as the server, as its interface sees them: handshake, one or
// more request/response exchanges (responses in MSS-sized segments, slow start, a delayed ACK for
// every two segments), then the client's FIN close, or no close at all for held connections.
//
// Everything that decides how many frames a conversation sends is fixed when it is opened
// (ConvSpec), so its creator knows the count in advance (packets()) and can pace benign traffic to
// a packet rate. Only timing jitter is drawn as the conversation runs.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "sim/address_plan.hpp"
#include "sim/engine.hpp"
#include "sim/rng.hpp"

namespace picket::sim {

struct ConvSpec {
  uint32_t client = 0;  // plan address
  uint16_t client_port = 0;
  uint16_t server_port = 443;
  uint8_t client_ttl = 64;
  uint8_t requests = 1;  // 1..3
  bool hold = false;     // never closed (connection floods)
  uint32_t rtt_us = 30'000;
  uint32_t gap_us = 200;  // spacing of full segments at the client's bottleneck
  std::array<uint16_t, 3> request_bytes{};
  std::array<uint32_t, 3> response_bytes{};  // >= 1 each
};

class ConvPool {
 public:
  static constexpr uint32_t kMss = 1460;

  ConvPool(const AddressPlan& plan, uint64_t seed);

  // Opens a conversation whose first frame (the client's SYN) goes out at `t`; its events are
  // scheduled on `ctx` with `kind` and the conversation's slot as argument.
  void open(Context& ctx, uint32_t kind, int64_t t, const ConvSpec& spec);
  // Sends the conversation's next frame and schedules the one after.
  void step(Context& ctx, int64_t now, uint64_t slot, uint32_t kind);
  // Frames one conversation sends from SYN to its last frame.
  static uint64_t packets(const ConvSpec& spec) noexcept;
  size_t open_count() const noexcept { return convs_.size() - free_.size(); }

 private:
  enum class Phase : uint8_t { syn, syn_ack, ack, request, segment, client_ack, fin, fin_ack, last_ack };
  struct Conv {
    ConvSpec spec;
    Phase phase = Phase::syn;
    uint8_t current = 0;  // request index
    uint16_t cwnd = 10;   // segments per round
    uint16_t round_segs = 0, round_sent = 0, round_acks = 0, round_acked = 0;
    uint32_t client_seq = 0, server_seq = 0;
    uint32_t round_seq0 = 0, round_bytes = 0;
    uint32_t response_left = 0;
    uint64_t content_seed = 0;
    int64_t round_start = 0;
  };

  void start_round(Conv& c, int64_t t) noexcept;
  Bytes request_payload(Emitter& out, const Conv& c);
  Bytes segment_payload(Emitter& out, const Conv& c, uint32_t len);
  IpHeader to_server(const Conv& c) const noexcept;
  IpHeader to_client(const Conv& c) const noexcept;
  void release(uint64_t slot);

  const AddressPlan& plan_;
  Rng rng_;
  std::vector<Conv> convs_;
  std::vector<uint32_t> free_;
  std::array<uint8_t, kMss> scratch_{};
};

}  // namespace picket::sim
