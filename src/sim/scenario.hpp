// The traffic simulator: named scenarios (benign web traffic, floods, scans, ...) rendered as
// Ethernet frames as seen on the victim's interface, both directions, with a machine-readable
// ground truth of what a correct IDS should report.
//
// Contract:
// - Exactly `packets` frames are produced (the scenario's default when 0), with timestamps that
//   never decrease, starting at 2026-01-01T00:00:00Z, on whole microseconds.
// - The same scenario and options give byte-identical output on every build (own PRNG, no libm).
// - Addresses: IPv4 only from 198.18.0.0/15, IPv6 only from 2001:db8::/32; MACs are locally
//   administered. docs/simulator.md lists the address plan.
// - Frames longer than `snaplen` are cut; the sink still receives the wire length.
// - Bad options (unknown scenario, rate <= 0, snaplen outside 1..262144, too few packets for the
//   scenario's attack to complete) give an Error and no frames.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip_address.hpp"
#include "core/result.hpp"
#include "core/time.hpp"

namespace picket::sim {

struct ScenarioOptions {
  uint64_t packets = 0;      // total frames; 0 = the scenario's default
  uint64_t seed = 1;         // same seed + options -> identical frames
  double rate_pps = 0;       // average packets/s over the capture; 0 = the scenario's default
  bool ipv6 = false;         // every frame IPv6 (2001:db8::/32) instead of IPv4
  uint32_t snaplen = 65535;  // bytes kept per frame (1..262144)
};

struct ScenarioInfo {
  std::string_view name;
  std::string_view description;
  uint64_t default_packets;
  double default_rate;
};

// Every scenario, in a fixed order (the order the docs and `--help` list them in).
const std::vector<ScenarioInfo>& scenarios();

// Ground truth: one finding a correct IDS should report for the capture.
struct Truth {
  std::string detector;  // "syn_flood", "spoofed_flood", "subnet_conn", "conn_rate", "port_scan",
                         // "distributed_scan", "large_packet"
  std::vector<core::IpAddress> sources;      // sorted; empty for spoofed floods
  std::optional<core::Prefix> source_prefix;  // the subnet (subnet_conn, distributed) or spoofed range
  core::IpAddress target;                     // the victim (a sweep: the swept network's address)
  std::optional<core::Prefix> target_prefix;  // sweeps: the swept network
  std::optional<uint16_t> target_port;
  std::string scan_type;  // port_scan / distributed_scan: syn fin null xmas ack maimon udp ip_proto
  std::string scan_kind;  // "" (vertical scan), "sweep" (one port, many hosts), "slow" (nmap -T1)
  // What the capture holds of this attack: frames both ways (probes and the replies they caused)
  // and the first and last of them. Zero when the capture ended before the attack began.
  uint64_t packets = 0;
  core::Timestamp first, last;
};

// Receives the frames in time order. `bytes` is at most snaplen long and valid only during the call;
// `wire_len` is the frame's full length.
class FrameSink {
 public:
  virtual ~FrameSink() = default;
  virtual void frame(core::Timestamp ts, std::span<const uint8_t> bytes, uint32_t wire_len) = 0;
};

struct SimSummary {
  std::string scenario;
  ScenarioOptions options;  // as used: defaults filled in
  uint64_t packets = 0;
  core::Timestamp first, last;
  std::vector<Truth> truth;  // empty for `benign`
  core::IpAddress victim;
};

// The capture's fixed start: 2026-01-01T00:00:00Z.
inline constexpr core::Timestamp kSimStart = core::Timestamp::from_parts(1767225600, 0);

// Generates the scenario into `sink`. An unknown name gives an Error listing the valid names.
core::Result<SimSummary> generate(std::string_view scenario, const ScenarioOptions& options, FrameSink& sink);

// Generates the scenario into a classic pcap file (LINKTYPE_ETHERNET, microsecond timestamps).
core::Result<SimSummary> write_pcap(std::string_view scenario, const ScenarioOptions& options,
                                    const std::string& path);

// The summary as one JSON object (docs/simulator.md describes the fields).
std::string truth_to_json(const SimSummary& summary);

}  // namespace picket::sim
