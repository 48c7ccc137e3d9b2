#include "capture/bpf_filter.hpp"

#include <pcap/pcap.h>

#include <memory>
#include <utility>

#include <fmt/format.h>

namespace picket::capture {
namespace {

struct PcapCloser {
  void operator()(pcap_t* p) const noexcept { pcap_close(p); }
};

}  // namespace

int linktype_to_dlt(int link_type) noexcept {
  switch (link_type) {
    case core::link_type::kRaw:
    case core::link_type::kRawDlt12:
    case core::link_type::kRawDlt14:
      return DLT_RAW;
    default:
      return link_type;  // the other types picket decodes use the same number in both spaces
  }
}

int dlt_to_linktype(int dlt) noexcept {
  if (dlt == DLT_RAW) return core::link_type::kRaw;
  return dlt;
}

core::Result<BpfFilter> BpfFilter::compile(const std::string& expr, int link_type, uint32_t snaplen) {
  const uint32_t snap = (snaplen == 0 || snaplen > kMaxSnaplen) ? kMaxSnaplen : snaplen;
  std::unique_ptr<pcap_t, PcapCloser> dead(pcap_open_dead(linktype_to_dlt(link_type), static_cast<int>(snap)));
  if (!dead) return core::make_error(fmt::format("invalid filter '{}': libpcap could not start", expr));
  bpf_program prog{};
  if (pcap_compile(dead.get(), &prog, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    return core::make_error(fmt::format("invalid filter '{}': {}", expr, pcap_geterr(dead.get())));
  }
  return BpfFilter(expr, prog.bf_insns, prog.bf_len);
}

BpfFilter::BpfFilter(BpfFilter&& o) noexcept
    : expr_(std::move(o.expr_)), insns_(std::exchange(o.insns_, nullptr)), len_(std::exchange(o.len_, 0)) {}

BpfFilter& BpfFilter::operator=(BpfFilter&& o) noexcept {
  if (this != &o) {
    release();
    expr_ = std::move(o.expr_);
    insns_ = std::exchange(o.insns_, nullptr);
    len_ = std::exchange(o.len_, 0);
  }
  return *this;
}

BpfFilter::~BpfFilter() { release(); }

void BpfFilter::release() noexcept {
  if (insns_ == nullptr) return;
  bpf_program prog{len_, insns_};
  pcap_freecode(&prog);
  insns_ = nullptr;
  len_ = 0;
}

bool BpfFilter::matches(const core::RawPacket& packet) const noexcept {
  if (insns_ == nullptr) return true;  // moved-from: behave as "no filter"
  return bpf_filter(insns_, packet.data, packet.wire_len, packet.cap_len) != 0;
}

}  // namespace picket::capture
