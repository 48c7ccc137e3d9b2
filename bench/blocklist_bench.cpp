// Blocklist lookups and the blocklist detector's per-packet cost. Target: the whole
// engine at 10+ Mpps per core leaves each detector ~10-20 ns per packet, and nearly every packet
// is unlisted, so the miss path must be a few ns even with a million prefixes loaded.
// Links: picket_detect_blocklist benchmark::benchmark benchmark::benchmark_main.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "detect/blocklist/blocklist.hpp"
#include "detect/blocklist/blocklists.hpp"

namespace {

using picket::core::IpAddress;
using picket::core::Prefix;
namespace bl = picket::detect::blocklist;

// `n` random prefixes (/16../32, most long) from the whole IPv4 space, and a few IPv6 ones.
bl::ListSpec random_spec(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  bl::ListSpec spec;
  spec.inline_prefixes.reserve(n + 1000);
  for (size_t i = 0; i < n; ++i) {
    const uint64_t r = rng();
    const int len = 16 + static_cast<int>(r % 17);
    spec.inline_prefixes.emplace_back(IpAddress::v4(static_cast<uint32_t>(r >> 32)), len);
  }
  for (int i = 0; i < 1000; ++i) {
    uint8_t b[16];
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    b[0] = 0x20;
    b[1] = 0x01;
    spec.inline_prefixes.emplace_back(IpAddress::v6_bytes(b), 32 + static_cast<int>(rng() % 97));
  }
  return spec;
}

const bl::Blocklists& lists_of(size_t n) {
  static std::vector<std::pair<size_t, std::shared_ptr<const bl::Blocklists>>> made;
  for (const auto& [k, v] : made) {
    if (k == n) return *v;
  }
  made.emplace_back(n, bl::load_lists(random_spec(n, 42)));
  return *made.back().second;
}

std::vector<IpAddress> random_v4(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<IpAddress> out;
  for (size_t i = 0; i < n; ++i) out.push_back(IpAddress::v4(static_cast<uint32_t>(rng())));
  return out;
}

void BM_Build(benchmark::State& state) {
  const auto spec = random_spec(static_cast<size_t>(state.range(0)), 7);
  for (auto _ : state) {
    auto lists = bl::load_lists(spec);
    benchmark::DoNotOptimize(lists.get());
    state.counters["MiB"] = static_cast<double>(lists->memory_bytes()) / (1 << 20);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Build)->Arg(10'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

// Random addresses over the whole space: with 1M prefixes most /16s hold something, so this is
// the slice binary search; with a FireHOL-sized list it is mostly the bitmap miss.
void BM_LookupRandomV4(benchmark::State& state) {
  const auto& lists = lists_of(static_cast<size_t>(state.range(0)));
  const auto addrs = random_v4(4096, 1);
  size_t i = 0, hits = 0;
  for (auto _ : state) {
    const uint32_t e = lists.lookup(addrs[i++ & 4095]);
    hits += e != bl::Blocklists::kNoMatch;
    benchmark::DoNotOptimize(e);
  }
  state.counters["hit_rate"] = static_cast<double>(hits) / static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LookupRandomV4)->Arg(5'000)->Arg(1'000'000);

// A typical packet's addresses: a /16 with nothing listed (the common case in practice).
void BM_LookupMissV4(benchmark::State& state) {
  bl::ListSpec spec;
  spec.inline_prefixes = {*Prefix::parse("203.0.113.0/24"), *Prefix::parse("192.0.2.66")};
  const auto lists = bl::load_lists(spec);
  const IpAddress a = *IpAddress::parse("198.18.3.4");
  for (auto _ : state) benchmark::DoNotOptimize(lists->lookup(a));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LookupMissV4);

void BM_LookupV6(benchmark::State& state) {
  const auto& lists = lists_of(1'000'000);
  std::mt19937_64 rng(3);
  std::vector<IpAddress> addrs;
  for (int i = 0; i < 4096; ++i) {
    uint8_t b[16];
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    b[0] = 0x20;
    b[1] = 0x01;
    addrs.push_back(IpAddress::v6_bytes(b));
  }
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(lists.lookup(addrs[i++ & 4095]));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LookupV6);

picket::config::Config config_for(void (*declare)(picket::config::Schema&), const std::string& yaml) {
  picket::config::Schema schema;
  declare(schema);
  auto r = picket::config::load_string(schema, yaml, "bench");
  if (!r.config) std::abort();
  return std::move(*r.config);
}

// The detector's on_packet for an ordinary unlisted packet: the path nearly all traffic takes.
void run_detector(benchmark::State& state, picket::detect::Detector& d) {
  picket::core::PacketMeta m;
  m.src = *IpAddress::parse("198.18.3.4");
  m.dst = *IpAddress::parse("198.18.0.10");
  m.frame_len = 1514;
  m.ip_proto = 6;
  picket::detect::PacketContext ctx;
  ctx.meta = &m;
  ctx.actor = m.src;
  ctx.from_actor = true;
  struct Null : picket::detect::FindingSink {
    void add(picket::detect::Finding&&) override {}
  } sink;
  for (auto _ : state) {
    d.on_packet(ctx, sink);
    m.ts.ns += 1000;
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_BlocklistOnPacketMiss(benchmark::State& state) {
  auto d = bl::create(config_for(
      &bl::declare_config, "detect:\n  blocklist:\n    addresses: [203.0.113.0/24, 192.0.2.66, 2001:db8:bad::/48]\n"));
  run_detector(state, *d);
}
BENCHMARK(BM_BlocklistOnPacketMiss);

}  // namespace
