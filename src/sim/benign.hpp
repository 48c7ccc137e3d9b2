// Benign background: what a busy web server's interface sees on a normal day.
// - Browser visits from hundreds of clients: up to 6 parallel connections each (a few NAT
//   addresses up to 9), to 443 or 80, 1-3 requests per connection, responses 1-100 KB.
// - The server's own DNS lookups to its resolver; occasional pings from clients.
// Visits arrive weighted by the frames they will send, so benign traffic runs at `pps` on average.
// A client starts a visit at most every 16 s (NAT addresses 21 s), so no address opens 30
// connections in any minute, and clients only ever talk to ports 80 and 443.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "sim/engine.hpp"
#include "sim/rng.hpp"
#include "sim/tcp_conv.hpp"

namespace picket::sim {

class Benign final : public Component {
 public:
  Benign(const Setup& setup, double pps);

  void start(Context& ctx) override;
  void fire(Context& ctx, int64_t now, uint32_t kind, uint64_t arg) override;
  uint64_t planned_packets() const noexcept override { return 0; }

  // Per-client limits (see the header comment); tests hold the output to them.
  static constexpr int64_t kVisitGap = 16 * kSec;
  static constexpr int64_t kNatVisitGap = 21 * kSec;
  static constexpr int kMaxParallel = 6;
  static constexpr int kNatMaxParallel = 9;
  // How long before the capture's start benign traffic begins.
  static constexpr int64_t kWarmUp = 5 * kSec;

 private:
  enum Kind : uint32_t { kArrival, kConv, kDnsQuery, kDnsAnswer, kPing };
  struct Client {
    uint32_t addr = 0;
    uint16_t next_port = 0;
    uint16_t port_base = 0;
    uint8_t ttl = 64;
    bool nat = false;
    uint32_t rtt_us = 0;
    uint32_t gap_us = 0;
    int64_t next_visit = 0;
  };

  // Frames the arrival sent or scheduled.
  uint64_t visit(Context& ctx, int64_t now);
  uint64_t dns(Context& ctx, int64_t now);
  uint64_t ping(Context& ctx, int64_t now);
  // A client free to start a visit, and when it may start (now, unless every address is busy).
  size_t pick_client(int64_t now, int64_t& start);
  bool new_client(bool nat);
  uint16_t next_port(Client& c) noexcept;
  void dns_message(uint64_t index, bool answer, uint16_t& port);
  void ping_frame(Context& ctx, int64_t now, uint64_t arg);

  const AddressPlan& plan_;
  uint64_t seed_;
  double pps_;
  Rng rng_;
  ConvPool convs_;
  std::vector<Client> clients_;
  std::vector<uint32_t> nat_;      // indexes into clients_
  std::vector<uint32_t> regular_;  // indexes into clients_
  uint32_t addresses_used_ = 0;    // of the client range, walked in a seed-dependent order
  uint32_t addr_mul_ = 0, addr_add_ = 0;
  int64_t slot_ = 0;  // end of the time booked by arrivals so far
  uint64_t dns_count_ = 0;
  uint64_t ping_count_ = 0;
  std::array<uint8_t, 512> msg_{};
  size_t msg_len_ = 0;
};

}  // namespace picket::sim
