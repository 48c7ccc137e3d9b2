// Scans in nmap's style, with the replies a Linux victim (and its neighbours) really sends.
// One class plays every scan: a list of probes (time, source, target, port or protocol) decided up
// front, and per-probe replies decided by the scan type and by what listens on the target:
//   SYN         open: SYN-ACK, then the scanner's kernel RSTs it; closed: RST|ACK
//   FIN/NULL/XMAS  closed: RST|ACK; open: silence, and nmap retransmits the probe once
//   ACK, Maimon every port: RST (Linux answers any ACK-bearing segment to a listener with RST,
//               so Maimon's "silence from open ports" only holds on old BSD stacks)
//   UDP         open (53, 123): a protocol reply; closed: ICMP port unreachable quoting the probe,
//               rate-limited like Linux (per source: burst of 6, then 1 per second)
//   IP proto    ICMP echo -> echo reply, TCP -> RST, UDP -> port unreachable, IGMP -> silence,
//               anything else -> ICMP protocol unreachable (same rate limit)
// Scanner habits copied from nmap: one random source port per scan (+1 on retransmissions),
// window 1024, SYN probes with just an MSS option, random port order, a random TTL 37..59.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/engine.hpp"
#include "sim/rng.hpp"

namespace picket::sim {

enum class ScanType : uint8_t { syn, fin, null, xmas, ack, maimon, udp, ip_proto };
const char* scan_type_name(ScanType t) noexcept;

struct Probe {
  int64_t t = 0;
  uint32_t src = 0;   // plan address
  uint32_t dst = 0;   // plan address
  uint16_t port = 0;  // destination port, or the protocol number for IP protocol scans
  uint16_t sport = 0;
};

// What listens on the simulated hosts.
enum class PortState : uint8_t { open, closed, silent };
PortState tcp_state(uint32_t host, uint16_t port) noexcept;
PortState udp_state(uint32_t host, uint16_t port) noexcept;

class Scan final : public Component {
 public:
  // `truth` carries the finding without packet counts; `probes` need not be sorted.
  Scan(const Setup& setup, ScanType type, std::vector<Probe> probes, Truth truth, uint64_t salt);

  void start(Context& ctx) override;
  void fire(Context& ctx, int64_t now, uint32_t kind, uint64_t arg) override;
  uint64_t planned_packets() const noexcept override { return planned_; }
  std::optional<Truth> truth() const override { return truth_; }

  // ~n distinct ports the way nmap picks its defaults: the well-known ones first, then others,
  // all in random order. `udp` picks the UDP list.
  static std::vector<uint16_t> pick_ports(Rng& rng, size_t n, bool udp);
  // All 256 protocol numbers in random order (IPv6: without extension-header numbers).
  static std::vector<uint16_t> pick_protocols(Rng& rng, bool ipv6);

  // ICMP error rate limit of the victim, per peer (Linux icmp_ratelimit: 1 s, burst 6).
  static constexpr double kIcmpBurst = 6.0;
  static constexpr int64_t kIcmpRefill = kSec;

 private:
  enum Kind : uint32_t { kProbe, kReply, kFollow, kRetry };
  enum class Reply : uint8_t { none, syn_ack, rst_ack, rst, udp_answer, port_unreachable, proto_unreachable,
                               echo_reply };

  Reply reply_for(const Probe& p) const noexcept;
  void send_probe(Context& ctx, int64_t now, uint64_t i, bool retry);
  void send_reply(Context& ctx, int64_t now, uint64_t i);
  bool icmp_token(int64_t now) noexcept;
  Bytes udp_probe_payload(uint16_t port) const noexcept;
  IpHeader probe_header(uint64_t i) const noexcept;
  uint32_t scan_seq(uint32_t src) const noexcept;
  uint64_t count_frames() const;

  const AddressPlan& plan_;
  uint64_t seed_;
  ScanType type_;
  std::vector<Probe> probes_;
  Truth truth_;
  uint64_t planned_ = 0;
  double tokens_ = kIcmpBurst;
  int64_t tokens_at_ = 0;
};

// The scenarios' scans. `from`/`to`: the window as fractions of the capture span; scans run at
// ~1000 probes/s (nmap -T4 on a LAN) unless the window is shorter.
std::unique_ptr<Component> make_port_scan(const Setup& setup, ScanType type, uint32_t attacker, double from,
                                          double to);
// nmap -T1: one SYN probe every 15 s to 40 ports, starting at `start` (ns).
std::unique_ptr<Component> make_slow_scan(const Setup& setup, int64_t start);
inline constexpr int kSlowProbes = 40;
inline constexpr int64_t kSlowSpacing = 15 * kSec;
// Port 22 on all 256 addresses of the victim's /24.
std::unique_ptr<Component> make_sweep(const Setup& setup, double from, double to);
// 25 sources of 198.19.2.0/24 probing 8 ports each, plus 5 decoys probing the same 8 ports at once.
std::unique_ptr<Component> make_distributed_scan(const Setup& setup, double from, double to);
inline constexpr int kDistributedSources = 25;
inline constexpr int kDecoys = 5;
inline constexpr int kPortsPerSource = 8;

}  // namespace picket::sim
