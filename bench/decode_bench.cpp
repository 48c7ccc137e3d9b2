// Decoder::decode on typical frames. Target: the whole replay path at 20+ Mpps on one core, so
// decode alone should stay well under 50 ns per packet (the common path in single-digit ns).
#include <benchmark/benchmark.h>

#include <vector>

#include "core/packet_meta.hpp"
#include "core/raw_packet.hpp"
#include "decode/decoder.hpp"
#include "sim/packet_builder.hpp"

namespace {

using picket::core::IpAddress;
using picket::sim::PacketBuilder;
namespace lt = picket::core::link_type;
namespace tf = picket::core::tcp_flag;

const IpAddress kSrc4 = *IpAddress::parse("198.18.0.1");
const IpAddress kDst4 = *IpAddress::parse("198.19.0.2");
const IpAddress kSrc6 = *IpAddress::parse("2001:db8::1");
const IpAddress kDst6 = *IpAddress::parse("2001:db8::2");

void run_decode(benchmark::State& state, int link_type, const std::vector<uint8_t>& frame) {
  picket::decode::Decoder decoder(link_type);
  picket::core::RawPacket raw;
  raw.data = frame.data();
  raw.cap_len = static_cast<uint32_t>(frame.size());
  raw.wire_len = raw.cap_len;
  picket::core::PacketMeta meta;
  for (auto _ : state) {
    benchmark::DoNotOptimize(raw.data);
    benchmark::DoNotOptimize(decoder.decode(raw, meta));
    benchmark::DoNotOptimize(meta);
    raw.ts.ns += 1000;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_EthIpv4TcpSyn(benchmark::State& state) {
  run_decode(state, lt::kEthernet, PacketBuilder().ipv4(kSrc4, kDst4).tcp(40000, 80, tf::kSyn).build());
}
void BM_EthIpv4UdpDns(benchmark::State& state) {
  run_decode(state, lt::kEthernet, PacketBuilder().ipv4(kSrc4, kDst4).udp(5353, 53).payload_size(40).build());
}
void BM_VlanIpv6TcpAck(benchmark::State& state) {
  run_decode(state, lt::kEthernet,
             PacketBuilder().vlan(10).ipv6(kSrc6, kDst6).tcp(443, 50000, tf::kAck).payload_size(1200).build());
}
void BM_Sll2Ipv4Tcp(benchmark::State& state) {
  run_decode(state, lt::kLinuxSll2, PacketBuilder().linux_sll2().ipv4(kSrc4, kDst4).tcp(1, 22, tf::kSyn).build());
}
void BM_EthIcmpPortUnreachable(benchmark::State& state) {
  const auto quote = PacketBuilder().raw_ip().ipv4(kDst4, kSrc4).udp(40000, 161).build();
  run_decode(state, lt::kEthernet, PacketBuilder().ipv4(kSrc4, kDst4).icmp(3, 3).quote(quote).build());
}
void BM_EthIpv6ExtFragment(benchmark::State& state) {
  run_decode(state, lt::kEthernet,
             PacketBuilder().ipv6(kSrc6, kDst6).ipv6_extension(0).ipv6_fragment(0, true).udp(1, 2).build());
}
void BM_EthTruncatedTcp(benchmark::State& state) {
  auto f = PacketBuilder().ipv4(kSrc4, kDst4).tcp(40000, 80, tf::kSyn).build();
  f.resize(40);
  run_decode(state, lt::kEthernet, f);
}

// A mix walked in order, so the branch predictor cannot learn one frame.
void BM_Mixed(benchmark::State& state) {
  const auto quote = PacketBuilder().raw_ip().ipv4(kDst4, kSrc4).udp(40000, 161).build();
  std::vector<std::vector<uint8_t>> frames = {
      PacketBuilder().ipv4(kSrc4, kDst4).tcp(40000, 80, tf::kSyn).build(),
      PacketBuilder().ipv4(kSrc4, kDst4).udp(5353, 53).payload_size(40).build(),
      PacketBuilder().vlan(10).ipv6(kSrc6, kDst6).tcp(443, 50000, tf::kAck).payload_size(1200).build(),
      PacketBuilder().ipv4(kSrc4, kDst4).icmp(3, 3).quote(quote).build(),
      PacketBuilder().ipv4(kDst4, kSrc4).tcp(80, 40000, tf::kSyn | tf::kAck).build(),
      PacketBuilder().ipv4(kSrc4, kDst4).tcp(40000, 80, tf::kAck | tf::kPsh).payload_size(500).build(),
      PacketBuilder().ipv6(kSrc6, kDst6).udp(1, 2).payload_size(100).build(),
      PacketBuilder().ipv4(kSrc4, kDst4).icmp(8, 0).payload_size(56).build(),
  };
  std::vector<picket::core::RawPacket> raws(frames.size());
  for (size_t i = 0; i < frames.size(); ++i) {
    raws[i].data = frames[i].data();
    raws[i].cap_len = raws[i].wire_len = static_cast<uint32_t>(frames[i].size());
  }
  picket::decode::Decoder decoder(lt::kEthernet);
  picket::core::PacketMeta meta;
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(decoder.decode(raws[i], meta));
    benchmark::DoNotOptimize(meta);
    i = (i + 1) % raws.size();
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_EthIpv4TcpSyn);
BENCHMARK(BM_EthIpv4UdpDns);
BENCHMARK(BM_VlanIpv6TcpAck);
BENCHMARK(BM_Sll2Ipv4Tcp);
BENCHMARK(BM_EthIcmpPortUnreachable);
BENCHMARK(BM_EthIpv6ExtFragment);
BENCHMARK(BM_EthTruncatedTcp);
BENCHMARK(BM_Mixed);

}  // namespace

BENCHMARK_MAIN();
